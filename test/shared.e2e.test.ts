import assert from 'node:assert/strict';
import { SHARED_ROOT } from '../src/host/paths';
import { LABEL_SHARED } from '../src/jail/labels';
import { withConfig } from './support/config';
import { jailedUser, jailedUsers, loginAs } from './support/fixtures';
import { requireHost, sh } from './support/host';
import type { TestUser } from './support/users';

const SHARED_CONFIG = '[jail]\nmode = shared\nname_template = djt-shared-jail\nhostname_template = shared-jail\n';

describe('shared mode: one jail for every jailed user', function () {
  this.timeout(120_000);
  // Registered before the users' teardown: the shared jail goes first, then each user with their staged home.
  after(() => sh('docker rm -f djt-shared-jail >/dev/null 2>&1 || true'));
  const users = jailedUsers();
  let ann: TestUser;
  let ben: TestUser;

  before(() => {
    requireHost('docker', 'su');
    ann = users.make();
    ben = users.make();
    sh(`chmod 0700 ${ann.home} ${ben.home}`);
  });

  it('puts both users in the same container, each as themselves, each in their own home', async () => {
    await withConfig(SHARED_CONFIG, () => {
      const first = loginAs(ann, 'echo "$(hostname) $(id -un) $(id -u) $(pwd)"; echo ann-was-here > ~/note');
      assert.equal(first.status, 0, first.stderr);
      assert.equal(first.stdout, `shared-jail ${ann.name} ${ann.uid} ${ann.home}\n`);
      // Ben's home is mounted into the running jail when he first logs in.
      const second = loginAs(ben, 'echo "$(hostname) $(id -un) $(id -u) $(pwd)"; cat /proc/1/cgroup | md5sum');
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stdout, new RegExp(`^shared-jail ${ben.name} ${ben.uid} ${ben.home}\\n`));
      assert.equal(sh(`docker ps -q --filter label=${LABEL_SHARED}=true`).trim().split('\n').length, 1);
      assert.equal(sh(`cat ${ann.home}/note`), 'ann-was-here\n');
    });
  });

  it('keeps both users named in the jail, whoever logged in last', async () => {
    await withConfig(SHARED_CONFIG, () => {
      const result = loginAs(ann, `id -un ${ben.uid} 2>/dev/null || getent passwd ${ben.uid} | cut -d: -f1; id -un`);
      assert.equal(result.stdout, `${ben.name}\n${ann.name}\n`);
    });
  });

  it("lets Unix permissions keep each user out of the other's home", async () => {
    await withConfig(SHARED_CONFIG, () => {
      const result = loginAs(ben, `cat ${ann.home}/note`);
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /Permission denied/);
    });
  });

  it('mounts each home nosuid,nodev and nothing else of the host', async () => {
    await withConfig(SHARED_CONFIG, () => {
      const mounts = loginAs(ann, `grep ${SHARED_ROOT} /proc/self/mounts`).stdout;
      assert.match(mounts, new RegExp(`${SHARED_ROOT}/${ann.uid} \\S+ \\S*nosuid,nodev`));
      assert.equal(loginAs(ann, 'ls /var/run/docker.sock 2>&1 >/dev/null | grep -c "No such file"').stdout, '1\n');
    });
  });
});

describe('shared mode: a home staged while the shared jail runs', function () {
  this.timeout(120_000);
  // no-new-privileges off, so only the mount's nosuid stands between a setuid-root file and root in the jail.
  const CONFIG = '[jail]\nmode = shared\nname_template = djt-shared-late\nhostname_template = shared-jail\nno_new_privileges = no\n';

  before(() => {
    requireHost('docker', 'su');
    sh('docker rm -f djt-shared-late >/dev/null 2>&1 || true');
  });
  // Registered before the users' own: the shared jail goes first, then each user with their staged home.
  after(() => sh('docker rm -f djt-shared-late >/dev/null 2>&1 || true'));
  const first = jailedUser();
  const late = jailedUser();
  const upgraded = jailedUser();

  it('reaches the running jail nosuid,nodev: a setuid-root file in it does not run as root', async () => {
    await withConfig(CONFIG, () => {
      assert.equal(loginAs(first, 'true').status, 0);
      const started = sh('docker inspect -f {{.State.StartedAt}} djt-shared-late').trim();
      // The late user's home is staged now, while the jail runs, and reaches it by propagation.
      const seen = loginAs(late, `cp /usr/bin/id ~/euid; grep ' ${SHARED_ROOT}/${late.uid} ' /proc/self/mountinfo`);
      assert.equal(seen.status, 0, seen.stderr);
      assert.equal(
        sh('docker inspect -f {{.State.StartedAt}} djt-shared-late').trim(),
        started,
        'the jail was restarted: the home was not staged into a running jail',
      );
      const mounts = seen.stdout.trim().split('\n');
      assert.ok(mounts.length > 0 && mounts[0] !== '', 'the home is not mounted in the jail');
      for (const line of mounts) {
        const options = line.split(' ')[5].split(',');
        assert.ok(options.includes('nosuid') && options.includes('nodev'), `the home reached the jail as ${options.join(',')}`);
      }
      // Root makes the copy of the jail's own id(1) setuid root, in the late user's home.
      sh(`chown root:root ${late.home}/euid && chmod 4755 ${late.home}/euid`);
      // Not the session's own process (which the login checks): a command the shell runs.
      const euid = loginAs(late, 'euid=$(~/euid -u); echo "$euid"');
      assert.equal(euid.status, 0, euid.stderr);
      assert.equal(euid.stdout, `${late.uid}\n`, 'a setuid-root file in the home ran as root in the jail');
    });
  });

  it('replaces a home that reached the running jail without nosuid,nodev (staged so by an older build) before the session starts', async () => {
    await withConfig(CONFIG, () => {
      assert.equal(loginAs(first, 'true').status, 0);
      const staging = `${SHARED_ROOT}/${upgraded.uid}`;
      // What the older build did: bind the home straight into the shared root (it reaches the jail as it is), then remount.
      sh(`mkdir -p ${staging} && mount --bind ${upgraded.home} ${staging} && mount -o remount,bind,nosuid,nodev ${staging}`);
      // Every mount at that path: one shared-root mount may be stacked or tucked under another in the jail.
      const result = loginAs(upgraded, `grep ' ${staging} ' /proc/self/mountinfo`);
      assert.equal(result.status, 0, result.stderr);
      for (const line of result.stdout.trim().split('\n')) {
        const options = line.split(' ')[5]?.split(',') ?? [];
        assert.ok(options.includes('nosuid') && options.includes('nodev'), `the session got the home as ${options.join(',')}`);
      }
    });
  });
});
