import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';

/**
 * Root's own state files (paths.ts: session records, agent states, remembered
 * shells, last logins, gc's marks...), all written and read here, the way
 * shadow's commonio.c does it: a file is replaced whole or not at all, and no
 * symbolic link is ever followed, whoever put it there. They live in
 * directories only root can write; these rules are what is left if one day
 * one is not.
 */

/** More than any of them holds (a shared user with every group of a large directory is the largest). */
const MAX_STATE_BYTES = 1 << 20;
const CHUNK_BYTES = 64 * 1024;

export interface StateWrite {
  /** Default 0600: root's alone. A mode given is set whatever the umask (a file others must read). */
  mode?: number;
  /**
   * fsync before the rename (the default), so a power cut leaves the old file
   * or the new one, never an empty one. Off for what does not outlive a
   * reboot anyway (/run) and for what a login writes every time at no cost to
   * lose (its last login time): a sync costs milliseconds.
   */
  sync?: boolean;
  /** Owner and group to give the file, when not this process's (the live config is root:root whatever group its editor runs with). */
  owner?: { uid: number; gid: number };
}

/**
 * Replaces the file at `path` with `content`: written to `PATH.tmp.PID` beside
 * it (made afresh with O_CREAT|O_EXCL|O_NOFOLLOW and the mode, so nothing
 * already there, a link least of all, is written through), then renamed over
 * it, which replaces a symbolic link at `path` rather than following it.
 * Throws the file system's error (with its code), leaving no temp file. Each
 * writer has its own temp file, so racing writers (two logins of one user
 * recording their login time) leave one of their contents whole.
 */
export function writeStateFile(path: string, content: string, options: StateWrite = {}): void {
  const temp = `${path}.tmp.${process.pid}`;
  rmSync(temp, { force: true }); // left by a writer killed midway
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, options.mode ?? 0o600);
  try {
    try {
      if (options.owner !== undefined) fchownSync(fd, options.owner.uid, options.owner.gid);
      if (options.mode !== undefined) fchmodSync(fd, options.mode);
      // A short write (a nearly full disk) is followed by one that fails: never rename a truncated file.
      const bytes = Buffer.from(content, 'utf8');
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written);
      if (options.sync ?? true) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/**
 * The text of the state file at `path`, read without following a symbolic
 * link (ELOOP) nor blocking on a FIFO; a file that is not a regular file, or
 * holds more than `maxBytes`, is refused with an error. Throws ENOENT when
 * there is none: readers decide what a missing file means.
 */
export function readStateFile(path: string, maxBytes: number = MAX_STATE_BYTES): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${path}: not a regular file`);
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      const n = readSync(fd, chunk, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      length += n;
      if (length > maxBytes) throw new Error(`${path}: larger than ${maxBytes} bytes`);
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Adds one to the tally at `path`: one byte appended (O_APPEND, so racing
 * writers never overwrite each other), the file's size being the count. One
 * small write and no read, cheap enough for every login; no link is followed
 * and a FIFO never blocks it. The directory is made (0700) on first use.
 */
export function addToTally(path: string): void {
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  let fd: number;
  try {
    fd = openSync(path, flags, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true, mode: 0o700 });
    fd = openSync(path, flags, 0o600);
  }
  try {
    writeSync(fd, '.');
  } finally {
    closeSync(fd);
  }
}

/** The count of the tally at `path` (0 when there is none); anything but a regular file is refused with an error. */
export function tallyOf(path: string): number {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isFile()) throw new Error(`${path}: not a regular file`);
  return stat.size;
}
