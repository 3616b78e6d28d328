import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { SCRATCH_IMAGES as IMAGES, SCRATCH_MOUNTS } from '../src/host/paths';
import { LABEL_UID } from '../src/jail/labels';
import { withConfig } from './support/config';
import { jailedUsers, loginAs } from './support/fixtures';
import { requireHost, run, sh, waitFor } from './support/host';
import { jailOf, removeScratchOf, type TestUser } from './support/users';

/**
 * A jail's /tmp and /var/tmp, the only places of its own system a jailed user
 * can write, are a filesystem of the jail's own ([jail] tmp_size): bounded, so
 * a user filling them never fills the engine's disk, and kept like the rest of
 * the jail's state (stops, engine restarts and reboots: test/isolation.e2e.test.ts
 * and test/adversarial/faults.e2e.test.ts).
 */

/** A login through su with a long timeout (the first makes the /tmp image). */
const inJail = (user: TestUser, command: string) => loginAs(user, command, { via: 'su' }, { timeout: 120_000 });

function jailSays(user: TestUser, command: string): string {
  const result = inJail(user, command);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

/** Blocks the image takes on the host's disk, in KiB. */
const allocatedKiB = (image: string) => Number(sh(`du -k ${image} | cut -f1`));

describe("each jail's /tmp and /var/tmp: a bounded filesystem of its own", function () {
  this.timeout(180_000);
  const users = jailedUsers();

  before(() => requireHost('docker', 'su', 'losetup', 'mkfs.ext4'));

  it("is made at the first login: a root-only sparse image, mounted nosuid,nodev, both directories on it, 1777 and root's", async () => {
    const user = users.make();
    await withConfig('[jail]\ntmp_size = 32m\n', () => jailSays(user, 'true'));
    const image = `${IMAGES}/${user.uid}.img`;
    assert.equal(statSync(image).size, 32 * 2 ** 20);
    assert.equal(statSync(image).mode & 0o777, 0o600);
    assert.equal(statSync(IMAGES).mode & 0o777, 0o700);
    assert.ok(allocatedKiB(image) < 4096, `a new image takes ${allocatedKiB(image)} KiB`);
    const seen = jailSays(
      user,
      'stat -c "%a %U" /tmp /var/tmp; df -B1M --output=size /tmp | tail -1; [ "$(stat -c %d /tmp)" = "$(stat -c %d /var/tmp)" ] && echo one-fs; grep -E " /(var/)?tmp " /proc/self/mountinfo | grep -c "nosuid,nodev"',
    );
    const [modes, size, same, flagged] = [seen.split('\n').slice(0, 2), Number(seen.split('\n')[2]), seen.split('\n')[3], seen.split('\n')[4]];
    assert.deepEqual(modes, ['1777 root', '1777 root']);
    assert.ok(size > 24 && size <= 32, `/tmp is ${size} MiB`);
    assert.equal(same, 'one-fs');
    assert.equal(flagged, '2');
  });

  it("a user filling it gets ENOSPC at tmp_size; the host's disk gives at most that, and gets it back when the files go", async () => {
    const user = users.make();
    await withConfig('[jail]\ntmp_size = 32m\n', () => jailSays(user, 'true'));
    const image = `${IMAGES}/${user.uid}.img`;
    const filled = inJail(user, 'cat /dev/zero > /tmp/fill; echo "status=$?"; cat /dev/zero > /var/tmp/more; echo "status=$?"; sync');
    assert.match(filled.stdout, /^status=1\nstatus=1\n$/);
    assert.match(filled.stderr, /No space left on device/);
    assert.ok(allocatedKiB(image) <= 32 * 1024, `the image takes ${allocatedKiB(image)} KiB of the host's disk`);
    assert.ok(allocatedKiB(image) > 24 * 1024, 'the filler wrote nothing');
    jailSays(user, 'rm /tmp/fill /var/tmp/more; sync; echo ok > /tmp/after');
    // Mounted with discard: what the jail deletes is given back to the host's disk.
    assert.ok(allocatedKiB(image) < 8 * 1024, `the image still takes ${allocatedKiB(image)} KiB after the files went`);
    assert.equal(jailSays(user, 'cat /tmp/after'), 'ok\n');
  });

  it("with tmp_size = 0, /tmp and /var/tmp stay in the jail's writable layer and no image is made", async () => {
    const user = users.make();
    await withConfig('[jail]\ntmp_size = 0\n', () => jailSays(user, 'echo layer > /tmp/where'));
    assert.ok(!existsSync(`${IMAGES}/${user.uid}.img`));
    const upper = sh(`docker inspect -f '{{.GraphDriver.Data.UpperDir}}' ${jailOf(user)}`).trim();
    assert.equal(sh(`cat ${upper}/tmp/where`), 'layer\n');
  });

  it('is never mounted twice: unmounted by hand under a running jail, logins go on; attached elsewhere, a login is refused with one line', async () => {
    const user = users.make();
    jailSays(user, 'echo kept > /tmp/kept');
    const image = `${IMAGES}/${user.uid}.img`;
    const mounted = `${SCRATCH_MOUNTS}/${user.uid}`;
    // An administrator unmounts it by hand: the running jail keeps its own view, and its logins go on.
    sh(`umount -l ${mounted}`);
    assert.equal(jailSays(user, 'cat /tmp/kept'), 'kept\n');
    // Stopped, the jail lets go of it; something else attaches it (a second mount would corrupt it).
    sh(`docker stop -t 1 ${jailOf(user)} >/dev/null`);
    await waitFor('the loop device to be let go', () => sh(`losetup --associated ${image}`).trim() === '');
    const loop = sh(`losetup --find --show ${image}`).trim();
    try {
      const refused = inJail(user, 'echo ran');
      assert.notEqual(refused.status, 0);
      assert.equal(refused.stdout, '');
      assert.equal(refused.stderr, `jailsh: the jail's /tmp (${image}) is in use but not mounted at ${mounted}; an administrator must stop the jail\n`);
    } finally {
      sh(`losetup --detach ${loop}`);
    }
    // Let go, it is mounted again at the next login, its files there.
    assert.equal(jailSays(user, 'cat /tmp/kept'), 'kept\n');
  });

  it('is made for its user alone: after userdel, the jail removed by hand and useradd with the uid under another name, the new account gets a fresh one', () => {
    const old = users.make();
    jailSays(old, 'echo old-secret > /tmp/secret');
    const image = `${IMAGES}/${old.uid}.img`;
    assert.equal(readFileSync(`${image}.owner`, 'utf8'), old.name);
    // The old account goes, its jail with it (by hand), its /tmp image stays, still mounted; a new account gets the uid.
    sh(`docker rm -f ${jailOf(old)} >/dev/null; pkill -KILL -u ${old.uid} || true; userdel ${old.name}`);
    const name = `${old.name}n`;
    sh(`useradd --uid ${old.uid} --create-home --groups jailed --shell /usr/bin/jailsh ${name}`);
    try {
      const fresh = run('/bin/su', ['-l', name, '-c', 'ls -A /tmp; id -un'], { timeout: 60_000 });
      assert.equal(fresh.stdout, `${name}\n`, fresh.stderr);
      assert.equal(readFileSync(`${image}.owner`, 'utf8'), name);
    } finally {
      sh(
        `docker ps -aq --filter label=${LABEL_UID}=${old.uid} | xargs -r docker rm -f >/dev/null; userdel --remove ${name} 2>/dev/null || true; rm -rf ${old.home}`,
      );
      removeScratchOf(String(old.uid));
    }
  });

  it('gc removes the image of a removed user whose jail is gone once the grace period is over, and says so', async () => {
    const old = users.make();
    jailSays(old, 'true');
    const image = `${IMAGES}/${old.uid}.img`;
    sh(`docker rm -f ${jailOf(old)} >/dev/null; pkill -KILL -u ${old.uid} || true; userdel ${old.name}`);
    const waiting = await withConfig('[gc]\ngrace = 1h\n', () => run('/usr/sbin/docker-jail', ['gc']));
    assert.equal(waiting.status, 0, waiting.stderr);
    assert.match(
      waiting.stdout,
      new RegExp(`/tmp and /var/tmp of uid ${old.uid}: no jail and no jailed owner; removed after the grace period \\((359\\d|3600) s left\\)`),
    );
    assert.ok(existsSync(image));
    const collected = await withConfig('[gc]\ngrace = 0\n', () => run('/usr/sbin/docker-jail', ['gc']));
    assert.equal(collected.status, 0, collected.stderr);
    assert.match(
      collected.stdout,
      new RegExp(`/tmp and /var/tmp of uid ${old.uid} \\(made for ${old.name}\\): removed \\(no jail and no jailed owner left\\)`),
    );
    assert.ok(!existsSync(image));
    assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(`${SCRATCH_MOUNTS}/${old.uid} `));
    sh(`rm -rf ${old.home}`);
  });

  it('gc keeps the image of a jailed user whose jail is gone (removed by hand, or by image update until the next login)', () => {
    const user = users.make();
    jailSays(user, 'echo kept > /var/tmp/kept');
    sh(`docker rm -f ${jailOf(user)} >/dev/null`);
    const collected = run('/usr/sbin/docker-jail', ['gc']);
    assert.equal(collected.status, 0, collected.stderr);
    assert.doesNotMatch(collected.stdout, new RegExp(`of uid ${user.uid} `));
    assert.equal(jailSays(user, 'cat /var/tmp/kept'), 'kept\n');
  });
});
