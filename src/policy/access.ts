import { loadConfig } from '../config/load';
import type { Config } from '../config/types';
import { ExitCode, JailError } from '../errors';
import { JAILSH } from '../host/paths';
import { groupIdByName, hostNss, type Identity, resolveIdentityAndGroups } from '../identity/nss';

/** Root, administrators and anyone outside the jail group never reach a jail (invariant 5). */
export function checkJailable(identity: Identity, config: Config, gidOf: (name: string) => number | null = groupIdByName): void {
  if (identity.uid === 0) throw new JailError('root is never jailed; jailsh refuses to run for root', ExitCode.refused);
  const gids = new Set(identity.groups.map((g) => g.gid));
  const exempt = gidOf(config.access.exemptGroup);
  if (exempt !== null && gids.has(exempt)) {
    throw new JailError(`${identity.user} is in the exempt group ${config.access.exemptGroup} and is never jailed; use a normal shell`, ExitCode.refused);
  }
  const jailed = gidOf(config.access.jailGroup);
  if (jailed === null || !gids.has(jailed)) {
    throw new JailError(`${identity.user} is not in the group ${config.access.jailGroup}; jailsh is only for jailed users`, ExitCode.refused);
  }
}

/** The user behind uid, refused unless a login of theirs belongs in a jail; their groups and the config's come from one lookup. */
export function jailableIdentity(uid: number, config: Config): Identity {
  const { identity, groupIdOf } = resolveIdentityAndGroups(uid, [config.access.exemptGroup, config.access.jailGroup]);
  checkJailable(identity, config, groupIdOf);
  return identity;
}

/**
 * Refuses a jailed uid, and fails closed: root always passes, before anything
 * is read; a user whose login shell is jailsh never does; anyone else only
 * when the jail group resolves and they are outside it, or in the exempt group.
 * An unknown uid, an NSS error or an unsafe config refuse too.
 */
export function mayHaveUserManager(uid: number): void {
  if (uid === 0) return;
  const jailed = `uid ${uid} is jailed: no systemd user manager on the host for it (it would run units from its home)`;
  if ((hostNss.passwdByUid(uid) ?? '').split(':')[6] === JAILSH) throw new JailError(jailed, ExitCode.refused);
  const config = loadConfig();
  const { identity, groupIdOf } = resolveIdentityAndGroups(uid, [config.access.exemptGroup, config.access.jailGroup]);
  // An NSS outage, a misspelt jail_group or a local group shadowing the directory's all look like this: nobody could tell who is jailed.
  if (groupIdOf(config.access.jailGroup) === null) {
    throw new JailError(`the jail group ${config.access.jailGroup} does not resolve: no systemd user manager for uid ${uid} until it does`, ExitCode.refused);
  }
  try {
    checkJailable(identity, config, groupIdOf);
  } catch (error) {
    if (error instanceof JailError && error.exitCode === ExitCode.refused) return; // exempt, or outside the jail group
    throw error;
  }
  throw new JailError(jailed, ExitCode.refused);
}
