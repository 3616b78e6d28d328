import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { IDENTITY_CACHE, LOCK_DIR, ORPHANS_DIR, SCRATCH_IMAGES } from '../src/host/paths';
import { withConfig } from './support/config';
import { jailedUsers, loginAs, loginAsync, spawnLogin } from './support/fixtures';
import { type Ran, requireHost, run, sh, sleep, waitFor } from './support/host';
import { Terminal } from './support/pty';
import { jailOf, type TestUser } from './support/users';

const gc = () => run('/usr/sbin/docker-jail', ['gc']);
const running = (user: TestUser) => sh(`docker inspect -f '{{.State.Running}}' ${jailOf(user)}`).trim() === 'true';

describe("docker-jail gc and image update: the jails' lifecycle", function () {
  this.timeout(240_000);
  const users = jailedUsers();

  before(() => requireHost('docker', 'su', 'userdel', 'gpasswd', 'systemd-analyze'));

  it('removes the jail of a user removed with userdel once the grace period is over, never the home', async () => {
    const user = users.make();
    assert.equal(loginAs(user, 'true').status, 0);
    sh(`pkill -KILL -u ${user.uid} || true; userdel ${user.name}`);
    await withConfig('[gc]\ngrace = 1h\n', () => {
      const waiting = gc();
      assert.equal(waiting.status, 0, waiting.stderr);
      assert.match(waiting.stdout, new RegExp(`jail-${user.name}: owner uid ${user.uid} is gone or no longer jailed; removed after the grace period`));
      assert.notEqual(jailOf(user), '');
    });
    await withConfig('[gc]\ngrace = 0\n', () => {
      assert.match(
        gc().stdout,
        new RegExp(`jail-${user.name}: removed with its /tmp and /var/tmp \\(owner uid ${user.uid} is gone or no longer jailed; the home is kept\\)`),
      );
    });
    assert.equal(jailOf(user), '');
    assert.ok(!existsSync(`${SCRATCH_IMAGES}/${user.uid}.img`), "the jail's /tmp filesystem was kept");
    assert.ok(existsSync(`${user.home}/.ssh`), 'the home was touched');
    sh(`rm -rf ${user.home}`);
  });

  it('starts the grace period anew when its mark is damaged, instead of removing at once', async () => {
    const user = users.make();
    assert.equal(loginAs(user, 'true').status, 0);
    const jail = sh(`docker inspect -f '{{.Id}}' ${jailOf(user)}`).trim();
    sh(`gpasswd -d ${user.name} jailed >/dev/null`);
    await withConfig('[gc]\ngrace = 1h\n', () => {
      for (const damage of ['', 'junk', String(Date.now() + 86_400_000)]) {
        writeFileSync(`${ORPHANS_DIR}/${jail}`, damage);
        assert.match(gc().stdout, /removed after the grace period \((359\d|3600) s left\)/, `mark ${JSON.stringify(damage)}`);
        assert.notEqual(jailOf(user), '', `the jail went with a mark of ${JSON.stringify(damage)}`);
      }
    });
  });

  it('treats a jail whose uid now belongs to another user (userdel, useradd) as an orphan', async () => {
    const user = users.make();
    assert.equal(loginAs(user, 'true').status, 0);
    sh(
      `pkill -KILL -u ${user.uid} || true; userdel ${user.name}; useradd --uid ${user.uid} --no-create-home --groups jailed --shell /usr/bin/jailsh ${user.name}x`,
    );
    try {
      await withConfig('[gc]\ngrace = 0\n', () => {
        assert.match(gc().stdout, new RegExp(`jail-${user.name}: removed with its /tmp and /var/tmp \\(owner uid ${user.uid} is gone or no longer jailed`));
      });
      assert.equal(jailOf(user), '');
    } finally {
      sh(`userdel ${user.name}x; rm -rf ${user.home}`);
    }
  });

  it('handles every other jail when one cannot be handled, and says which with a non-zero exit', async () => {
    const stuck = users.make();
    const idle = users.make();
    assert.equal(loginAs(stuck, 'true').status, 0);
    assert.equal(loginAs(idle, 'true').status, 0);
    // A login that never lets go of the stuck jail's lock (longer than gc waits for it).
    const holder = spawn('/usr/bin/flock', ['--exclusive', `${LOCK_DIR}/uid-${stuck.uid}`, 'sleep', '30'], { stdio: 'ignore' });
    try {
      await sleep(2500);
      await withConfig('[session]\nidle_stop = 2\n', () => {
        const result = gc();
        assert.equal(result.status, 1, result.stdout + result.stderr);
        assert.match(result.stdout, new RegExp(`jail-${stuck.name}: not handled: `));
        assert.match(result.stdout, new RegExp(`jail-${idle.name}: stopped \\(idle for \\d+ s\\)`));
      });
      assert.equal(running(idle), false);
    } finally {
      holder.kill();
    }
  });

  it('removes the jail of a user who is no longer jailed, and keeps those of jailed users', async () => {
    const gone = users.make();
    const kept = users.make();
    assert.equal(loginAs(gone, 'true').status, 0);
    assert.equal(loginAs(kept, 'true').status, 0);
    sh(`gpasswd -d ${gone.name} jailed >/dev/null`);
    await withConfig('[gc]\ngrace = 0\n', () => gc());
    assert.equal(jailOf(gone), '');
    assert.notEqual(jailOf(kept), '');
  });

  it("stops a jail idle longer than idle_stop, but not one with a session or a nohup'd job; the next login starts it", async () => {
    const idle = users.make();
    const busy = users.make();
    const jobs = users.make();
    assert.equal(loginAs(idle, 'true').status, 0);
    assert.equal(loginAs(jobs, 'nohup sleep 300 >/dev/null 2>&1 &').status, 0);
    const session = spawnLogin(busy, 'sleep 8');
    await waitFor('the busy session', () => jailOf(busy) !== '' && sh(`docker top ${jailOf(busy)} -eo pid,args`).includes('sleep 8'), 20_000);
    await sleep(2200);
    await withConfig('[session]\nidle_stop = 2\n', () => {
      const result = gc();
      assert.match(result.stdout, new RegExp(`jail-${idle.name}: stopped \\(idle for \\d+ s\\)`));
    });
    assert.equal(running(idle), false);
    assert.equal(running(busy), true);
    assert.equal(running(jobs), true);
    session.kill();
    assert.equal(loginAs(idle, 'echo back').stdout, 'back\n');
  });

  it('forgets the passwd and group it wrote into containers that are gone, and keeps those of jails that exist', () => {
    const [kept, removed] = [users.make(), users.make()];
    for (const user of [kept, removed]) assert.equal(loginAs(user, 'true').status, 0);
    const cacheOf = (id: string) => `${IDENTITY_CACHE}/${id}`;
    const [keptId, removedId] = [kept, removed].map((user) => sh(`docker inspect -f '{{.Id}}' ${jailOf(user)}`).trim());
    for (const id of [keptId, removedId]) assert.ok(existsSync(cacheOf(id)), `no identity cache for ${id}`);
    sh(`docker rm -f ${removedId} >/dev/null`);
    const result = gc();
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!existsSync(cacheOf(removedId)), 'the cache of a removed container was kept');
    assert.ok(existsSync(cacheOf(keptId)), 'the cache of an existing jail was removed');
    // The next login of each works; the removed one's jail is made anew and written again.
    for (const user of [kept, removed]) assert.equal(loginAs(user, 'id -un').stdout, `${user.name}\n`);
  });

  it('removes dangling images of docker-jail and nothing else', () => {
    const base = 'docker-jail/base:bookworm';
    sh(`docker tag ${base} djtest/gc:1`);
    const container = sh(`docker create djtest/gc:1 true`).trim();
    sh(`docker commit --change 'LABEL djtest=one' ${container} djtest/gc:1 >/dev/null`);
    const first = sh(`docker image inspect -f '{{.Id}}' djtest/gc:1`).trim();
    sh(`docker commit --change 'LABEL djtest=two' ${container} djtest/gc:1 >/dev/null; docker rm ${container} >/dev/null`);
    // `first` now has no tag: a dangling image labelled as docker-jail's (it inherits the base image's label).
    assert.match(sh(`docker images -q --no-trunc --filter dangling=true`), new RegExp(first));
    const result = gc();
    assert.match(result.stdout, new RegExp(`image ${first.slice(7, 19)}: removed \\(dangling\\)`));
    assert.equal(run('/usr/bin/docker', ['image', 'inspect', first]).status, 1);
    assert.equal(run('/usr/bin/docker', ['image', 'inspect', base]).status, 0);
    sh('docker rmi djtest/gc:1 >/dev/null');
  });

  it('never lets a login land in a jail gc removes or stops: racing logins all succeed', async () => {
    const user = users.make();
    assert.equal(loginAs(user, 'true').status, 0);
    await withConfig('[session]\nidle_stop = 0\n[gc]\ngrace = 0\n', async () => {
      const racers = Array.from(
        { length: 6 },
        (_, i) =>
          new Promise<number | null>((resolve) => {
            const child = spawnLogin(user, `echo ok-${i}`);
            child.on('close', resolve);
          }),
      );
      const gcs = Array.from({ length: 3 }, () => new Promise((resolve) => spawn('/usr/sbin/docker-jail', ['gc'], { stdio: 'ignore' }).on('close', resolve)));
      const statuses = await Promise.all(racers);
      await Promise.all(gcs);
      assert.deepEqual(statuses, [0, 0, 0, 0, 0, 0]);
    });
  });

  it('image update, on a terminal: shows progress, recreates idle jails at once and busy ones when their last session ends; logins racing it all work; homes kept', async function () {
    this.timeout(420_000);
    const idle = users.make();
    const busy = users.make();
    const racer = users.make();
    const config = '[jail]\nimage = djtest/update:1\n[image]\npackages = procps\n';
    await withConfig(config, async () => {
      sh('docker tag docker-jail/base:bookworm djtest/update:1');
      assert.equal(loginAs(idle, 'echo mine > ~/kept').status, 0);
      assert.equal(loginAs(racer, 'echo racer > ~/kept').status, 0);
      const orphan = users.make();
      assert.equal(loginAs(orphan, 'true').status, 0);
      sh(`gpasswd -d ${orphan.name} jailed >/dev/null`);
      const orphanBefore = jailOf(orphan);
      const idleBefore = jailOf(idle);
      const session = spawnLogin(busy, 'sleep 300');
      await waitFor('the busy session', () => jailOf(busy) !== '' && sh(`docker top ${jailOf(busy)} -eo pid,args`).includes('sleep 300'), 20_000);
      const busyBefore = jailOf(busy);

      // One login after another for the whole update, the roll of the jails included.
      let updating = true;
      const racing = (async () => {
        const results: Ran[] = [];
        while (updating) results.push(await loginAsync(racer, 'cat ~/kept'));
        return results;
      })();
      const terminal = new Terminal('/usr/sbin/docker-jail', ['image', 'update']);
      const status = await Promise.race([terminal.exited, sleep(300_000).then(() => 'still running after 300 s')]);
      updating = false;
      const shown = terminal.text.replace(/\r\n/g, '\n');
      assert.equal(status, 0, shown.slice(-2000));
      assert.match(shown, /\x1b\[1m\[1\]\x1b\[0m bootstrapping Debian bookworm/);
      assert.match(shown, /\r\x1b\[K {2}\d+s debootstrap: I: (Retrieving|Validating|Extracting|Unpacking) /, 'no status line rewritten in place');
      assert.match(shown, /\[\d\]\x1b\[0m image djtest\/update:1 built\n/);

      const fresh = sh(`docker image inspect -f '{{.Id}}' djtest/update:1`).trim();
      assert.match(shown, new RegExp(`jail-${idle.name}: recreated on djtest/update:1`));
      assert.match(shown, new RegExp(`jail-${busy.name}: busy; recreated when its last session ends`));
      assert.notEqual(jailOf(idle), idleBefore);
      assert.equal(sh(`docker inspect -f '{{.Image}}' ${jailOf(idle)}`).trim(), fresh);
      assert.equal(loginAs(idle, 'cat ~/kept').stdout, 'mine\n');
      assert.equal(jailOf(busy), busyBefore, 'a busy jail was recreated under its session');
      // Its owner is no longer jailed: the jail is gc's, after the grace period, not the update's.
      assert.match(shown, new RegExp(`jail-${orphan.name}: left for gc \\(owner uid ${orphan.uid} is gone or no longer jailed\\)`));
      assert.equal(jailOf(orphan), orphanBefore);

      const raced = await racing;
      assert.ok(raced.length > 3, `only ${raced.length} logins raced the update`);
      assert.deepEqual(
        raced.filter((r) => r.status !== 0 || r.stdout !== 'racer\n'),
        [],
        'a login racing the update failed',
      );
      // Rolled at once when idle at that moment, or by the end of the racing session that made it busy.
      await waitFor("the racer's jail on the new image", () => sh(`docker inspect -f '{{.Image}}' ${jailOf(racer)}`).trim() === fresh, 15_000);

      session.kill('SIGTERM');
      await new Promise((resolve) => session.on('close', resolve));
      await waitFor('the busy jail to go with its last session', () => jailOf(busy) !== busyBefore, 15_000);
      assert.equal(loginAs(busy, 'echo back').stdout, 'back\n');
      assert.equal(sh(`docker inspect -f '{{.Image}}' ${jailOf(busy)}`).trim(), fresh);
    });
    // Every jail the test rolled onto djtest/update:1 goes with it.
    sh(`docker ps -aq --filter ancestor=djtest/update:1 | xargs -r docker rm -f >/dev/null; docker rmi -f djtest/update:1 >/dev/null 2>&1 || true`);
  });

  it('ships a systemd timer that runs gc every 15 minutes, and its service works', () => {
    const unit = '/lib/systemd/system/docker-jail-gc';
    const verified = run('/usr/bin/systemd-analyze', ['verify', `${unit}.service`, `${unit}.timer`]);
    assert.equal(verified.status, 0, verified.stderr);
    assert.equal(verified.stderr, '');
    const timer = readFileSync(`${unit}.timer`, 'utf8');
    assert.match(timer, /^OnUnitActiveSec=15min$/m);
    assert.match(timer, /^WantedBy=timers\.target$/m);
    const service = readFileSync(`${unit}.service`, 'utf8');
    assert.doesNotMatch(service, /^(PrivateTmp|ProtectSystem|PrivateMounts)=/m, 'a private mount namespace would leave staging mounts behind');
    const execStart = /^ExecStart=(.+)$/m.exec(service);
    assert.ok(execStart, 'no ExecStart');
    const [file, ...args] = execStart[1].split(' ');
    const ran = run(file, args);
    assert.equal(ran.status, 0, ran.stderr);
  });
});
