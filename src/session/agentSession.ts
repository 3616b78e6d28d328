import { lstatSync } from 'node:fs';
import { countLogin } from '../audit/counters';
import { auditLog, formatRecord } from '../audit/syslog';
import type { Config } from '../config/types';
import { lockHeld } from '../host/locks';
import { type JailCgroup, seesDirectory, startTimeOf } from '../host/procfs';
import { SCRATCH_MOUNTS } from '../host/scratch';
import { jailIdentityFiles } from '../identity/jailFiles';
import type { Identity } from '../identity/nss';
import { identityWritten, type Jail } from '../jail/jail';
import { type AgentState, agentListening, agentProblem, handOverSession, loadAgentState, saveAgentState } from './agent';
import { processId, type RecordedSession, recordLogin, recordSession, startOf } from './records';
import type { Login } from './session';

/**
 * Recorded before the session can start, for the PAM hook's close_session (kill_on_logout, the logout time), and
 * for whoever would stop or remove the jail: under its lock they look for records like this one first.
 */
export function recordAgentSession(login: Login, state: AgentState): RecordedSession {
  const { identity, ancestors, marker } = login;
  return recordSession({
    pid: process.pid,
    ancestors,
    uid: identity.uid,
    jailId: state.jailId,
    cgroup: state.cgroup,
    exec: null,
    marker,
    agent: processId(process.pid),
    ...startOf(login),
  });
}

/**
 * Warm: the running jail's agent takes the session, checked from /proc alone: no engine request, no lock. The
 * session is recorded first and the lock looked at after: a jail is stopped or removed only under its lock, and
 * only when no such record is there (SECURITY.md, invariant 2: never a half-made or vanishing jail). Null sends
 * the login down the slow path.
 */
export function warmAgentSession(login: Login): { state: AgentState; record: RecordedSession } | null {
  const state = loadAgentState(login.identity.uid);
  if (state === null) return null;
  const record = recordAgentSession(login, state);
  if (!lockHeld(login.placement.lock) && warmAgent(state, login.identity, login.placement.homeTarget, login.config)) return { state, record };
  record.forget();
  return null;
}

/** Audits the start and becomes the user's attach process, which hands the session's fds to the agent; never returns. */
export function handOverToAgent(login: Login, state: AgentState, record: RecordedSession): never {
  const { identity, tty, shellArgs, config } = login;
  try {
    const audited = { user: identity.user, uid: identity.uid, jail: state.jailName, tty, ...login.origin };
    void auditLog(formatRecord('start', { ...audited, command: shellArgs.command }), 'info', true); // runs on after the exec
    recordLogin(identity.uid, new Date());
    countLogin(); // for `metrics`: one byte appended
    const field = (fields: object) => formatRecord('end', fields).slice('session=end '.length);
    return handOverSession({
      state,
      identity,
      parent: login.loginParent,
      tty,
      killOnLogout: config.session.killOnLogout,
      workdir: login.placement.workdir,
      argv: login.argv,
      env: login.env,
      audit: { head: field(audited), tail: field({ command: shellArgs.command }) },
    });
  } catch (error) {
    // Failed once the privileges were dropped (the record is root's): left for close_session, which removes it.
    if (process.getuid?.() === 0) record.forget();
    throw error;
  }
}

/**
 * The running jail's agent, when it can take a session of this user as things
 * stand, from what the last slow path recorded and /proc alone: the same agent,
 * listening, with the user's credentials, given the passwd and group of today,
 * and binding the home as it is now. False sends the login down the slow path.
 */
function warmAgent(state: AgentState, identity: Identity, homeTarget: string, config: Config): boolean {
  if (agentProblem(state, identity) !== null) return false;
  if (!identityWritten(state.jailId, jailIdentityFiles([{ identity, home: homeTarget }], config.session.shell))) return false;
  const home = lstatSync(identity.home, { throwIfNoEntry: false });
  if (home === undefined || !home.isDirectory() || !seesDirectory(state.pid, homeTarget, home)) return false;
  return startTimeOf(state.pid) === state.start;
}

/**
 * The agent of a jail just made ready (slow path, under the lock), once it
 * listens, and recorded for the next warm login; null when it cannot take this
 * session (groups changed since the jail started, or it does not answer): the
 * session then goes through docker exec, as on a host where new groups apply
 * at the next login.
 */
export async function readyAgent(jail: Jail, cgroup: JailCgroup | null, identity: Identity): Promise<AgentState | null> {
  const pid = cgroup?.init;
  const start = pid === undefined ? null : startTimeOf(pid);
  if (cgroup === null || pid === undefined || start === null) return null;
  const state: AgentState = { user: identity.user, jailId: jail.id, jailName: jail.name, pid, start, cgroup, scratch: `${SCRATCH_MOUNTS}/${identity.uid}` };
  if ((await agentListening(state, identity)) !== null) return null;
  saveAgentState(identity.uid, state);
  return state;
}
