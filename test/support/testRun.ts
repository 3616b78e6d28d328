import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

/**
 * Which test run made a user: the GECOS of every user the tests make says
 * `docker-jail test run=PID.START` (the mocha process's pid and start time, so
 * a reused pid is not taken for a live run), and the run's ledger lists each
 * user it made, by name and uid, until it removes them. A run that crashed
 * leaves both, and `npx tsx test/support/sweep.ts` removes what it made.
 */

/** Where each run lists the users it made: kept apart from docker-jail's own state, which purge removes. */
export const LEDGER_DIR = '/var/lib/docker-jail-test/runs';

/** The GECOS prefix of a test user; the run id follows. */
export const RUN_COMMENT_PREFIX = 'docker-jail-test run=';

/** A process's start time (clock ticks since boot), field 22 of /proc/PID/stat; null when it is gone. */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** This mocha process's run id, made once. */
export const RUN_ID = `${process.pid}.${startTimeOf(process.pid) ?? '0'}`;

export const RUN_COMMENT = `${RUN_COMMENT_PREFIX}${RUN_ID}`;

/** Whether the run that made `runId` is still running. */
export function runIsAlive(runId: string): boolean {
  const [pid, start] = runId.split('.');
  return /^\d+$/.test(pid ?? '') && startTimeOf(Number(pid)) === start;
}

export interface MadeUser {
  name: string;
  uid: number;
}

/** Notes in this run's ledger that it made the user (before anything can fail half-way). */
export function recordMade(user: MadeUser): void {
  mkdirSync(LEDGER_DIR, { recursive: true, mode: 0o700 });
  appendFileSync(`${LEDGER_DIR}/${RUN_ID}`, `+ ${user.name} ${user.uid}\n`);
}

/** Notes that the user and everything of theirs is gone. */
export function recordRemoved(user: MadeUser): void {
  try {
    appendFileSync(`${LEDGER_DIR}/${RUN_ID}`, `- ${user.name} ${user.uid}\n`);
  } catch {
    // not made by this run's createUser: nothing to note
  }
}

/** The users a run's ledger lists as made and not yet removed. */
export function leftBy(runId: string): MadeUser[] {
  let text = '';
  try {
    text = readFileSync(`${LEDGER_DIR}/${runId}`, 'utf8');
  } catch {
    return [];
  }
  const left = new Map<string, MadeUser>();
  for (const line of text.split('\n')) {
    const [mark, name, uid] = line.split(' ');
    if (name === undefined || !/^\d+$/.test(uid ?? '')) continue;
    if (mark === '+') left.set(`${name} ${uid}`, { name, uid: Number(uid) });
    else if (mark === '-') left.delete(`${name} ${uid}`);
  }
  return [...left.values()];
}

export function forgetRun(runId: string): void {
  rmSync(`${LEDGER_DIR}/${runId}`, { force: true });
}

// A run that removed everything it made needs no ledger; one that did not keeps it for the sweep.
process.on('exit', () => {
  if (leftBy(RUN_ID).length === 0) forgetRun(RUN_ID);
});
