import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statfsSync, truncateSync, writeFileSync } from 'node:fs';
import { JailError } from '../errors';
import { bounded, unbroken } from './deadline';
import { mountOptionsOf, runMount } from './mounts';
import { SCRATCH_IMAGES, SCRATCH_MOUNTS } from './paths';
import { run, runForStatus } from './run';
import { readStateFile, writeStateFile } from './stateFiles';

/**
 * A jail's /tmp and /var/tmp: the only places of its own system a jailed user
 * can write. Left in the container's writable layer they would be unbounded on
 * the engine's disk (overlay2 only takes a size on XFS with project quotas), so
 * each jail gets a filesystem of its own instead: an ext4 image of [jail]
 * tmp_size, sparse, kept across the jail's stops, its image updates and the
 * host's reboots, and removed with the jail. One per uid (`shared` for the
 * shared jail), beside a file naming the user it was made for, under
 * SCRATCH_IMAGES; mounted under SCRATCH_MOUNTS, on /run's tmpfs, so the next
 * login after a reboot mounts them again.
 */
export { SCRATCH_IMAGES, SCRATCH_MOUNTS };
/** The jail's directories and where each lives in its scratch filesystem (whose root is root's, 0755). */
export const SCRATCH_DIRS: Record<string, string> = { '/tmp': 'tmp', '/var/tmp': 'var-tmp' };

/** The image of a uid's jail (or `shared`), if one was made. */
export function scratchExists(key: string): boolean {
  return existsSync(`${SCRATCH_IMAGES}/${key}.img`);
}

/**
 * Mounts the scratch filesystem of the jail `key` (a uid, or `shared`), made
 * for `owner`, making it first if there is none; returns where it is mounted.
 * `noJail`: the uid has no jail, so an image made for another user is what a
 * removed account left (its uid since reused) and is replaced, as gc would.
 * Callers hold the jail's lock.
 */
export function ensureScratch(key: string, owner: string, bytes: number, noJail: boolean): string {
  const image = `${SCRATCH_IMAGES}/${key}.img`;
  const mounted = `${SCRATCH_MOUNTS}/${key}`;
  mkdirSync(SCRATCH_IMAGES, { recursive: true, mode: 0o700 });
  // Checked whether or not it is mounted already (its old jail removed by hand leaves it mounted).
  if (noJail && existsSync(image) && scratchOwner(key) !== owner) removeScratch(key);
  const made = !existsSync(image);
  if (made) makeImage(image, owner, bytes);
  const madeFor = scratchOwner(key);
  if (madeFor !== owner) {
    // The uid was given to a new account: the old one's files are never handed over (gc removes them once its jail is gone).
    throw new JailError(
      `the jail's /tmp of uid ${key} (${image}) was made for ${madeFor ?? 'an unknown user'}, not ${owner}; refusing it: an administrator must remove it, or docker-jail gc will once the old jail is gone`,
    );
  }
  if (mountOptionsOf(mounted) === null) {
    // Attached but not mounted here (unmounted by hand while its jail still holds it): a second mount of the
    // same image would corrupt it.
    if (tool('/sbin/losetup', ['--associated', image], image).trim() !== '') {
      throw new JailError(`the jail's /tmp (${image}) is in use but not mounted at ${mounted}; an administrator must stop the jail`);
    }
    // No journal: after a crash it is checked before it is mounted (-p repairs what is safe; 2 and 3 mean fixed);
    // one just made is clean. Never cut short (a killed repair can leave it worse): under the PAM hook's deadline
    // the check is not started, and the login shell, which has none, does it.
    if (!made) {
      const checked = runForStatus('/sbin/e2fsck', ['-p', '--', image], { stdout: 'pipe', stderr: 'pipe', ...unbroken(`e2fsck of ${image}`, 120_000) });
      if (checked.error || (checked.status ?? 8) > 3) {
        throw new JailError(`the jail's /tmp (${image}) is damaged and e2fsck -p cannot repair it; an administrator must run e2fsck on it`);
      }
    }
    mkdirSync(mounted, { recursive: true, mode: 0o700 });
    // discard: what the jail deletes is given back to the host's disk (the image is sparse).
    runMount(['mount', '-o', 'loop,nosuid,nodev,noatime,discard,errors=remount-ro', '--', image, mounted], "the jail's /tmp");
  }
  // Every time, not only after mounting: a login killed right after the mount leaves them for the next one.
  // The filesystem's root is root's and 0755: nothing in it can have been replaced by a user.
  for (const dir of Object.values(SCRATCH_DIRS)) {
    mkdirSync(`${mounted}/${dir}`, { recursive: true });
    chmodSync(`${mounted}/${dir}`, 0o1777);
  }
  return mounted;
}

/** Unmounts and deletes the scratch filesystem of a jail removed for good; nothing when there is none. Callers hold its lock. */
export function removeScratch(key: string): void {
  const mounted = `${SCRATCH_MOUNTS}/${key}`;
  // Lazily: a process of the removed jail may still be leaving it; the loop device goes with the last one.
  if (mountOptionsOf(mounted) !== null) runMount(['umount', '-l', '--', mounted], "the jail's /tmp");
  rmSync(`${SCRATCH_IMAGES}/${key}.img`, { force: true });
  rmSync(`${SCRATCH_IMAGES}/${key}.img.owner`, { force: true });
  try {
    rmdirSync(mounted);
  } catch {
    // never made, or a lazy unmount still under way: an empty directory under /run
  }
}

/**
 * How full the jail's /tmp and /var/tmp filesystem is: mounted, as df counts
 * it; else (its jail stopped since a reboot) the blocks its sparse image holds
 * against the image's size. Null when there is none.
 */
export function scratchUsage(key: string): { usedBytes: number; sizeBytes: number } | null {
  const mounted = `${SCRATCH_MOUNTS}/${key}`;
  try {
    if (mountOptionsOf(mounted) !== null) {
      const fs = statfsSync(mounted);
      return { usedBytes: (fs.blocks - fs.bfree) * fs.bsize, sizeBytes: fs.blocks * fs.bsize };
    }
    const image = lstatSync(`${SCRATCH_IMAGES}/${key}.img`, { throwIfNoEntry: false });
    return image?.isFile() === true ? { usedBytes: image.blocks * 512, sizeBytes: image.size } : null;
  } catch {
    return null;
  }
}

/** Whom the image of `key` was made for, or null when it has no owner file. */
export function scratchOwner(key: string): string | null {
  try {
    return readStateFile(`${SCRATCH_IMAGES}/${key}.img.owner`);
  } catch {
    return null;
  }
}

/** The keys (uids, `shared`) that have an image. */
export function scratchKeys(): string[] {
  try {
    return readdirSync(SCRATCH_IMAGES).flatMap((entry) => /^(\d+|shared)\.img$/.exec(entry)?.[1] ?? []);
  } catch {
    return [];
  }
}

/** A sparse file holding an empty ext4 of `bytes`, made aside and renamed, so a login killed midway leaves no half-made one. */
function makeImage(image: string, owner: string, bytes: number): void {
  const aside = `${image}.new`;
  writeFileSync(aside, '', { mode: 0o600 });
  truncateSync(aside, bytes);
  // No journal (a scratch area: one kernel thread less per jail), no blocks reserved for root, root's root directory.
  try {
    tool('/sbin/mkfs.ext4', ['-q', '-F', '-m', '0', '-O', '^has_journal', '-E', 'root_owner=0:0', '--', aside], image);
  } catch (error) {
    rmSync(aside, { force: true });
    throw error;
  }
  writeStateFile(`${image}.owner`, owner);
  renameSync(aside, image);
}

/** Runs an e2fsprogs or util-linux tool on an image, with an empty environment; its output, or one line naming it. */
function tool(path: string, args: string[], image: string): string {
  return run(path, args, { failure: `${path.split('/').pop()} failed on the jail's /tmp (${image})`, stdout: 'pipe', ...bounded(30_000) });
}

/** How much the /tmp images could still take of their filesystem, against what it has free (doctor). */
export interface ScratchHeadroom {
  images: number;
  /** Their sizes as the jails see them (tmp_size each), summed. */
  apparentBytes: number;
  /** What they take on disk now, summed. */
  allocatedBytes: number;
  /** Free on their filesystem, for root (statfs f_bavail; root is who writes them). */
  freeBytes: number;
}

/** null when there is no image directory yet. */
export function scratchHeadroom(): ScratchHeadroom | null {
  let free: number;
  try {
    const fs = statfsSync(SCRATCH_IMAGES, { bigint: true });
    free = Number(fs.bavail * fs.bsize);
  } catch {
    return null;
  }
  let images = 0;
  let apparentBytes = 0;
  let allocatedBytes = 0;
  for (const key of scratchKeys()) {
    const image = lstatSync(`${SCRATCH_IMAGES}/${key}.img`, { throwIfNoEntry: false });
    if (image?.isFile() !== true) continue;
    images++;
    apparentBytes += image.size;
    allocatedBytes += image.blocks * 512;
  }
  return { images, apparentBytes, allocatedBytes, freeBytes: free };
}
