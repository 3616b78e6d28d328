import { countLogin } from '../audit/counters';
import { auditLog, formatRecord } from '../audit/syslog';
import type { Engine } from '../engine/client';
import { type Session, startExec } from '../engine/exec';
import { JailError } from '../errors';
import { credentialsAre, credentialsOf, type JailCgroup, signalJailProcesses } from '../host/procfs';
import type { Identity } from '../identity/nss';
import type { Jail } from '../jail/jail';
import { hangUp, killLeftovers, markedProcesses, relayUntilEnd } from './hangup';
import { processId, type RecordedSession, recordLogin, recordLogout, recordSession, startOf } from './records';
import type { LoginIo } from './relay';
import type { Login } from './session';

/** A session docker exec has started, its record written. */
export interface StartedExec {
  jail: Jail;
  cgroup: JailCgroup | null;
  session: Session;
  /** The exec's host pid; null when it had already ended. */
  pid: number | null;
  record: RecordedSession;
}

/** docker exec: shared mode, a jail made before the agent, or an agent that cannot take this session. Called under the jail's lock. */
export async function startExecSession(engine: Engine, login: Login, jail: Jail, cgroup: JailCgroup | null): Promise<StartedExec> {
  const { identity, ancestors, marker, env, argv, tty } = login;
  const uid = identity.uid;
  // Recorded before the session can start, for the PAM hook's close_session: were this process killed from
  // here on, what it started is still found (by its mark) and hung up. No record, no session.
  const record = recordSession({ pid: process.pid, ancestors, uid, jailId: jail.id, cgroup, exec: null, marker, ...startOf(login) });
  try {
    const session = await startExec(engine, { jailId: jail.id, uid, workdir: login.placement.workdir, env, argv, tty });
    try {
      return { jail, cgroup, session, pid: await session.started(), record };
    } catch (error) {
      session.close();
      throw error;
    }
  } catch (error) {
    // Whatever did start carries the mark: a failed login leaves nothing running. The record stays for
    // close_session, which sweeps by the mark again: an engine that gave up answering may start it yet.
    signalJailProcesses(cgroup, markedProcesses(cgroup, uid, marker), 'SIGKILL');
    throw error;
  }
}

/** Checks the started session's credentials, audits it, relays it to its end or the login's hangup, and cleans up after it. */
export async function runExecSession(engine: Engine, login: Login, started: StartedExec, io: LoginIo): Promise<number> {
  const { identity, config, tty, shellArgs, marker } = login;
  const uid = identity.uid;
  const { jail, cgroup, session, pid, record: sessionRecord } = started;
  if (pid !== null) checkCredentials(pid, identity, session, cgroup);
  // The exec's own pid finds, too, what it started after dropping the mark; the mark alone still works without it.
  sessionRecord.update({ exec: processId(pid) });

  const record = { user: identity.user, uid, jail: jail.name, tty, ...login.origin, command: shellArgs.command };
  const startedAt = Date.now();
  // logger(1) is running once auditLog returns; the session need not wait for it to finish.
  const startLogged = auditLog(formatRecord('start', record));
  recordLogin(uid, new Date(startedAt));
  countLogin(); // for `metrics`: one byte appended
  let hungUp: number[] = [];
  const { status, hangup } = await relayUntilEnd(session, io, tty, login.loginParent, async () => {
    hungUp = hangUp(cgroup, pid, uid, null);
  });
  if (config.session.killOnLogout) {
    // The shell is gone (or had its hangup and a moment to go): so is whatever the session left behind.
    signalJailProcesses(cgroup, hungUp, 'SIGKILL');
    await killLeftovers(engine, jail.id, cgroup, session.execId, uid, marker);
  }
  sessionRecord.forget();
  recordLogout(uid, new Date());
  // A poll still unanswered after a hangup would keep this root process waiting on the engine (SECURITY.md, invariant 10).
  engine.control.close();
  await Promise.all([startLogged, auditLog(formatRecord('end', { ...record, exitStatus: status, durationMs: Date.now() - startedAt, hangup }))]);
  return status;
}

/**
 * The session's process must run as the user, their primary gid and exactly
 * their groups, never gid 0 (which `docker exec -u UID` gives when the jail
 * cannot name the user): checked on the process itself before anything is
 * relayed, and killed otherwise.
 */
function checkCredentials(pid: number, identity: Identity, session: Session, cgroup: JailCgroup | null): void {
  const actual = credentialsOf(pid);
  if (actual === null) return; // ended already (e.g. `true`), having started under the lock
  if (!credentialsAre(actual, { uid: identity.uid, gid: identity.gid, gids: identity.groups.map((g) => g.gid) })) {
    signalJailProcesses(cgroup, [pid], 'SIGKILL');
    session.close();
    throw new JailError(`the session started with the wrong credentials (uid ${actual.uids[0]}, gid ${actual.gids[0]}); refused`);
  }
}
