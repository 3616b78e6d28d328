import { spawnSync } from 'node:child_process';
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/types';
import { JailError } from '../errors';
import type { Identity } from '../identity/nss';

/**
 * Creates a jailed user's home at their first login, the way an administrator
 * would, without ever giving the user a path to steer root with:
 * - root only makes the directory itself, in a parent only root can write,
 *   and sets owner and mode through the descriptor it opened with O_NOFOLLOW;
 * - the skeleton files and ~/.ssh are made by the user's own process, so a
 *   symlink they plant can only lead to what they could reach anyway;
 * - an existing home is never changed beyond adding a missing ~/.ssh.
 * Returns whether the home was created.
 */
export function provisionHome(identity: Identity, config: Config): boolean {
  const home = identity.home;
  let existing;
  try {
    existing = lstatSync(home);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw new JailError(`cannot look at ${home}: ${(error as Error).message}`);
  }
  if (existing !== undefined) {
    if (!existing.isDirectory()) throw new JailError(`${home} exists and is not a directory; refusing to use it as ${identity.user}'s home`);
    runAsUser(identity, config.home.umask, 'if [ ! -e "$HOME/.ssh" ]; then mkdir -m 700 "$HOME/.ssh"; fi');
    return false;
  }

  const parent = dirname(home);
  const parentStat = lstatSync(parent, { throwIfNoEntry: false });
  if (parentStat === undefined || !parentStat.isDirectory() || parentStat.uid !== 0 || (parentStat.mode & 0o022) !== 0) {
    throw new JailError(`refusing to create ${home}: ${parent} must be a directory owned by root and writable by root only`);
  }
  mkdirSync(home, { mode: 0o700 });
  const fd = openSync(home, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const made = fstatSync(fd);
    if (made.uid !== 0) throw new JailError(`${home} changed while it was being created`);
    fchownSync(fd, identity.uid, identity.gid);
    fchmodSync(fd, config.home.mode);
  } finally {
    closeSync(fd);
  }
  runAsUser(
    identity,
    config.home.umask,
    'cp -RT -- "$0" "$HOME" && mkdir -p -m 700 "$HOME/.ssh" && : >>"$HOME/.ssh/authorized_keys" && chmod 600 "$HOME/.ssh/authorized_keys"',
    config.home.skel,
  );
  return true;
}

/** Runs a small sh script as the user (their uid, gid and groups), with a fixed environment. */
function runAsUser(identity: Identity, umask: number, script: string, ...args: string[]): void {
  const result = spawnSync(
    '/usr/bin/setpriv',
    [`--reuid=${identity.uid}`, `--regid=${identity.gid}`, `--groups=${identity.groups.map((g) => g.gid).join(',')}`, '--', '/bin/sh', '-c', `umask ${umask.toString(8).padStart(4, '0')}; ${script}`, ...args],
    { env: { HOME: identity.home, PATH: '/usr/bin:/bin' }, cwd: '/', encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 },
  );
  if (result.error || result.status !== 0) {
    throw new JailError(`preparing the home of ${identity.user} failed: ${(result.error?.message ?? result.stderr).trim().split('\n')[0]}`);
  }
}
