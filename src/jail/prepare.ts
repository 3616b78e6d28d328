import { readFileSync } from 'node:fs';
import type { Config } from '../config/types';
import { type Engine, engineCall } from '../engine/client';
import { JailError } from '../errors';
import { ensureHomeStaging, ensureSharedRoot, SHARED_ROOT, unescapeMountPath } from '../host/mounts';
import { ensureScratch, scratchExists } from '../host/scratch';
import { jailIdentityFiles } from '../identity/jailFiles';
import type { Identity } from '../identity/nss';
import { ensureAgentDir } from '../session/agent';
import { agentJails, ensureJail, type Jail } from './jail';
import type { Placement } from './placement';
import { registerSharedUser } from './sharedUsers';

/**
 * Ensures the user's jail and writes their identity into it. In shared mode
 * the jail's passwd lists everyone who has logged in to it, written whole under
 * the lock (jailLockPath; callers hold it) so that racing logins never drop
 * each other's entries.
 */
export async function prepareJail(engine: Engine, config: Config, identity: Identity, placement: Placement): Promise<Jail> {
  const { homeTarget, scratchKey } = placement;
  const jailUser = { identity, home: homeTarget };
  const shared = config.jail.mode === 'shared';
  const scratching = config.jail.tmpBytes > 0 || scratchExists(scratchKey);
  // Per-user jails serve sessions through their agent, whose socket lives in the scratch filesystem.
  const agent = agentJails(config) ? { uid: identity.uid, gid: identity.gid, groups: identity.groups.map((g) => g.gid) } : null;
  const request = {
    uid: identity.uid,
    user: identity.user,
    name: placement.name,
    hostname: placement.hostname,
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
  const jail = await ensureJail(engine, config, {
    ...request,
    homeSource: home.path,
    home: null,
    identityFiles: jailIdentityFiles(registerSharedUser(jailUser), config.session.shell),
  });
  // The jail's own copy of the home must be nosuid,nodev too: one that reached it without them (staged by an older
  // build while it ran) is replaced by staging the home again, which propagates; a session never starts on it.
  if (!(await jailSeesStagedHome(engine, jail.id, home.path))) {
    ensureHomeStaging(identity.home, identity.uid, config.home.bases, SHARED_ROOT, true);
    if (!(await jailSeesStagedHome(engine, jail.id, home.path)))
      throw new JailError(`your home ${identity.home} is not mounted nosuid,nodev in the shared jail; refused`);
  }
  return jail;
}

/**
 * Whether the running jail's own view of a staged home (its init's mountinfo)
 * is nosuid,nodev, every mount at that path (a stacked or tucked copy may be
 * the one a lookup reaches): the host's copy says nothing of a copy that
 * propagated before its remount (a home staged by an older build into a running shared jail).
 */
export async function jailSeesStagedHome(engine: Engine, containerId: string, staging: string): Promise<boolean> {
  const pid = (await engineCall(engine, 'looking at the jail', () => engine.control.getContainer(containerId).inspect())).State.Pid;
  if (pid <= 0) return false;
  const seen = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields.length > 5 && unescapeMountPath(fields[4]) === staging)
    .map((fields) => fields[5].split(','));
  return seen.length > 0 && seen.every((options) => options.includes('nosuid') && options.includes('nodev'));
}
