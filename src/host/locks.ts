import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
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
    writeFileSync(heldMark(path), '', { mode: 0o600 });
    try {
      return await fn();
    } finally {
      rmSync(heldMark(path), { force: true });
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether someone holds the lock at `path`, without taking it: its holder
 * marks it (`PATH.held`) as soon as it has it and before it looks at anything,
 * and unmarks it before letting go. A warm login that sees no mark, having
 * recorded its session first, is never left in a jail that a holder is
 * stopping or removing: that holder, looking after its mark was made, sees the
 * record (each side writes, then reads). A holder killed midway leaves its
 * mark until the next one takes the lock: logins meanwhile take the slow path.
 * (The kernel's own /proc/locks takes 20 ms to read on a busy host.)
 */
export function lockHeld(path: string): boolean {
  return existsSync(heldMark(path));
}

function heldMark(path: string): string {
  return `${path}.held`;
}
