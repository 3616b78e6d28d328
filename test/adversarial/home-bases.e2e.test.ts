import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { JAILSH, STAGING_ROOT } from '../../src/host/paths';
import { withConfig } from '../support/config';
import { requireHost, run, sh } from '../support/host';
import { createUser, jailOf, removeUser, type TestUser } from '../support/users';

const CLI = '/usr/sbin/docker-jail';

/**
 * A home comes from the user database: a directory, or `useradd -d`, may name
 * any path. Root makes, opens and mounts homes only strictly below [home]
 * bases (SECURITY.md invariant 6), so such an entry cannot aim root's mkdir
 * and chown at the host's configuration.
 */
describe('homes only below [home] bases', function () {
  this.timeout(120_000);
  const users: TestUser[] = [];
  /** A jailed user (group and login shell) whose NSS home is `home`, not yet made. */
  const userWithHome = (home: (name: string) => string): TestUser => {
    const user = createUser({ home: false });
    users.push(user);
    user.home = home(user.name);
    sh(`usermod -d ${user.home} ${user.name}`);
    return user;
  };
  const asUser = (user: TestUser, ...args: string[]) =>
    run('/usr/bin/setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', JAILSH, ...args]);

  before(() => requireHost('docker', 'su', 'setpriv', 'pamtester', 'useradd', 'usermod'));
  after(() => {
    for (const user of users) {
      removeUser(user);
      rmSync(user.home, { recursive: true, force: true });
    }
  });

  it('refuses a home at /etc/systemd/system/NAME with one line and a non-zero status; nothing is made there', async () => {
    const user = userWithHome((name) => `/etc/systemd/system/${name}`);
    const refusal = `the home directory ${user.home} is not below [home] bases (/home); refused`;
    // The built-in defaults (bases = /home), so that the build before [home] bases reads the same config.
    await withConfig('# defaults\n', () => {
      // The hook alone (what PAM runs at session open), a whole login through PAM, the shell itself, and an administrator's enable --now.
      run('/usr/bin/pamtester', ['login', user.name, 'open_session'], { timeout: 30_000 });
      assert.equal(existsSync(user.home), false, 'the PAM hook made the home');

      const login = run('/bin/su', ['-l', user.name, '-c', 'echo inside']);
      assert.notEqual(login.status, 0);
      assert.equal(login.stdout, '');
      assert.equal(existsSync(user.home), false, 'a login made the home');

      const shell = asUser(user, '-c', 'echo inside');
      assert.notEqual(shell.status, 0);
      assert.equal(shell.stdout, '');
      assert.equal(shell.stderr, `jailsh: ${refusal}\n`);

      const enable = run(CLI, ['enable', '--now', user.name]);
      assert.notEqual(enable.status, 0);
      assert.equal(enable.stderr, `docker-jail: ${refusal}\n`);
    });
    assert.equal(existsSync(user.home), false);
    assert.equal(jailOf(user), '', 'a jail was made');
  });

  it('refuses a home whose path only starts like a base (/home2/x is not below /home), and one that climbs out with ..', async () => {
    const sibling = mkdtempSync('/homedjt-');
    try {
      const lookalike = userWithHome((name) => `${sibling}/${name}`);
      const climber = userWithHome((name) => `/home/../etc/systemd/system/${name}`);
      await withConfig('# defaults\n', () => {
        for (const [user, why] of [
          [lookalike, 'is not below [home] bases'],
          [climber, 'has a "." or ".." component'],
        ] as const) {
          const login = run('/bin/su', ['-l', user.name, '-c', 'echo inside']);
          assert.notEqual(login.status, 0);
          assert.equal(login.stdout, '');
          const shell = asUser(user, '-c', 'echo inside');
          assert.notEqual(shell.status, 0);
          assert.ok(shell.stderr.startsWith(`jailsh: the home directory ${user.home} ${why}`) && shell.stderr.endsWith('; refused\n'), shell.stderr);
          assert.equal(shell.stderr.split('\n').length, 2, shell.stderr);
        }
      });
      assert.equal(existsSync(lookalike.home), false);
      assert.equal(existsSync(`/etc/systemd/system/${climber.name}`), false);
    } finally {
      rmSync(sibling, { recursive: true, force: true });
    }
  });

  it('makes and uses a home below a second configured base, and refuses it again once that base is gone from the list', async () => {
    const base = mkdtempSync('/srv/djt-base-');
    sh(`chmod 0755 ${base}`);
    try {
      const user = userWithHome((name) => `${base}/${name}`);
      await withConfig(`[home]\nbases = /home ${base}/\n`, () => {
        const login = run('/bin/su', ['-l', user.name, '-c', 'pwd; id -u']);
        assert.equal(login.status, 0, login.stderr);
        assert.equal(login.stdout, `${user.home}\n${user.uid}\n`);
      });
      assert.equal(lstatSync(user.home).uid, user.uid);
      assert.notEqual(jailOf(user), '');
      await withConfig('[home]\nbases = /home\n', () => {
        const shell = asUser(user, '-c', 'echo inside');
        assert.notEqual(shell.status, 0);
        assert.equal(shell.stdout, '');
        assert.equal(shell.stderr, `jailsh: the home directory ${user.home} is not below [home] bases (/home); refused\n`);
      });
    } finally {
      for (const user of users.filter((u) => u.home.startsWith(`${base}/`))) sh(`umount -l ${STAGING_ROOT}/${user.uid} 2>/dev/null || true`);
      rmSync(base, { recursive: true, force: true });
    }
  });
});
