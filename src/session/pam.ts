import { auditLog, formatPamRecord } from '../audit/syslog';
import { defaultConfig, loadConfig } from '../config/load';
import type { Config } from '../config/types';
import { connectEngine, type Engine } from '../engine/client';
import { ExitCode, JailError } from '../errors';
import { setDeadline } from '../host/deadline';
import { withHostLock } from '../host/locks';
import { signalJailProcesses } from '../host/procfs';
import { type Identity, uidOfUser } from '../identity/nss';
import { jailCgroupOf } from '../jail/cgroup';
import { jailState, removeIfOutdatedAndIdle } from '../jail/gc';
import { provisionHome } from '../jail/home';
import { findJailOf } from '../jail/jail';
import { jailLockPath, placementOf } from '../jail/placement';
import { prepareJail } from '../jail/prepare';
import { identityAndAccess } from '../policy/access';
import { readyAgent } from './agentSession';
import { hangUp, killLeftovers, sessionsIn } from './hangup';
import { forgetPamSession, processId, recordLogout, recordPamSession, sessionsOf, stillRunning } from './records';

/**
 * `pam-hook` mode, run by pam_exec through the launcher (which has left only
 * PAM_USER, PAM_TYPE, PAM_SERVICE, PAM_TTY and a checked PAM_RHOST):
 * - open_session of a jailed user: make their home if missing, then their
 *   jail, so the first login finds both ready;
 * - close_session: hang up what that PAM session left in the jail (even when
 *   the shell's own process was killed), and with idle_stop = 0 stop the jail
 *   once no session is left in it (in shared mode, no process of anyone either).
 * Anyone else is left alone at once. The module is optional in the PAM stack:
 * root and administrators log in whatever happens here.
 */
export async function runPamHook(env: NodeJS.ProcessEnv): Promise<number> {
  if (process.getuid?.() !== 0) throw new JailError('the PAM hook is run by PAM only', ExitCode.refused);
  const type = env.PAM_TYPE;
  if (type !== 'open_session' && type !== 'close_session') return 0;
  if (env.PAM_USER === 'root') return 0; // never jailed, and never held up by a slow NSS or engine
  // pam_exec is `quiet` and our stderr goes nowhere: a failure is explained in auth.log, in one line, by us.
  const session: PamSession = { type, user: env.PAM_USER ?? '', service: env.PAM_SERVICE, rhost: env.PAM_RHOST, pamTty: env.PAM_TTY };
  try {
    return await runPamSession(session);
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    await auditLog(formatPamRecord('failed', { ...session, reason }), 'warning');
    throw error;
  }
}

/** What PAM told the hook about the session (the launcher checked each value). */
interface PamSession {
  type: 'open_session' | 'close_session';
  user: string;
  service?: string;
  rhost?: string;
  pamTty?: string;
}

async function runPamSession(session: PamSession): Promise<number> {
  const { type } = session;
  // Never hold a login longer than the configured time (the default until the config is read), counted from
  // here: past it the login goes on, and the shell finishes the work or refuses cleanly. The timer ends waits
  // for the engine; a synchronous step (an NSS lookup, mount) is killed at the same deadline, and one that
  // must not be cut short (e2fsck) is not started under it.
  const started = Date.now();
  let limit = giveUpAfter(started, defaultConfig.pam.timeoutSeconds, session);
  // First, for anyone, before the config and NSS: the login shell's start record, or its refusal (a broken config,
  // an unreachable engine, jailsh for an administrator), names the service and remote host from here. The PAM
  // session's process is our parent.
  const pamProcess = processId(process.ppid);
  if (type === 'open_session') recordPamSession(pamProcess, { user: session.user, service: session.service, rhost: session.rhost, tty: session.pamTty });
  else forgetPamSession(pamProcess);
  const config = loadConfig();
  clearTimeout(limit);
  limit = giveUpAfter(started, config.pam.timeoutSeconds, session);
  const uid = uidOfUser(session.user);
  if (uid === null) return 0;
  const { identity, access } = identityAndAccess(uid, config);
  if (access !== 'jailed') return 0; // not a jailed user: nothing to do

  const engine = connectEngine(config.engine.socket);
  if (type === 'open_session') await openPamSession(engine, config, identity, session);
  else await closePamSession(engine, config, identity);
  return 0;
}

function giveUpAfter(started: number, seconds: number, session: PamSession): NodeJS.Timeout {
  setDeadline(started + seconds * 1000);
  const timer = setTimeout(
    () => {
      const reason = `the PAM hook gave up after ${seconds} s`;
      process.stderr.write(`docker-jail: ${reason}\n`);
      // logger is started before the exit and outlives it (bounded by timeout(1)).
      void auditLog(formatPamRecord('failed', { ...session, reason }), 'warning', true);
      process.exit(0); // deliberately abandons the work: a login must not wait longer
    },
    Math.max(0, started + seconds * 1000 - Date.now()),
  );
  timer.unref();
  return timer;
}

async function openPamSession(engine: Engine, config: Config, identity: Identity, session: PamSession): Promise<void> {
  const started = Date.now();
  const created = provisionHome(identity, config);
  const placement = placementOf(config, identity);
  const jail = await withHostLock(placement.lock, async () => {
    const jail = await prepareJail(engine, config, identity, placement);
    // Recorded for the login shell, which then finds the agent listening without asking the engine.
    if (jail.agent) await readyAgent(jail, await jailCgroupOf(engine, jail.id), identity);
    return jail;
  });
  const { service, rhost, pamTty } = session;
  await auditLog(
    formatPamRecord('open_session', {
      user: identity.user,
      uid: identity.uid,
      jail: jail.name,
      homeCreated: created,
      durationMs: Date.now() - started,
      service,
      rhost,
      pamTty,
    }),
  );
}

async function closePamSession(engine: Engine, config: Config, identity: Identity): Promise<void> {
  // A record left means the session's own process could not hang up (it was killed): do it here.
  const orphans = sessionsOf(process.ppid, identity.uid);
  for (const { record, remove } of orphans) {
    // The record's cgroups need no engine; only a record from before they were kept asks it.
    const cgroup = record.cgroup !== undefined ? record.cgroup : await jailCgroupOf(engine, record.jailId);
    if (record.agent !== undefined) {
      // Handed to the jail's agent, which hangs the session up itself when its attach goes. kill_on_logout is
      // enforced here too, by root: the agent runs as the user, who can stop or trace it.
      if (config.session.killOnLogout) await killLeftovers(engine, record.jailId, cgroup, null, identity.uid, record.marker, record.pid);
      remove();
      continue;
    }
    // Killed before it knew its exec's pid: the session's processes are found by their mark instead.
    let tree = hangUp(cgroup, stillRunning(record.exec), identity.uid, record.exec === null ? record.marker : null);
    if (record.exec === null) {
      // Killed as its exec started: the engine may still be putting the command in place (runc joins the jail's
      // cgroups one by one, and a process counts only once all are the jail's), so the mark is swept once more.
      await new Promise((resolve) => setTimeout(resolve, 300));
      tree = [...tree, ...hangUp(cgroup, null, identity.uid, record.marker)];
    }
    if (config.session.killOnLogout) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      signalJailProcesses(cgroup, tree, 'SIGKILL');
      await killLeftovers(engine, record.jailId, cgroup, null, identity.uid, record.marker);
    }
    remove();
  }
  if (orphans.length > 0) {
    // The session's own process records its logout, unless it was killed: gc's idle time starts here then.
    recordLogout(identity.uid, new Date());
    await new Promise((resolve) => setTimeout(resolve, 500)); // let the hung-up shells end
  }
  // Under the jail's lock, which a login holds until its session has started: a login is never left in a
  // jail being stopped or removed.
  await withHostLock(jailLockPath(config, identity.uid), async () => {
    const jail = await findJailOf(engine, config, identity.uid, identity.user);
    if (jail === null || jail.state !== 'running') return;
    // `image update` left this jail on the old image while it was busy: its last session has ended now.
    const uid = config.jail.mode === 'shared' ? null : identity.uid;
    if (await removeIfOutdatedAndIdle(engine, config, jail, uid)) return;
    // idle_stop = 0: the jail stops as soon as no session of anyone runs in it. The shared jail is everyone's:
    // a process of any of its users (another's nohup'd job) keeps it running too, as it does for gc.
    if (config.session.idleStopSeconds !== 0) return;
    const busy = uid === null ? ((await jailState(engine, jail.id, null))?.busy ?? false) : (await sessionsIn(engine, jail.id, null, null, null)) > 0;
    if (busy) return;
    await engine.control
      .getContainer(jail.id)
      .stop(2)
      .catch(() => undefined);
  });
}
