import { spawnSync } from 'node:child_process';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { JailError } from '../errors';

/** Where root keeps the nosuid,nodev view of each jailed home; /run is a tmpfs, so nothing survives a reboot. */
export const STAGING_ROOT = '/run/docker-jail/homes';

/**
 * Docker cannot put nosuid,nodev on a bind mount, but a bind mount inherits the
 * flags of the mount it copies. So the jail binds a host-side bind of the home
 * that root has remounted nosuid,nodev. Returns the staging path to bind.
 */
export function ensureHomeStaging(home: string, uid: number): string {
  const staging = `${STAGING_ROOT}/${uid}`;
  // O_NOFOLLOW: a home that is a symlink planted by someone is refused, never followed.
  let fd: number;
  try {
    fd = openSync(home, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') throw new JailError(`your home directory ${home} does not exist`);
    throw new JailError(`your home directory ${home} cannot be used (${code})`);
  }
  try {
    const homeStat = fstatSync(fd);
    if (homeStat.uid !== uid) throw new JailError(`your home directory ${home} is not owned by you (uid ${homeStat.uid})`);
    if (isStagedCopyOf(staging, homeStat)) return staging;

    mkdirSync(STAGING_ROOT, { recursive: true, mode: 0o700 });
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    if (mountOptionsOf(staging) !== null) runMount(['umount', '-l', '--', staging]);
    // The source is the directory we opened, not its path: nothing can be swapped in between.
    runMount(['mount', '--bind', '--', '/proc/self/fd/3', staging], fd);
    runMount(['mount', '-o', 'remount,bind,nosuid,nodev', '--', staging]);
    if (!isStagedCopyOf(staging, homeStat)) throw new JailError(`could not prepare ${home} for the jail`);
    return staging;
  } finally {
    closeSync(fd);
  }
}

function isStagedCopyOf(staging: string, home: { dev: number; ino: number }): boolean {
  const options = mountOptionsOf(staging);
  if (options === null || !options.includes('nosuid') || !options.includes('nodev')) return false;
  const stat = statSync(staging);
  return stat.dev === home.dev && stat.ino === home.ino;
}

/** The per-mount options of the mount at exactly this path, or null when nothing is mounted there. */
function mountOptionsOf(path: string): string[] | null {
  let found: string[] | null = null;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    if (fields.length > 5 && unescapeMountPath(fields[4]) === path) found = fields[5].split(',');
  }
  return found; // the last one wins: it is the mount on top
}

function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, code: string) => String.fromCharCode(parseInt(code, 8)));
}

function runMount(argv: string[], passFd?: number): void {
  const stdio: (number | 'ignore' | 'pipe')[] = ['ignore', 'ignore', 'pipe'];
  if (passFd !== undefined) stdio.push(passFd);
  const result = spawnSync(`/usr/bin/${argv[0]}`, argv.slice(1), { env: {}, stdio, encoding: 'utf8', timeout: 10_000 });
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? String(result.stderr).trim();
    throw new JailError(`${argv[0]} of the home for the jail failed: ${why.split('\n')[0]}`);
  }
}
