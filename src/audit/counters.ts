import { ExitCode, JailError } from '../errors';
import { COUNTERS_DIR } from '../host/paths';
import { addToTally, tallyOf } from '../host/stateFiles';

/**
 * How many logins started, and how many were refused and why, since the
 * package was installed (purge removes them with /var/lib/docker-jail): for
 * `docker-jail metrics`. Each is a tally of its own (host/stateFiles), one
 * byte appended per event: a login pays one small write and no read.
 */

/**
 * Why a login was refused, by the class of its error (its exit status): a
 * short, fixed list, as metric labels must be. What the launcher's arguments
 * are refused for (usage, exit 2) is decided before a login is counted or audited.
 */
export const REFUSAL_REASONS = {
  /** Not a jailed user (root, an administrator, not in the jail group), a home outside [home] bases, privileges not dropped. */
  access: ExitCode.refused,
  /** The configuration or the seccomp profile is missing, unsafe or wrong. */
  config: ExitCode.config,
  /** The engine is down, refused, or did not answer; the image is not built. */
  unavailable: ExitCode.unavailable,
  /** Anything else: the session could not be started. */
  failure: ExitCode.failure,
} as const;

export type RefusalReason = keyof typeof REFUSAL_REASONS;

const LOGINS = `${COUNTERS_DIR}/logins`;
const refusalsPath = (reason: RefusalReason) => `${COUNTERS_DIR}/refused-${reason}`;

/** The class of a login's failure, from the exit status its error carries. */
export function refusalReasonOf(error: unknown): RefusalReason {
  const status = error instanceof JailError ? error.exitCode : ExitCode.failure;
  const reason = (Object.keys(REFUSAL_REASONS) as RefusalReason[]).find((r) => REFUSAL_REASONS[r] === status);
  return reason ?? 'failure';
}

/** A session started. Best effort: a full /var/lib must not end a session that has started (as for its login time). */
export function countLogin(): void {
  try {
    addToTally(LOGINS);
  } catch {
    // see above
  }
}

/** A login refused or failed, counted where its error leaves the login; best effort, the refusal itself stands. */
export function countRefusal(error: unknown): void {
  try {
    addToTally(refusalsPath(refusalReasonOf(error)));
  } catch {
    // see above
  }
}

export interface LoginCounts {
  logins: number;
  refusals: Record<RefusalReason, number>;
}

/** Every count, each 0 until its first event. */
export function loginCounts(): LoginCounts {
  const refusals = {} as Record<RefusalReason, number>;
  for (const reason of Object.keys(REFUSAL_REASONS) as RefusalReason[]) refusals[reason] = tallyOf(refusalsPath(reason));
  return { logins: tallyOf(LOGINS), refusals };
}
