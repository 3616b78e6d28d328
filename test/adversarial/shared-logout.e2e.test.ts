import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { SHARED_ROOT, SHARED_USERS_DIR } from '../../src/host/paths';
import { withConfig } from '../support/config';
import { requireHost, run, sh, waitFor } from '../support/host';
import { createUser, removeScratchOf, removeUser, type TestUser } from '../support/users';

const JAIL = 'djt-shared-logout';
const CONFIG = `[jail]\nmode = shared\nname_template = ${JAIL}\nhostname_template = shared-logout\n[session]\nidle_stop = 0\n`;

/** Runs a command as the user through su, PAM (open and close_session) and jailsh. */
function as(user: TestUser, command: string) {
  return run('/bin/su', ['-l', user.name, '-c', command], { timeout: 60_000 });
}

function jailRunning(): boolean {
  return run('/usr/bin/docker', ['inspect', '-f', '{{.State.Running}}', JAIL]).stdout.trim() === 'true';
}

/** Whether a process of the user with exactly these arguments runs in the shared jail. */
function runsInJail(user: TestUser, args: string): boolean {
  if (!jailRunning()) return false;
  // docker top needs the pid column to pick the jail's processes.
  return run('/usr/bin/docker', ['top', JAIL, '-eo', 'pid,uid,args'])
    .stdout.split('\n')
    .some((line) => {
      const [, uid, ...command] = line.trim().split(/\s+/);
      return uid === String(user.uid) && command.join(' ') === args;
    });
}

/**
 * Shared mode with idle_stop = 0: the jail is everyone's, so one user's
 * logout must not stop it while anyone else has a session or a job in it
 * (which would kill them). Only when nothing of anyone is left does it stop.
 */
describe("shared mode, idle_stop = 0: a logout never stops the jail under another user's session or job", function () {
  this.timeout(180_000);
  let ann: TestUser;
  let ben: TestUser;
  let cid: TestUser;

  before(() => {
    requireHost('docker', 'su');
    sh(`docker rm -f ${JAIL} >/dev/null 2>&1 || true`);
    ann = createUser();
    ben = createUser();
    cid = createUser();
  });
  after(() => {
    sh(`docker rm -f ${JAIL} >/dev/null 2>&1 || true`);
    removeScratchOf('shared');
    for (const user of [ann, ben, cid]) {
      if (!user) continue;
      removeUser(user);
      sh(`umount -l ${SHARED_ROOT}/${user.uid} 2>/dev/null || true; rm -f ${SHARED_USERS_DIR}/${user.uid}.json`);
    }
  });

  it("keeps the jail, a session and a nohup'd job of others across logouts; stops it once no one is left", async () => {
    await withConfig(CONFIG, async () => {
      const annSleep = 'sleep 3131';
      const benJob = 'sleep 3232';
      const session = spawn('/bin/su', ['-l', ann.name, '-c', annSleep], { stdio: 'ignore' });
      try {
        await waitFor("ann's session in the shared jail", () => runsInJail(ann, annSleep), 30_000);
        // Ben leaves a job behind, and no session.
        const job = as(ben, `nohup ${benJob} >/dev/null 2>&1 & echo started`);
        assert.equal(job.stdout, 'started\n', job.stderr);
        assert.ok(runsInJail(ben, benJob), "ben's job did not survive his own logout");

        // Cid comes and goes while ann is logged in and ben's job runs.
        assert.equal(as(cid, 'echo cid-in').stdout, 'cid-in\n');
        assert.ok(jailRunning(), "cid's logout stopped the shared jail");
        assert.ok(runsInJail(ann, annSleep), "cid's logout ended ann's session");
        assert.ok(runsInJail(ben, benJob), "cid's logout killed ben's job");

        // Ann's session ends: only ben's job is left, which still keeps the jail.
        sh(`pkill -u ${ann.uid} -xf '${annSleep}'`);
        await new Promise((resolve) => (session.exitCode !== null ? resolve(null) : session.once('exit', resolve)));
        assert.ok(jailRunning(), "ann's logout stopped the shared jail under ben's job");
        assert.ok(runsInJail(ben, benJob), "ann's logout killed ben's job");

        // Control: with ben's job gone, the next logout leaves no one, and the jail stops.
        sh(`pkill -u ${ben.uid} -xf '${benJob}'`);
        await waitFor("ben's job to end", () => !runsInJail(ben, benJob), 10_000);
        assert.equal(as(cid, 'echo cid-again').stdout, 'cid-again\n');
        await waitFor('the shared jail to stop after the last logout', () => !jailRunning(), 15_000);
      } finally {
        session.kill('SIGKILL');
      }
    });
  });
});
