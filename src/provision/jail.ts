import type { Config } from '../config/types';
import { ensureAgentDir } from '../session/agent';
import type { Engine } from '../engine/client';
import { ensureHomeStaging, ensureSharedRoot, jailSeesStagedHome, SHARED_ROOT } from '../engine/homeMount';
import { agentJails, ensureJail, type Jail } from '../engine/jail';
import { checkHomeTarget, ValueProblem } from '../config/values';
import { containerNameFrom, expandTemplate, hostnameFrom, type TemplateVars } from '../engine/names';
import { ExitCode, JailError } from '../errors';
import { ensureScratch, scratchExists } from '../engine/scratch';
import { registerSharedUser } from '../engine/sharedUsers';
import { jailIdentityFiles } from '../identity/jailFiles';
import type { Identity } from '../identity/nss';

/** Host locks held while a login prepares a jail. */
const LOCK_DIR = '/run/docker-jail/locks';

/** The lock a login holds while it prepares its jail: per user, or one for the shared jail. */
export function jailLockPath(config: Config, uid: number): string {
  return `${LOCK_DIR}/${config.jail.mode === 'shared' ? 'shared' : `uid-${uid}`}`;
}

/** Where the user's home goes in the jail: [jail] home_mount filled in, never over the jail's root or system. */
export function homeTargetFor(config: Config, vars: TemplateVars): string {
  const target = expandTemplate(config.jail.homeMount, vars);
  try {
    checkHomeTarget(target);
  } catch (error) {
    if (!(error instanceof ValueProblem)) throw error;
    throw new JailError(`[jail] home_mount for ${vars.user}: ${error.message}`, ExitCode.config);
  }
  return target;
}

/**
 * Ensures the user's jail and writes their identity into it. In shared mode
 * the jail's passwd lists everyone who has logged in to it, written whole under
 * the lock (jailLockPath; callers hold it) so that racing logins never drop
 * each other's entries.
 */
export async function enterJail(engine: Engine, config: Config, identity: Identity, vars: TemplateVars, homeTarget: string): Promise<Jail> {
  const jailUser = { identity, home: homeTarget };
  // The shared jail belongs to no one user: its host name must not name the user who happened to create it.
  const jailVars = config.jail.mode === 'shared' ? { ...vars, user: 'shared', uid: 'shared' } : vars;
  const shared = config.jail.mode === 'shared';
  const scratchKey = shared ? 'shared' : String(identity.uid);
  const scratching = config.jail.tmpBytes > 0 || scratchExists(scratchKey);
  // Per-user jails serve sessions through their agent, whose socket lives in the scratch filesystem.
  const agent = agentJails(config) ? { uid: identity.uid, gid: identity.gid, groups: identity.groups.map((g) => g.gid) } : null;
  const request = {
    uid: identity.uid,
    user: identity.user,
    name: containerNameFrom(config.jail.nameTemplate, jailVars),
    hostname: hostnameFrom(config.jail.hostnameTemplate, jailVars),
    homeTarget,
    // Also once tmp_size is 0, when there is an image: a jail made before binds it still.
    scratch: scratching
      ? (noJail: boolean) => {
          const mounted = ensureScratch(scratchKey, shared ? 'shared' : identity.user, config.jail.tmpBytes, noJail);
          if (agent !== null) ensureAgentDir(mounted, identity.uid, identity.gid);
          return mounted;
        }
      : null,
    agent,
  };
  if (config.jail.mode === 'per-user') {
    const home = ensureHomeStaging(identity.home, identity.uid, config.home.bases);
    return ensureJail(engine, config, { ...request, homeSource: home.path, home, identityFiles: jailIdentityFiles([jailUser], config.session.shell) });
  }
  ensureSharedRoot();
  // The shared jail binds SHARED_ROOT with slave propagation: a home staged again reaches it as it runs.
  const home = ensureHomeStaging(identity.home, identity.uid, config.home.bases, SHARED_ROOT);
  const jail = await ensureJail(engine, config, { ...request, homeSource: home.path, home: null, identityFiles: jailIdentityFiles(registerSharedUser(jailUser), config.session.shell) });
  // The jail's own copy of the home must be nosuid,nodev too: one that reached it without them (staged by an older
  // build while it ran) is replaced by staging the home again, which propagates; a session never starts on it.
  if (!(await jailSeesStagedHome(engine, jail.id, home.path))) {
    ensureHomeStaging(identity.home, identity.uid, config.home.bases, SHARED_ROOT, true);
    if (!(await jailSeesStagedHome(engine, jail.id, home.path))) throw new JailError(`your home ${identity.home} is not mounted nosuid,nodev in the shared jail; refused`);
  }
  return jail;
}

