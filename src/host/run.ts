import { spawnSync } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { JailError } from '../errors';

/**
 * The one way root runs a helper program to completion (OpenSSH's subprocess()
 * in misc.c): the program is named by an absolute path, never looked up in a
 * PATH; its environment is empty unless the caller gives one; it always has a
 * time limit, after which it is killed; its stdin is /dev/null. Pass the time
 * limit of deadline.ts (`...bounded(ms)`, `...unbroken(what, ms)`) where the
 * step runs under the PAM hook's deadline.
 *
 * Programs that stream their output while Node goes on (image build's tar and
 * debootstrap, the audit logger, flock's wait) are spawned asynchronously
 * where they are used: each needs the event loop, which this cannot give.
 */
export interface RunOptions {
  /** Milliseconds before the program is killed (with killSignal); required: no helper may hang a login. */
  timeout: number;
  /** Default SIGTERM, as spawnSync's. */
  killSignal?: NodeJS.Signals;
  /** The program's whole environment; empty when not given. */
  env?: Record<string, string>;
  cwd?: string;
  /** Its stdout: captured and returned ('pipe'), or /dev/null (the default). */
  stdout?: 'pipe' | 'ignore';
  /** Its stderr, for runForStatus: captured, or /dev/null (the default). run() always captures it for its error. */
  stderr?: 'pipe' | 'ignore';
  /** Descriptors it is given as fds 3, 4, ... (mount(8) binding /proc/self/fd/3, say). */
  fds?: number[];
  /** How much output is kept; past it the program is killed (spawnSync's maxBuffer, 1 MiB unless given). */
  maxBuffer?: number;
}

/** How a program ended, for a caller whose own rules judge it (an exit status that means "not found", say). */
export interface RunOutcome {
  /** Its exit status, or null when a signal (or the time limit) ended it or it could not be started. */
  status: number | null;
  /** Captured when asked for; '' otherwise. */
  stdout: string;
  stderr: string;
  /** Why it could not be started or was cut short (ETIMEDOUT, ENOENT, ENOBUFS...). */
  error?: NodeJS.ErrnoException;
}

/**
 * Runs the program and returns its stdout (when asked for); anything but exit
 * status 0 throws one JailError: `${failure}: ` and the first line of its
 * stderr, or of the reason it could not run. `failure` is the sentence up to
 * there, each caller's own ("mount of the home for the jail failed").
 */
export function run(path: string, args: readonly string[], options: RunOptions & { failure: string }): string {
  const outcome = runForStatus(path, args, { ...options, stderr: 'pipe' });
  if (outcome.error !== undefined || outcome.status !== 0) throw new JailError(`${options.failure}: ${firstLineOfWhy(outcome)}`);
  return outcome.stdout;
}

/**
 * Runs the program under the same rules and tells how it ended, without
 * judging: for callers to whom a non-zero status is an answer (systemctl
 * is-active, getent, e2fsck's "repaired"), or who do not care (a best-effort
 * lazy unmount).
 */
export function runForStatus(path: string, args: readonly string[], options: RunOptions): RunOutcome {
  // A relative name would be looked up in a PATH, or the working directory: root runs only what it names.
  if (!isAbsolute(path)) throw new JailError(`refusing to run ${path}: not an absolute path`);
  if (!(options.timeout > 0)) throw new JailError(`refusing to run ${path} without a time limit`);
  const result = spawnSync(path, args, {
    env: options.env ?? {},
    stdio: ['ignore', options.stdout ?? 'ignore', options.stderr ?? 'ignore', ...(options.fds ?? [])],
    encoding: 'utf8',
    timeout: options.timeout,
    // Only those given: spawnSync takes an explicit undefined maxBuffer as no limit at all.
    ...(options.killSignal !== undefined && { killSignal: options.killSignal }),
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    ...(options.maxBuffer !== undefined && { maxBuffer: options.maxBuffer }),
  });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

/** The first line of why a program failed: the reason it could not run, or what it said on stderr. */
function firstLineOfWhy(outcome: RunOutcome): string {
  return (outcome.error?.message ?? outcome.stderr).trim().split('\n')[0];
}

/**
 * Runs a program an administrator works in (their editor, for `config edit`)
 * on the terminal they called from: the same rule of an absolute path, the
 * environment the caller gives, and the caller's stdin, stdout and stderr.
 * No time limit: a person decides when it ends; no login waits on it.
 * Returns its exit status, null when a signal ended it; throws when it could not start.
 */
export function runInteractive(path: string, args: readonly string[], env: Record<string, string>): number | null {
  if (!isAbsolute(path)) throw new JailError(`refusing to run ${path}: not an absolute path`);
  const result = spawnSync(path, args, { env, stdio: 'inherit' });
  if (result.error !== undefined) throw new JailError(`${path} could not be started: ${result.error.message}`);
  return result.status;
}
