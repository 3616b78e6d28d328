import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { JailError } from '../errors';

const WAIT_MS = 15_000;

/**
 * Runs fn while holding a host-wide lock: a file created exclusively, holding
 * the holder's pid. Node has no flock; a lock whose holder has died (a login
 * killed midway) is taken over, and /run is emptied at boot.
 */
export async function withHostLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      if (holderIsGone(path)) {
        unlinkSync(path);
        continue;
      }
      if (Date.now() > deadline) throw new JailError(`timed out waiting for the lock ${path}`);
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
  }
  try {
    return await fn();
  } finally {
    unlinkSync(path);
  }
}

function holderIsGone(path: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8'));
  } catch {
    return false; // released meanwhile: just try again
  }
  if (!Number.isInteger(pid) || pid <= 0) return true; // the holder died between creating and writing it
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH';
  }
}
