// Removes what crashed test runs left: every user whose GECOS names a run
// that is no longer running, and every user its ledger lists, with their
// jails and everything docker-jail keeps for their uid. Live runs are left
// alone. As root: npx tsx test/support/sweep.ts
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { run, sh } from './host';
import { ROOT_KEYS } from './sshd';
import { forgetRun, LEDGER_DIR, leftBy, type MadeUser, RUN_COMMENT_PREFIX, runIsAlive } from './testRun';
import { removeJailsAndStateOf } from './users';

/** Users of the local passwd file whose GECOS is a test run's label, by run id. */
function labelledUsers(): Map<string, MadeUser[]> {
  const byRun = new Map<string, MadeUser[]>();
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid, , gecos] = line.split(':');
    if (gecos === undefined || !gecos.startsWith(RUN_COMMENT_PREFIX)) continue;
    const runId = gecos.slice(RUN_COMMENT_PREFIX.length);
    byRun.set(runId, [...(byRun.get(runId) ?? []), { name, uid: Number(uid) }]);
  }
  return byRun;
}

function ledgers(): string[] {
  try {
    return readdirSync(LEDGER_DIR);
  } catch {
    return []; // no run has kept one
  }
}

/** Removes the user if the account is still theirs, and their jails (by uid and name) either way. */
function sweepUser(user: MadeUser): void {
  const owner = run('/usr/bin/getent', ['passwd', String(user.uid)]).stdout.split(':')[0];
  if (owner === user.name) sh(`pkill -KILL -u ${user.uid} || true; userdel --remove ${user.name} 2>/dev/null || true`);
  removeJailsAndStateOf(user.uid, user.name);
  rmSync(`${ROOT_KEYS}/${user.name}`, { force: true });
}

function sweep(): void {
  if (process.getuid?.() !== 0) throw new Error('sweep: run as root');
  const labelled = labelledUsers();
  const runs = new Set([...labelled.keys(), ...ledgers()]);
  for (const runId of runs) {
    if (runIsAlive(runId)) {
      console.log(`run ${runId}: still running; left alone`);
      continue;
    }
    const users = new Map<string, MadeUser>();
    for (const user of [...(labelled.get(runId) ?? []), ...leftBy(runId)]) users.set(`${user.name} ${user.uid}`, user);
    for (const user of users.values()) {
      sweepUser(user);
      console.log(`run ${runId}: removed ${user.name} (uid ${user.uid}) and their jails`);
    }
    forgetRun(runId);
  }
}

sweep();
