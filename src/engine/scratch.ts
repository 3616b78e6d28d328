import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { JailError } from '../errors';
import { mountOptionsOf, runMount } from './homeMount';

/**
 * A jail's /tmp and /var/tmp: the only places of its own system a jailed user
 * can write. Left in the container's writable layer they would be unbounded on
 * the engine's disk (overlay2 only takes a size on XFS with project quotas), so
 * each jail gets a filesystem of its own instead: an ext4 image of [jail]
 * tmp_size, sparse, kept across the jail's stops, its image updates and the
 * host's reboots, and removed with the jail.
 */
export const SCRATCH_IMAGES = '/var/lib/docker-jail/scratch';
/** Where the images are mounted; /run is a tmpfs, so the next login after a reboot mounts them again. */
export const SCRATCH_MOUNTS = '/run/docker-jail/scratch';
/** The jail's directories and where each lives in its scratch filesystem (whose root is root's, 0755). */
export const SCRATCH_DIRS: Record<string, string> = { '/tmp': 'tmp', '/var/tmp': 'var-tmp' };

/** Mounts the scratch filesystem of the container `name`, making it first if there is none; returns where it is mounted. */
export function ensureScratch(name: string, bytes: number): string {
  const image = `${SCRATCH_IMAGES}/${name}.img`;
  const mounted = `${SCRATCH_MOUNTS}/${name}`;
  if (mountOptionsOf(mounted) !== null) return mounted;
  mkdirSync(SCRATCH_IMAGES, { recursive: true, mode: 0o700 });
  mkdirSync(mounted, { recursive: true, mode: 0o700 });
  if (!existsSync(image)) makeImage(image, bytes);
  // Attached but not mounted here (unmounted by hand while its jail still holds it): a second mount of the
  // same image would corrupt it.
  const attached = spawnSync('/sbin/losetup', ['--associated', image], { env: {}, encoding: 'utf8', timeout: 10_000 });
  if (attached.status !== 0) throw new JailError(`losetup failed on ${image}: ${String(attached.stderr).trim().split('\n')[0]}`);
  if (attached.stdout.trim() !== '') {
    throw new JailError(`the jail's /tmp (${image}) is in use but not mounted at ${mounted}; an administrator must stop the jail`);
  }
  // discard: what the jail deletes is given back to the host's disk (the image is sparse).
  runMount(['mount', '-o', 'loop,nosuid,nodev,noatime,discard', '--', image, mounted], "the jail's /tmp");
  // The filesystem's root is root's and 0755: nothing in it can have been replaced by a user.
  for (const dir of Object.values(SCRATCH_DIRS)) {
    mkdirSync(`${mounted}/${dir}`, { recursive: true });
    chmodSync(`${mounted}/${dir}`, 0o1777);
  }
  return mounted;
}

/** Unmounts and deletes the scratch filesystem of a container that is removed for good; nothing when there is none. */
export function removeScratch(name: string): void {
  const mounted = `${SCRATCH_MOUNTS}/${name}`;
  // Lazily: a process of the removed jail may still be leaving it; the loop device goes with the last one.
  if (mountOptionsOf(mounted) !== null) runMount(['umount', '-l', '--', mounted], "the jail's /tmp");
  rmSync(`${SCRATCH_IMAGES}/${name}.img`, { force: true });
  try {
    rmdirSync(mounted);
  } catch {
    // never made, or a lazy unmount still under way: an empty directory under /run
  }
}

/** A sparse file holding an empty ext4 of `bytes`, made aside and renamed, so a login killed midway leaves no half-made one. */
function makeImage(image: string, bytes: number): void {
  const aside = `${image}.new`;
  writeFileSync(aside, '', { mode: 0o600 });
  truncateSync(aside, bytes);
  // No journal (a scratch area: one kernel thread less per jail), no blocks reserved for root, root's root directory.
  const made = spawnSync('/sbin/mkfs.ext4', ['-q', '-F', '-m', '0', '-O', '^has_journal', '-E', 'root_owner=0:0', '--', aside], {
    env: {},
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (made.error || made.status !== 0) {
    rmSync(aside, { force: true });
    throw new JailError(`making the jail's /tmp (${image}) failed: ${(made.error?.message ?? String(made.stderr).trim()).split('\n')[0]}`);
  }
  renameSync(aside, image);
}
