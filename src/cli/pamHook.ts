import { auditLog } from '../audit/syslog';
import { loadConfig } from '../config/load';
import type { Config } from '../config/types';
import { connectEngine, type Engine } from '../engine/client';
import { withHostLock } from '../engine/hostLock';
import { findJailOf } from '../engine/jail';
import { expandTemplate } from '../engine/names';
import { signalJailProcesses } from '../engine/processes';
import { otherSessions } from '../engine/session';
import { ExitCode, JailError } from '../errors';
import { type Identity, resolveIdentity, uidOfUser } from '../identity/nss';
import { provisionHome } from '../provision/home';
import { enterJail, jailLockPath } from '../provision/jail';
import { sessionsOf } from '../provision/sessions';
import { checkJailable, hangUp, killLeftovers } from './shell';

/**
 * `pam-hook` mode, run by pam_exec through the launcher (which has left only
 * PAM_USER, PAM_TYPE, PAM_SERVICE, PAM_TTY and a checked PAM_RHOST):
 * - open_session of a jailed user: make their home if missing, then their
 *   jail, so the first login finds both ready;
 * - close_session: hang up what that PAM session left in the jail (even when
 *   the shell's own process was killed), and with idle_stop = 0 stop the jail
 *   once no session is left in it.
 * Anyone else is left alone at once. The module is optional in the PAM stack:
 * root and administrators log in whatever happens here.
 */
export async function runPamHook(env: NodeJS.ProcessEnv): Promise<number> {
  if (process.getuid?.() !== 0) throw new JailError('the PAM hook is run by PAM only', ExitCode.refused);
  const type = env.PAM_TYPE;
  if (type !== 'open_session' && type !== 'close_session') return 0;
  const config = loadConfig();
  const uid = uidOfUser(env.PAM_USER ?? '');
  if (uid === null) return 0;
  const identity = resolveIdentity(uid);
  try {
    checkJailable(identity, config);
  } catch {
    return 0; // not a jailed user: nothing to do
  }
  // Never hold a login longer than the configured time: past it the login goes on and the shell finishes the work.
  setTimeout(() => {
    process.stderr.write(`docker-jail: the PAM hook gave up after ${config.pam.timeoutSeconds} s\n`);
    process.exit(0);
  }, config.pam.timeoutSeconds * 1000).unref();

  const engine = connectEngine(config.engine.socket);
  if (type === 'open_session') await openSession(engine, config, identity);
  else await closeSession(engine, config, identity);
  return 0;
}

async function openSession(engine: Engine, config: Config, identity: Identity): Promise<void> {
  const started = Date.now();
  const created = provisionHome(identity, config);
  const vars = { user: identity.user, uid: String(identity.uid), home: identity.home };
  const jail = await withHostLock(jailLockPath(config, identity.uid), () =>
    enterJail(engine, config, identity, vars, expandTemplate(config.jail.homeMount, vars)),
  );
  await auditLog(`pam=open_session user=${JSON.stringify(identity.user)} uid=${identity.uid} jail=${JSON.stringify(jail.name)} homeCreated=${created} durationMs=${Date.now() - started}`);
}

async function closeSession(engine: Engine, config: Config, identity: Identity): Promise<void> {
  // A record left means the session's own process could not hang up (it was killed): do it here.
  const orphans = sessionsOf(process.ppid, identity.uid);
  for (const { record, remove } of orphans) {
    const tree = hangUp(record.jailId, record.execPid);
    if (config.session.killOnLogout) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      signalJailProcesses(record.jailId, tree, 'SIGKILL');
      await killLeftovers(engine, record.jailId, null, identity.uid, record.marker);
    }
    remove();
  }
  if (config.session.idleStopSeconds !== 0) return;
  // idle_stop = 0: the jail stops as soon as no session of anyone runs in it.
  const jail = await findJailOf(engine, config, identity.uid);
  if (jail === null || jail.state !== 'running') return;
  if (orphans.length > 0) await new Promise((resolve) => setTimeout(resolve, 500)); // let the hung-up shells end
  if ((await otherSessions(engine, jail.id, null, null)) > 0) return;
  await engine.control.getContainer(jail.id).stop({ t: 2 }).catch(() => undefined);
}
