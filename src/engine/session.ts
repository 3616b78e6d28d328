import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { type Engine, engineError } from './client';

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
  stream: Duplex;
  resize(columns: number, rows: number): Promise<void>;
  /** The exec's exit status, once it has ended. */
  exitStatus(): Promise<number>;
  /** The exec's process as the host sees it, or null when it has ended. */
  hostPid(): Promise<number | null>;
}

/**
 * Starts the session's process in the jail as the user. Only the uid is given:
 * the engine then takes the primary gid and the supplementary groups from the
 * jail's /etc/passwd and /etc/group, which ensureJail has just written (with
 * uid:gid it would drop the supplementary groups).
 */
export async function openSession(engine: Engine, request: SessionRequest): Promise<Session> {
  let exec: Docker.Exec;
  let stream: Duplex;
  try {
    exec = await engine.control.getContainer(request.jailId).exec({
      User: String(request.uid),
      WorkingDir: request.workdir,
      Env: request.env,
      Cmd: request.argv,
      Tty: request.tty,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    stream = (await engine.streams.getExec(exec.id).start({ hijack: true, stdin: true, Detach: false, Tty: request.tty })) as Duplex;
  } catch (error) {
    throw engineError(engine.socket, error, 'starting the session');
  }

  const inspect = async () => {
    try {
      return await exec.inspect();
    } catch (error) {
      throw engineError(engine.socket, error, 'reading the session\'s state');
    }
  };
  return {
    execId: exec.id,
    stream,
    async resize(columns, rows) {
      await exec.resize({ w: columns, h: rows });
    },
    async exitStatus() {
      // The stream can close a moment before the engine has recorded the exit.
      for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
        const state = await inspect();
        if (!state.Running) return state.ExitCode ?? 255;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    },
    async hostPid() {
      const state = await inspect();
      return state.Running && state.Pid > 0 ? state.Pid : null;
    },
  };
}
