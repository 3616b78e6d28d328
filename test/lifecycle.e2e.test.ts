import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { ORPHANS_DIR, SCRATCH_IMAGES } from '../src/host/paths';
import { withConfig } from './support/config';
import { jailedUsers, loginAs, spawnLogin } from './support/fixtures';
import { requireHost, run, sh, waitFor } from './support/host';
import { jailOf, type TestUser } from './support/users';

const CLI = '/usr/sbin/docker-jail';
const cli = (...args: string[]) => run(CLI, args);
const inspect = (id: string, format: string) => sh(`docker inspect -f '${format}' ${id}`).trim();
const running = (user: TestUser) => inspect(jailOf(user), '{{.State.Running}}') === 'true';
const startedAt = (user: TestUser) => inspect(jailOf(user), '{{.State.StartedAt}}');
const sessionHeld = (user: TestUser, command: string) => () => jailOf(user) !== '' && sh(`docker top ${jailOf(user)} -eo pid,args`).includes(command);

describe('docker-jail stop, start, restart and recreate USER', function () {
  this.timeout(240_000);
  const users = jailedUsers();

  before(() => requireHost('docker', 'su'));

  it('stops, starts and restarts an idle jail (the same container); a login after each works', () => {
    const user = users.make();
    assert.equal(loginAs(user, 'true').status, 0);
    const id = jailOf(user);

    const stopped = cli('stop', user.name);
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.equal(stopped.stdout, `${user.name}: jail jail-${user.name} stopped\n`);
    assert.equal(running(user), false);
    assert.equal(cli('stop', user.name).stdout, `${user.name}: jail jail-${user.name} is already stopped\n`);

    const started = cli('start', user.name);
    assert.equal(started.status, 0, started.stderr);
    assert.equal(started.stdout, `${user.name}: jail jail-${user.name} started\n`);
    assert.equal(running(user), true);
    assert.equal(jailOf(user), id);
    assert.equal(cli('start', user.name).stdout, `${user.name}: jail jail-${user.name} is already running\n`);

    const before = startedAt(user);
    const restarted = cli('restart', user.name);
    assert.equal(restarted.status, 0, restarted.stderr);
    assert.equal(running(user), true);
    assert.equal(jailOf(user), id);
    assert.notEqual(startedAt(user), before, 'restart did not start the jail anew');
    assert.equal(loginAs(user, 'echo back').stdout, 'back\n');
  });

  it('recreates a jail as a new container on the current config; the home and /tmp survive, and so does its /tmp image', async () => {
    const user = users.make();
    assert.equal(loginAs(user, 'echo home > ~/kept; echo tmp > /tmp/kept; echo vartmp > /var/tmp/kept').status, 0);
    const before = jailOf(user);
    const image = `${SCRATCH_IMAGES}/${user.uid}.img`;
    const inode = sh(`stat -c %i ${image}`).trim();
    await withConfig('[jail]\nmemory_limit = 300m\npids_limit = 123\n', () => {
      const recreated = cli('recreate', user.name);
      assert.equal(recreated.status, 0, recreated.stderr);
      assert.equal(recreated.stdout, `${user.name}: jail jail-${user.name} recreated on the current image and config (home and /tmp kept)\n`);
      const after = jailOf(user);
      assert.notEqual(after, before, 'the same container was kept');
      assert.equal(run('/usr/bin/docker', ['inspect', before]).status, 1, 'the old container is still there');
      assert.equal(inspect(after, '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.State.Running}}'), `${300 * 1024 * 1024} 123 true`);
      assert.equal(loginAs(user, 'cat ~/kept /tmp/kept /var/tmp/kept').stdout, 'home\ntmp\nvartmp\n');
    });
    assert.equal(sh(`stat -c %i ${image}`).trim(), inode, "the jail's /tmp image was made anew");
    // With no image to make it from, the jail is kept, not removed.
    const current = jailOf(user);
    await withConfig('[jail]\nimage = djtest/never-built:1\n', () => {
      const refused = cli('recreate', user.name);
      assert.equal(refused.status, 69, refused.stderr);
      assert.match(
        refused.stderr,
        /^docker-jail: the jail image djtest\/never-built:1 is not built, so the jail is kept; build it: docker-jail image build\n$/,
      );
    });
    assert.equal(jailOf(user), current);
    // A stopped jail is recreated too, and left stopped.
    assert.equal(cli('stop', user.name).status, 0);
    const stoppedId = jailOf(user);
    assert.equal(cli('recreate', user.name).status, 0);
    assert.notEqual(jailOf(user), stoppedId);
    assert.equal(running(user), false);
    assert.equal(loginAs(user, 'cat /tmp/kept').stdout, 'tmp\n');
  });

  it('refuses to stop, restart or recreate a jail with a session open, saying so, and does with --force', async () => {
    const user = users.make();
    const session = spawnLogin(user, 'sleep 300');
    const closed = new Promise((resolve) => session.on('close', resolve));
    try {
      await waitFor('the session', sessionHeld(user, 'sleep 300'), 20_000);
      const id = jailOf(user);
      for (const verb of ['stop', 'restart', 'recreate']) {
        const refused = cli(verb, user.name);
        assert.equal(refused.status, 1, `${verb}: ${refused.stdout}${refused.stderr}`);
        assert.match(
          refused.stderr,
          new RegExp(
            `^docker-jail: ${user.name}: jail jail-${user.name} is busy \\(1 session open, \\d+ process(es)? of theirs running\\); ${verb} ends them: add --force`,
          ),
        );
        assert.equal(jailOf(user), id);
        assert.equal(running(user), true);
        assert.ok(sessionHeld(user, 'sleep 300')(), `${verb} ended the session`);
      }
      const forced = cli('stop', '--force', user.name);
      assert.equal(forced.status, 0, forced.stderr);
      assert.match(forced.stdout, /stopped \(--force: it had 1 session open/);
      assert.equal(running(user), false);
      await closed; // the login ends with its jail
      assert.equal(loginAs(user, 'echo back').stdout, 'back\n');
    } finally {
      session.kill();
    }
  });

  it('recreates a busy jail with --force, the home kept', async () => {
    const user = users.make();
    const session = spawnLogin(user, 'echo mine > ~/kept; exec sleep 301');
    const closed = new Promise((resolve) => session.on('close', resolve));
    try {
      await waitFor('the session', sessionHeld(user, 'sleep 301'), 20_000);
      const id = jailOf(user);
      const forced = cli('recreate', '--force', user.name);
      assert.equal(forced.status, 0, forced.stderr);
      assert.notEqual(jailOf(user), id);
      await closed;
      assert.equal(loginAs(user, 'cat ~/kept').stdout, 'mine\n');
    } finally {
      session.kill();
    }
  });

  it('refuses root, an exempt user, a user outside the jail group, an unknown user and a user without a jail, with one line each', () => {
    const admin = users.make({ groups: ['admins'], shell: '/bin/bash' });
    const outside = users.make({ groups: [], shell: '/bin/bash' });
    const jailless = users.make();
    // A container that merely carries the user's jail's name is never theirs: never touched.
    const impostor = sh(`docker create --name jail-${jailless.name} docker-jail/base:bookworm sleep 1000`).trim();
    try {
      const cases: [string, number, RegExp][] = [
        ['root', 77, /^docker-jail: root is never jailed: it has no jail to VERB\n$/],
        [admin.name, 77, new RegExp(`^docker-jail: ${admin.name} is in the exempt group admins and is never jailed: no jail to VERB\\n$`)],
        [outside.name, 77, new RegExp(`^docker-jail: ${outside.name} is not in the group jailed, so not jailed: no jail to VERB `)],
        ['djt-no-such-user', 2, /^docker-jail: no such user: djt-no-such-user\n$/],
        [jailless.name, 1, new RegExp(`^docker-jail: ${jailless.name} has no jail \\(it is made at their next login`)],
      ];
      for (const verb of ['stop', 'start', 'restart', 'recreate']) {
        for (const [name, status, message] of cases) {
          const refused = cli(verb, name);
          assert.equal(refused.status, status, `${verb} ${name}: ${refused.stderr}`);
          assert.match(refused.stderr, new RegExp(message.source.replace('VERB', verb)), `${verb} ${name}`);
          assert.equal(refused.stderr.split('\n').length, 2, `${verb} ${name}: not one line: ${refused.stderr}`);
          assert.equal(refused.stdout, '');
        }
      }
      assert.equal(inspect(impostor, '{{.State.Status}}'), 'created');
      assert.equal(jailOf(jailless), '');
    } finally {
      sh(`docker rm -f ${impostor} >/dev/null`);
    }
  });

  it("refuses in shared mode, naming it: a shared jail is every user's", async () => {
    const user = users.make();
    await withConfig('[jail]\nmode = shared\n', () => {
      const refused = cli('stop', user.name);
      assert.equal(refused.status, 77, refused.stderr);
      assert.equal(
        refused.stderr,
        `docker-jail: [jail] mode is shared: the jail of ${user.name} is every jailed user's; docker-jail stop acts on per-user jails only\n`,
      );
    });
  });
});

describe('docker-jail gc --dry-run and image update --dry-run', function () {
  this.timeout(240_000);
  const users = jailedUsers();

  before(() => requireHost('docker', 'su', 'gpasswd'));

  it('print what gc and image update would do to each jail, and change nothing', async () => {
    const idle = users.make();
    const orphan = users.make();
    const busy = users.make();
    for (const user of [idle, orphan]) assert.equal(loginAs(user, 'true').status, 0);
    sh(`gpasswd -d ${orphan.name} jailed >/dev/null`);
    const session = spawnLogin(busy, 'sleep 302');
    try {
      await waitFor('the busy session', sessionHeld(busy, 'sleep 302'), 20_000);
      const state = () => [idle, orphan, busy].map((u) => `${jailOf(u)} ${inspect(jailOf(u), '{{.State.Status}} {{.State.StartedAt}}')}`);
      const before = state();
      const marks = () => (existsSync(ORPHANS_DIR) ? readdirSync(ORPHANS_DIR).sort() : []);
      const marksBefore = marks();

      await withConfig('[session]\nidle_stop = 1\n[gc]\ngrace = 0\n', () => {
        const dry = cli('gc', '--dry-run');
        assert.equal(dry.status, 0, dry.stderr);
        assert.match(dry.stdout, /^dry run: nothing is changed; gc would do this now:\n/);
        assert.match(dry.stdout, new RegExp(`^jail-${idle.name}: would be stopped \\(idle for \\d+ s\\)$`, 'm'));
        assert.match(dry.stdout, new RegExp(`^jail-${orphan.name}: would be removed with its /tmp and /var/tmp \\(owner uid ${orphan.uid} is gone`, 'm'));
        assert.match(dry.stdout, new RegExp(`^jail-${busy.name}: nothing to do \\(running, busy\\)$`, 'm'));
      });
      await withConfig('[gc]\ngrace = 1h\n', () => {
        // A grace period that would start now: said, but its mark not written.
        assert.match(
          cli('gc', '--dry-run').stdout,
          new RegExp(`^jail-${orphan.name}: owner uid ${orphan.uid} is gone or no longer jailed; removed after the grace period \\(3600 s left\\)$`, 'm'),
        );
      });
      const update = cli('image', 'update', '--dry-run');
      assert.equal(update.status, 0, update.stderr);
      assert.match(update.stdout, /^dry run: nothing is changed; image update would rebuild /);
      assert.match(update.stdout, new RegExp(`^jail-${idle.name}: nothing to do \\(running\\)$`, 'm'));

      assert.deepEqual(state(), before, 'a dry run changed a jail');
      assert.deepEqual(marks(), marksBefore, 'a dry run wrote a grace mark');
      assert.ok(existsSync(`${SCRATCH_IMAGES}/${orphan.uid}.img`), "a dry run removed the orphan's /tmp image");
    } finally {
      session.kill();
    }
  });
});
