import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Config } from '../config/types';
import { JailError } from '../errors';
import { bounded } from '../host/deadline';
import { checkHomeBase } from '../host/mounts';
import { run } from '../host/run';
import type { Identity } from '../identity/nss';

/**
 * Creates a jailed user's home at their first login, the way an administrator
 * would, without ever giving the user a path to steer root with:
 * - root only makes the directory itself, in a parent only root can write,
 *   and sets owner and mode through the descriptor it opened with O_NOFOLLOW;
 * - the skeleton files and ~/.ssh are made by the user's own process, so a
 *   symlink they plant can only lead to what they could reach anyway;
 * - an existing home is never changed beyond adding a missing ~/.ssh;
 * - a home outside [home] bases is refused before anything (checkHomeBase).
 * Returns whether the home was created.
 */
export function provisionHome(identity: Identity, config: Config): boolean {
  const home = identity.home;
  checkHomeBase(home, config.home.bases);
  let existing: Stats | undefined;
  try {
    existing = lstatSync(home);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw new JailError(`cannot look at ${home}: ${(error as Error).message}`);
  }
  if (existing !== undefined) {
    if (!existing.isDirectory()) throw new JailError(`${home} exists and is not a directory; refusing to use it as ${identity.user}'s home`);
    // Only the user's own home gets its missing ~/.ssh (a home set to /tmp or a shared directory does not).
    if (existing.uid === identity.uid) runAsUser(identity, config.home.umask, 'if [ ! -e "$HOME/.ssh" ]; then mkdir -m 700 "$HOME/.ssh"; fi');
    return false;
  }

  // The parent is opened once and everything after goes through that descriptor, so no component of its
  // path can be swapped between the check and the use (a symlinked /home -> /srv/home is fine).
  const parent = dirname(home);
  let parentFd: number;
  try {
    parentFd = openSync(parent, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (error) {
    throw new JailError(`refusing to create ${home}: ${parent} is not a directory (${(error as { code?: string }).code})`);
  }
  try {
    const parentStat = fstatSync(parentFd);
    if (parentStat.uid !== 0 || (parentStat.mode & 0o022) !== 0) {
      throw new JailError(`refusing to create ${home}: ${parent} must be owned by root and writable by root only`);
    }
    const path = `/proc/self/fd/${parentFd}/${basename(home)}`;
    mkdirSync(path, { mode: 0o700 });
    const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      const made = fstatSync(fd);
      if (made.uid !== 0 || made.dev !== parentStat.dev) throw new JailError(`${home} changed while it was being created`);
      fchownSync(fd, identity.uid, identity.gid);
      fchmodSync(fd, config.home.mode);
    } finally {
      closeSync(fd);
    }
  } finally {
    closeSync(parentFd);
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
  run(
    '/usr/bin/setpriv',
    [
      `--reuid=${identity.uid}`,
      `--regid=${identity.gid}`,
      `--groups=${identity.groups.map((g) => g.gid).join(',')}`,
      '--',
      '/bin/sh',
      '-c',
      `umask ${umask.toString(8).padStart(4, '0')}; ${script}`,
      ...args,
    ],
    { failure: `preparing the home of ${identity.user} failed`, env: { HOME: identity.home, PATH: '/usr/bin:/bin' }, cwd: '/', ...bounded(10_000) },
  );
}
