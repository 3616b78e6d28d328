import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { JailError } from '../errors';

/** A login waits out another's provisioning (up to 90 s a call under a login storm). */
const WAIT_SECONDS = 120;

/**
 * Runs fn while holding a host-wide lock: flock(2) on a root-only file. Node
 * cannot call flock, so flock(1) takes it on our open file, which keeps it
 * after flock(1) exits; closing the file (or dying) releases it, so a login
 * killed midway never leaves a stale lock.
 */
export async function withHostLock<T>(path: string, fn: () => Promise<T>, waitSeconds = WAIT_SECONDS): Promise<T> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, 'a', 0o600);
  try {
    const status = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('/usr/bin/flock', ['--exclusive', '--wait', String(waitSeconds), '3'], { env: {}, stdio: ['ignore', 'ignore', 'ignore', fd] });
      child.on('error', (error) => reject(new JailError(`cannot run /usr/bin/flock: ${error.message}`)));
      child.on('close', resolve);
    });
    if (status !== 0) throw new JailError(`timed out after ${waitSeconds} s waiting for the lock ${path}`);
    return await fn();
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether someone holds (or waits for) the lock at `path`, read from the
 * kernel's table of locks without taking it: a warm login that sees it free,
 * having recorded its session first, is never left in a jail that whoever
 * holds it is stopping or removing (they look for such records under it).
 */
export function lockHeld(path: string, locks = '/proc/locks'): boolean {
  const file = statSync(path, { throwIfNoEntry: false });
  if (file === undefined) return false; // never taken since boot
  const major = (file.dev >> 8) & 0xfff;
  const minor = (file.dev & 0xff) | ((file.dev >> 12) & 0xfff00);
  // "1: FLOCK  ADVISORY  WRITE 1234 00:19:5678 0 EOF", a waiter's with "-> " after the number.
  const key = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${file.ino}`;
  return readFileSync(locks, 'utf8').split('\n').some((line) => line.split(/\s+/).includes(key));
}
