import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { ExitCode, JailError } from '../errors';
import { CONTROL_TIMEOUT_MS, type Engine, engineError } from './client';

export interface SessionRequest {
  jailId: string;
  uid: number;
  workdir: string;
  env: string[];
  argv: string[];
  tty: boolean;
}

/** One process started in a jail through a Docker exec, with its attached stream. */
export interface Session {
  execId: string;
  /** What the jail sends: held, byte for byte, until someone reads it, even when the exec has long ended. */
  output: Readable;
  /** What goes to the jailed process's stdin; ending it passes EOF on. */
  input: Writable;
  /** Drops the connection to the exec. */
  close(): void;
  /**
   * Asks the engine for this window size. At most one request is in flight:
   * sizes asked for meanwhile collapse into the latest, sent when it answers
   * (sshd turns each of a client's window changes into a SIGWINCH, as fast as
   * the client sends them).
   */
  resize(columns: number, rows: number): void;
  /**
   * The exec's exit status, once it has ended; with waitMs, null when it still
   * runs by then, and the engine is asked nothing more.
   */
  exitStatus(waitMs?: number): Promise<number | null>;
  /**
   * Waits until the engine has started the exec's process (the stream is
   * attached a moment before) and returns its host pid, or null when it has
   * already ended.
   */
  started(): Promise<number | null>;
}

/**
 * Starts the session's process in the jail as the user. Only the uid is given:
 * the engine then takes the primary gid and the supplementary groups from the
 * jail's /etc/passwd and /etc/group, which ensureJail has just written (with
 * uid:gid it would drop the supplementary groups).
 */
export async function startExec(engine: Engine, request: SessionRequest): Promise<Session> {
  let execId: string;
  let stream: Socket;
  try {
    ({ Id: execId } = await engine.control.getContainer(request.jailId).exec({
      User: String(request.uid),
      WorkingDir: request.workdir,
      Env: request.env,
      Cmd: request.argv,
      Tty: request.tty,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    }));
    // Through the control client: a frozen engine must answer the start within its timeout, which ends once
    // the engine has handed the connection over (an idle session may then stay silent for hours).
    stream = await engine.control.getExec(execId).start(request.tty);
  } catch (error) {
    throw engineError(engine.socket, error, 'starting the session');
  }

  const inspect = async () => {
    try {
      return await engine.control.getExec(execId).inspect();
    } catch (error) {
      throw engineError(engine.socket, error, "reading the session's state");
    }
  };
  // The connection itself holds what the jail sends until it is read (the engine waits meanwhile), even
  // when the exec has ended while the login still held its lock. A reset ends the relay through 'close'.
  stream.on('error', () => undefined);
  /**
   * Polls the exec's state until `done` says what it waited for, briefly and often (a doubling delay would
   * overshoot a short command's end by tens of milliseconds). Each answer must come within the control
   * timeout; the outcome must come by `giveUp` (a frozen containerd leaves the engine answering while the
   * exec never starts), else `timedOut` is what it gives.
   */
  const poll = async <T>(done: (state: Awaited<ReturnType<typeof inspect>>) => T | undefined, giveUp: number, timedOut: () => T): Promise<T> => {
    for (let delay = 2, waited = 0; Date.now() < giveUp; waited += delay, delay = waited < 500 ? 5 : 100) {
      const result = done(await inspect());
      if (result !== undefined) return result;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    return timedOut();
  };
  const unanswered = (doing: string) => (): never => {
    throw new JailError(`the Docker engine at ${engine.socket} did not answer in time while ${doing}`, ExitCode.unavailable);
  };
  let resizing = false;
  let wantedSize: [number, number] | null = null;
  const sendLatestSize = async () => {
    resizing = true;
    while (wantedSize !== null) {
      const [columns, rows] = wantedSize;
      wantedSize = null;
      await engine.control
        .getExec(execId)
        .resize(columns, rows)
        .catch(() => undefined);
    }
    resizing = false;
  };
  return {
    execId,
    output: stream,
    input: stream,
    close() {
      stream.destroy();
    },
    resize(columns, rows) {
      wantedSize = [columns, rows];
      if (!resizing) void sendLatestSize();
    },
    // The stream can close a moment before the engine has recorded the exit, or long before it: a command that
    // closed its output and runs on (`exec >&- 2>&-; sleep 60`) is waited for, as a terminal would.
    exitStatus: (waitMs) => {
      const ended = (state: Awaited<ReturnType<typeof inspect>>) => (state.Running ? undefined : (state.ExitCode ?? 255));
      if (waitMs === undefined) return poll(ended, Number.POSITIVE_INFINITY, () => null);
      // The wait is bounded as a whole: a slow engine answering one poll late must not stretch it.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), waitMs)));
      return Promise.race([poll(ended, Date.now() + waitMs, () => null).catch(() => null), late]).finally(() => clearTimeout(timer));
    },
    started: () =>
      poll(
        (state): number | null | undefined => {
          if (state.Running && state.Pid > 0) return state.Pid;
          if (!state.Running && state.ExitCode !== null && state.ExitCode !== undefined) return null;
          return undefined;
        },
        Date.now() + CONTROL_TIMEOUT_MS,
        unanswered('starting the session'),
      ),
  };
}

/** How many sessions of this uid (of anyone, for null), other than the given exec, are running in the jail. */
export async function otherSessions(engine: Engine, jailId: string, uid: number | null, ownExecId: string | null): Promise<number> {
  try {
    const info = await engine.control.getContainer(jailId).inspect();
    let running = 0;
    for (const id of info.ExecIDs ?? []) {
      if (id === ownExecId) continue;
      const exec = await engine.control
        .getExec(id)
        .inspect()
        .catch(() => null);
      if (exec?.Running && (uid === null || exec.ProcessConfig?.user === String(uid))) running++;
    }
    return running;
  } catch (error) {
    throw engineError(engine.socket, error, 'counting the sessions in the jail');
  }
}
