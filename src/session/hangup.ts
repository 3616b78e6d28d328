import type { Engine } from '../engine/client';
import type { Session } from '../engine/exec';
import { otherSessions } from '../engine/exec';
import { type JailCgroup, type JailProcess, jailProcesses, sessionProcesses, signalJailProcesses } from '../host/procfs';
import { agentSessionsIn } from './records';
import { type LoginIo, relayPipes, relayTerminal } from './relay';

/** How long a hung-up session's exit is waited for before its host process goes anyway. */
export const HANGUP_WAIT_MS = 3000;

/** The latest a hung-up session's host process is gone, whatever is left of its clean-up. */
export const HANGUP_DEADLINE_MS = 9000;

/**
 * Relays until the jail side ends or the login goes away: SIGHUP, SIGTERM, our
 * parent (sshd, su) gone, or a terminal that can no longer be written.
 * `parent` is the login's, taken when it began: one gone before the relay
 * starts counts too.
 */
export async function relayUntilEnd(
  session: Session,
  io: LoginIo,
  tty: boolean,
  parent: number,
  onHangup: () => Promise<void>,
): Promise<{ status: number; hangup: boolean }> {
  let hangup = false;
  let hangupDone: Promise<void> = Promise.resolve();
  let resolveHangup!: () => void;
  const hungUp = new Promise<void>((resolve) => (resolveHangup = resolve));
  const triggerHangup = () => {
    if (hangup) return;
    hangup = true;
    hangupDone = onHangup();
    resolveHangup();
  };
  const signals: NodeJS.Signals[] = ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGPIPE'];
  for (const signal of signals) process.on(signal, triggerHangup);
  const parentGone = () => process.ppid !== parent && triggerHangup();
  const watchParent = setInterval(parentGone, 1000);
  parentGone();
  io.stdout.on('error', triggerHangup);
  io.stderr.on('error', () => undefined);
  if (tty) io.stdin.on('error', triggerHangup);

  const relay = tty
    ? relayTerminal(session.output, session.input, io, { resize: (columns, rows) => session.resize(columns, rows) })
    : { ...relayPipes(session.output, session.input, io), restore: () => undefined };
  await Promise.race([relay.done, hungUp]);
  clearInterval(watchParent);
  relay.restore();
  io.stdin.unpipe();
  io.stdin.destroy();

  let status: number;
  if (hangup) {
    // Whatever the engine, syslog or a jail process do from here on, this root process goes (SECURITY.md, invariant 10):
    // the job of the rest is best effort, and the timer keeps nothing alive that would not be anyway.
    setTimeout(() => process.exit(129), HANGUP_DEADLINE_MS).unref();
    await hangupDone;
    session.close();
    // A job that ignores the hangup may run on in the jail, as on any host; nothing of ours waits for it
    // on the host, nor keeps asking the engine about it (SECURITY.md, invariant 10).
    status = (await session.exitStatus(HANGUP_WAIT_MS).catch(() => null)) ?? 129;
  } else {
    status = (await session.exitStatus()) ?? 255;
  }
  for (const signal of signals) process.removeListener(signal, triggerHangup);
  return { status, hangup };
}

/**
 * A real terminal's hangup, which `docker exec` never delivers: SIGHUP (and
 * SIGCONT, for stopped jobs) to the session's process and everything it
 * started, plus, given a marker, what carries it. Returns those processes.
 */
export function hangUp(cgroup: JailCgroup | null, rootPid: number | null, uid: number, marker: string | null): number[] {
  const tree = hangupTargets(jailProcesses(cgroup, marker), uid, rootPid);
  signalJailProcesses(cgroup, tree, 'SIGHUP');
  signalJailProcesses(cgroup, tree, 'SIGCONT');
  return tree;
}

/** The user's processes in the jail carrying the session's mark, and all they started. */
export function markedProcesses(cgroup: JailCgroup | null, uid: number, marker: string): number[] {
  return hangupTargets(jailProcesses(cgroup, marker), uid, null);
}

/**
 * kill_on_logout once the shell has ended: what carries the session's mark,
 * and, when this was the user's last session, every process of theirs in the
 * jail (so a double fork that also drops the mark escapes nothing then).
 */
export async function killLeftovers(
  engine: Engine,
  jailId: string,
  cgroup: JailCgroup | null,
  ownExecId: string | null,
  uid: number,
  marker: string,
  ownPid: number = process.pid,
): Promise<void> {
  const processes = jailProcesses(cgroup, marker);
  const last = (await sessionsIn(engine, jailId, uid, ownExecId, ownPid)) === 0;
  signalJailProcesses(cgroup, leftoverTargets(processes, uid, last), 'SIGKILL');
}

/**
 * Whom a hangup reaches: of this user's processes in the jail (never another
 * user's, never the jail's own), the session's process and all it started,
 * and whatever carries the session's mark, with all it started.
 */
export function hangupTargets(processes: JailProcess[], uid: number, rootPid: number | null): number[] {
  return sessionProcesses(
    processes.filter((p) => p.uid === uid),
    rootPid,
  );
}

/**
 * Whom kill_on_logout kills once the shell has ended: what carries the
 * session's mark and all it started; after the user's last session, every
 * process of theirs in the jail.
 */
export function leftoverTargets(processes: JailProcess[], uid: number, lastSession: boolean): number[] {
  const theirs = processes.filter((p) => p.uid === uid);
  return lastSession ? theirs.map((p) => p.pid) : sessionProcesses(theirs, null);
}

/**
 * The sessions running in a jail (of this uid; of anyone, for null) other than
 * the given exec and host process: those by docker exec as the engine lists
 * them, and those handed to the agent as root's records show them.
 */
export async function sessionsIn(engine: Engine, jailId: string, uid: number | null, ownExecId: string | null, ownPid: number | null): Promise<number> {
  return (await otherSessions(engine, jailId, uid, ownExecId)) + agentSessionsIn(jailId, uid, ownPid === null ? [] : [ownPid]);
}
