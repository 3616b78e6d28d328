import { chmodSync, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { homeOutsideBases } from '../config/values';
import { ExitCode, JailError } from '../errors';
import { bounded } from './deadline';
import { PREPARE_ROOT, SHARED_ROOT, STAGING_ROOT } from './paths';
import { run, runForStatus } from './run';

// STAGING_ROOT holds root's nosuid,nodev view of each jailed home; /run is a tmpfs, so nothing survives a reboot.
// SHARED_ROOT is the same for the one jail of shared mode; others may traverse it (0711) to reach their own home.
// PREPARE_ROOT is where each home is bound and remounted nosuid,nodev first: a private mount, so no copy of the
// home escapes to anyone before it has its flags (a bind remount does not propagate).
export { PREPARE_ROOT, SHARED_ROOT, STAGING_ROOT };

/** The staging path a jail binds, and the home it shows (device and inode), as it is now. */
export interface StagedHome {
  path: string;
  dev: number;
  ino: number;
}

/**
 * Refuses a home (an NSS entry) outside [home] bases before root makes, opens or
 * mounts anything of it: a directory's word must not aim root at /etc (SECURITY.md invariant 6).
 */
export function checkHomeBase(home: string, bases: readonly string[]): void {
  const why = homeOutsideBases(home, bases);
  if (why !== null) throw new JailError(`the home directory ${home} ${why}; refused`, ExitCode.refused);
}

/**
 * Docker cannot put nosuid,nodev on a bind mount, but a bind mount inherits the
 * flags of the mount it copies. So the jail binds a host-side bind of the home
 * that root has remounted nosuid,nodev. The home is bound and remounted in
 * PREPARE_ROOT and only then moved to its staging path: in shared mode that path
 * propagates at once into the running jail, which must only ever get the
 * finished mount. Returns the staging path to bind.
 */
export function ensureHomeStaging(home: string, uid: number, bases: readonly string[], root: string = STAGING_ROOT, again = false): StagedHome {
  checkHomeBase(home, bases);
  const staging = `${root}/${uid}`;
  // O_NOFOLLOW: a home that is a symlink planted by someone is refused, never followed.
  let fd: number;
  try {
    fd = openSync(home, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') throw new JailError(`your home directory ${home} does not exist`);
    if (lstatSync(home, { throwIfNoEntry: false })?.isSymbolicLink()) throw new JailError(`your home directory ${home} is a symbolic link; refused`);
    throw new JailError(`your home directory ${home} cannot be used (${code})`);
  }
  try {
    const homeStat = fstatSync(fd);
    if (homeStat.uid !== uid) throw new JailError(`your home directory ${home} is not owned by you (uid ${homeStat.uid})`);
    const staged = { path: staging, dev: homeStat.dev, ino: homeStat.ino };
    if (!again && isStagedCopyOf(staging, homeStat)) return staged;

    const prepared = `${ensurePrepareRoot()}/${uid}`;
    mkdirSync(prepared, { recursive: true, mode: 0o700 });
    if (mountOptionsOf(prepared) !== null) runMount(['umount', '-l', '--', prepared], 'the home for the jail'); // left by a login that died here
    // The source is the directory we opened, not its path: nothing can be swapped in between
    // (--no-canonicalize, or mount(8) would turn /proc/self/fd/3 back into the path).
    runMount(['mount', '--no-canonicalize', '--bind', '--', '/proc/self/fd/3', prepared], 'the home for the jail', fd);
    runMount(['mount', '-o', 'remount,bind,nosuid,nodev', '--', prepared], 'the home for the jail');
    if (!isStagedCopyOf(prepared, homeStat)) throw new JailError(`could not prepare ${home} for the jail`);

    mkdirSync(root, { recursive: true, mode: 0o700 });
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    if (mountOptionsOf(staging) !== null) runMount(['umount', '-l', '--', staging], 'the home for the jail');
    // Every copy that propagates from here on (into the running shared jail) is of the finished mount.
    runMount(['mount', '--move', '--', prepared, staging], 'the home for the jail');
    rmdirSync(prepared);
    if (!isStagedCopyOf(staging, homeStat)) throw new JailError(`could not prepare ${home} for the jail`);
    return staged;
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes PREPARE_ROOT a private mount of its own (once per boot): a mount made
 * under it propagates nowhere, and may be moved out (the kernel refuses to
 * move a mount out of a shared parent).
 */
function ensurePrepareRoot(): string {
  mkdirSync(PREPARE_ROOT, { recursive: true, mode: 0o700 });
  const fields = optionalFieldsOf(PREPARE_ROOT);
  if (fields !== null && fields.length === 0) return PREPARE_ROOT; // private: no shared:N, no master:N
  if (fields === null) runMount(['mount', '--bind', '--', PREPARE_ROOT, PREPARE_ROOT], 'the place where homes are prepared');
  runMount(['mount', '--make-private', '--', PREPARE_ROOT], 'the place where homes are prepared');
  return PREPARE_ROOT;
}

/** Makes SHARED_ROOT a shared mount point (once per boot), which slave propagation into the jail needs. */
export function ensureSharedRoot(): void {
  mkdirSync(SHARED_ROOT, { recursive: true, mode: 0o711 });
  chmodSync(SHARED_ROOT, 0o711);
  if (optionalFieldsOf(SHARED_ROOT)?.some((field) => field.startsWith('shared:'))) return;
  if (mountOptionsOf(SHARED_ROOT) === null) runMount(['mount', '--bind', '--', SHARED_ROOT, SHARED_ROOT], 'the homes for the shared jail');
  runMount(['mount', '--make-shared', '--', SHARED_ROOT], 'the homes for the shared jail');
}

function isStagedCopyOf(staging: string, home: { dev: number; ino: number }): boolean {
  const options = mountOptionsOf(staging);
  if (options === null || !options.includes('nosuid') || !options.includes('nodev')) return false;
  const stat = statSync(staging);
  return stat.dev === home.dev && stat.ino === home.ino;
}

/** The per-mount options of the mount at exactly this path, or null when nothing is mounted there. */
export function mountOptionsOf(path: string): string[] | null {
  return mountInfoOf(path)?.[5].split(',') ?? null;
}

/** The optional fields (shared:N, master:N, ...) of the mount at exactly this path. */
function optionalFieldsOf(path: string): string[] | null {
  const fields = mountInfoOf(path);
  return fields === null ? null : fields.slice(6, fields.indexOf('-'));
}

function mountInfoOf(path: string): string[] | null {
  let found: string[] | null = null;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    if (fields.length > 5 && unescapeMountPath(fields[4]) === path) found = fields;
  }
  return found; // the last one wins: it is the mount on top
}

export function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, code: string) => String.fromCharCode(parseInt(code, 8)));
}

/** Best effort: lazily unmounts whatever is mounted at `path` (a removed jail's staged home); nothing when nothing is. */
export function unmountLazily(path: string): void {
  runForStatus('/usr/bin/umount', ['-l', '--', path], { timeout: 10_000 });
}

/** Runs mount(8) or umount(8) with an empty environment; `what` names what was being mounted in the error. */
export function runMount(argv: string[], what: string, passFd?: number): void {
  run(`/usr/bin/${argv[0]}`, argv.slice(1), { failure: `${argv[0]} of ${what} failed`, fds: passFd === undefined ? [] : [passFd], ...bounded(10_000) });
}
