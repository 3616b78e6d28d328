import { statSync } from 'node:fs';
import { defaultConfig, jailGroupNamesIn, loadConfig } from '../config/load';
import type { Config } from '../config/types';
import { ExitCode, JailError } from '../errors';
import { JAILSH } from '../host/paths';
import { groupIdByName, hostNss, type Identity, type Nss, resolveIdentityAndGroups } from '../identity/nss';

/**
 * Who a user is to docker-jail: only `jailed` ever reaches a jail; root, the
 * exempt group (administrators) and anyone outside the jail group never do
 * (SECURITY.md, invariant 5). A verdict, not an exception: each caller decides
 * what it means there (a refusal, nothing to do, an owner gone).
 */
export type Access = 'jailed' | 'root' | 'exempt' | 'outside';

/** The access of a user with these groups; `gidOf` resolves the config's group names (null: no such group). */
export function accessOf(identity: Identity, config: Config, gidOf: (name: string) => number | null = groupIdByName): Access {
  if (identity.uid === 0) return 'root';
  const gids = new Set(identity.groups.map((g) => g.gid));
  const exempt = gidOf(config.access.exemptGroup);
  if (exempt !== null && gids.has(exempt)) return 'exempt';
  const jailed = gidOf(config.access.jailGroup);
  return jailed !== null && gids.has(jailed) ? 'jailed' : 'outside';
}

/** What jailsh says to each user it refuses. */
const REFUSALS: Record<Exclude<Access, 'jailed'>, (identity: Identity, config: Config) => string> = {
  root: () => 'root is never jailed; jailsh refuses to run for root',
  exempt: (identity, config) => `${identity.user} is in the exempt group ${config.access.exemptGroup} and is never jailed; use a normal shell`,
  outside: (identity, config) => `${identity.user} is not in the group ${config.access.jailGroup}; jailsh is only for jailed users`,
};

/** Refuses (exit 77, one line) anyone whose access is not `jailed`. */
export function checkJailable(identity: Identity, config: Config, gidOf: (name: string) => number | null = groupIdByName): void {
  refuseUnlessJailed(accessOf(identity, config, gidOf), identity, config);
}

function refuseUnlessJailed(access: Access, identity: Identity, config: Config): void {
  if (access !== 'jailed') throw new JailError(REFUSALS[access](identity, config), ExitCode.refused);
}

/** The user behind uid and their access, their groups and the config's resolved in one lookup; an NSS failure throws. */
export function identityAndAccess(uid: number, config: Config): { identity: Identity; access: Access } {
  const { identity, groupIdOf } = resolveIdentityAndGroups(uid, [config.access.exemptGroup, config.access.jailGroup]);
  return { identity, access: accessOf(identity, config, groupIdOf) };
}

/** The user behind uid, refused unless a login of theirs belongs in a jail; their groups and the config's come from one lookup. */
export function jailableIdentity(uid: number, config: Config): Identity {
  const { identity, access } = identityAndAccess(uid, config);
  refuseUnlessJailed(access, identity, config);
  return identity;
}

/**
 * Refuses a jailed uid, and fails closed: root always passes, before anything
 * is read; a user whose login shell is jailsh never does; anyone else only
 * when the jail group resolves and they are outside it, or in the exempt group.
 * An unknown uid or an NSS error refuses too.
 *
 * A config that cannot be loaded (a typo, a bad owner or mode) must not take
 * every user manager with it (issue 17): it is a user manager on the host that
 * a jailed user must not get, so only those who might be jailed are refused.
 * Who might be: members of the group that may run jailsh (its group owner,
 * which the package set from the config's jail group at install: root's, and
 * there whatever state the file is in), of the built-in jail group, and of
 * every group a `jail_group` line of the broken file seems to name (read
 * loosely: a typo on that very line may be why the file does not load). That
 * text only ever adds groups to refuse and never exempts: the exempt group is
 * not honoured until the file loads (an administrator in the jail group waits
 * for the fix, as jailed users do). A group named in the file must resolve, or
 * nobody could tell who is in it; the built-in name may be absent when the
 * launcher's group stands for the installed jail group.
 */
export function mayHaveUserManager(
  uid: number,
  nss: Nss = hostNss,
  load: () => Config = loadConfig,
  namedInBrokenConfig: () => string[] = jailGroupNamesIn,
  launcherGroup: () => number | null = launcherGroupId,
): void {
  if (uid === 0) return;
  const jailed = `uid ${uid} is jailed: no systemd user manager on the host for it (it would run units from its home)`;
  if ((nss.passwdByUid(uid) ?? '').split(':')[6] === JAILSH) throw new JailError(jailed, ExitCode.refused);
  let config: Config;
  try {
    config = load();
  } catch (error) {
    if (!(error instanceof JailError)) throw error;
    mayHaveUserManagerWithoutConfig(uid, jailed, nss, namedInBrokenConfig(), launcherGroup());
    return;
  }
  const { identity, groupIdOf } = resolveIdentityAndGroups(uid, [config.access.exemptGroup, config.access.jailGroup], nss);
  // An NSS outage, a misspelt jail_group or a local group shadowing the directory's all look like this: nobody could tell who is jailed.
  if (groupIdOf(config.access.jailGroup) === null) {
    throw new JailError(`the jail group ${config.access.jailGroup} does not resolve: no systemd user manager for uid ${uid} until it does`, ExitCode.refused);
  }
  if (accessOf(identity, config, groupIdOf) !== 'jailed') return; // exempt, or outside the jail group
  throw new JailError(jailed, ExitCode.refused);
}

/** The group owner of the launcher (root's, mode 4754: only that group may run it), or null when it is not installed as such. */
export function launcherGroupId(): number | null {
  try {
    const stats = statSync(JAILSH);
    return stats.isFile() && stats.uid === 0 && stats.gid !== 0 && (stats.mode & 0o4000) !== 0 ? stats.gid : null;
  } catch {
    return null;
  }
}

/** mayHaveUserManager's decision when the config does not load (its comment says why this way). */
function mayHaveUserManagerWithoutConfig(uid: number, jailed: string, nss: Nss, namedInFile: string[], launcherGid: number | null): void {
  const groups = [...new Set([defaultConfig.access.jailGroup, ...namedInFile])];
  const { identity, groupIdOf } = resolveIdentityAndGroups(uid, groups, nss);
  const mine = new Set(identity.groups.map((g) => g.gid));
  if (launcherGid !== null && mine.has(launcherGid)) {
    throw new JailError(`${jailed}; the config does not load, so the group that may run ${JAILSH} (gid ${launcherGid}) counts as jailed`, ExitCode.refused);
  }
  for (const name of groups) {
    const gid = groupIdOf(name);
    if (gid === null && launcherGid !== null && name === defaultConfig.access.jailGroup && !namedInFile.includes(name)) continue;
    if (gid === null) {
      throw new JailError(
        `the config does not load and the group ${name} does not resolve: no systemd user manager for uid ${uid} until one of them is fixed`,
        ExitCode.refused,
      );
    }
    if (mine.has(gid)) throw new JailError(`${jailed}; the config does not load, so group ${name} counts as jailed`, ExitCode.refused);
  }
}
