import { JailError } from '../errors';

/**
 * One time limit for the whole process: the PAM hook's `[pam] timeout`. A timer
 * cannot fire while a synchronous step runs (an NSS lookup, mount, mkfs), so
 * each such step is given at most what is left, and is killed when that runs
 * out. Without a deadline, each step keeps only its own limit.
 */
let deadline = Number.POSITIVE_INFINITY;

/** From now on no step outlives `at` (milliseconds since the epoch). */
export function setDeadline(at: number): void {
  deadline = at;
}

/** spawnSync options for a step that may take up to ownMs on its own; throws once the deadline has passed. */
export function bounded(ownMs: number): { timeout: number; killSignal: 'SIGKILL' } {
  const left = Math.floor(deadline - Date.now());
  if (left <= 0) throw new JailError('the time limit ran out');
  return { timeout: Math.min(ownMs, left), killSignal: 'SIGKILL' };
}

/**
 * The same for a step that must not be cut short (a repair that a kill would
 * leave half done): refused before it starts unless all of ownMs is left, so
 * it is left to a caller without a deadline (the login shell).
 */
export function unbroken(what: string, ownMs: number): { timeout: number; killSignal: 'SIGKILL' } {
  if (deadline - Date.now() < ownMs) throw new JailError(`${what} not started: it may take ${ownMs / 1000} s, more than the time limit leaves`);
  return { timeout: ownMs, killSignal: 'SIGKILL' };
}
