import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { ORPHANS_DIR, SCRATCH_IMAGES, STAGING_ROOT } from '../../src/host/paths';
import { withConfig } from '../support/config';
import { directoryGroups, EXTRA, serveDirectoryUser } from '../support/directory';
import { requireHost, run, sh } from '../support/host';
import { keepHostFile } from '../support/hostFiles';
import { createUser, jailOf, removeScratchOf, removeUser, type TestUser } from '../support/users';

const CLI = '/usr/sbin/docker-jail';
const REAL_GETENT = '/run/djt-getent-real';
const FAKE_GETENT = '/run/djt-getent-fake';

/**
 * Runs a shell script where /usr/bin/getent is the given script (the real one
 * is at REAL_GETENT): NSS misbehaving for every lookup root's code makes, while
 * the rest of the host is left alone. The launcher leaves a mount namespace its
 * parent is not in (the session's, made by pam_docker_jail.so) for the nearest
 * parent's, so the script runs one namespace further in, below a shell that
 * stays in the one with the fake getent: the launcher comes back to that one.
 */
function withGetent(fake: string, script: string, timeout = 60_000) {
  writeFileSync(FAKE_GETENT, `#!/bin/sh\necho "$*" >>${FAKE_GETENT}.calls\n${fake}\n`, { mode: 0o755 });
  const unshare = ['/usr/bin/unshare', '--mount', '--propagation', 'private', '/bin/sh', '-c'];
  try {
    const result = run(unshare[0], [...unshare.slice(1), `mount --bind ${FAKE_GETENT} /usr/bin/getent && ${unshare.join(' ')} "$0"`, script], { timeout });
    return { ...result, getentCalls: existsSync(`${FAKE_GETENT}.calls`) ? readFileSync(`${FAKE_GETENT}.calls`, 'utf8') : '' };
  } finally {
    rmSync(FAKE_GETENT, { force: true });
    rmSync(`${FAKE_GETENT}.calls`, { force: true });
  }
}

/**
 * What root's paths do when NSS is in trouble: a directory outage (simulated
 * with libnss-extrausers serving a user and the directory's copy of the jail
 * group, then its files moved aside), a misspelt jail_group, a lookup that
 * hangs, a huge group and an oddly shaped one. Each fails closed, and loses
 * nothing of the user's.
 */
describe('root-side paths when NSS is in trouble: fail closed, lose nothing', function () {
  this.timeout(180_000);
  const nsswitch = readFileSync('/etc/nsswitch.conf', 'utf8');
  let putBackNsswitch: (() => void) | undefined;
  const name = `djn${Math.random().toString(16).slice(2, 8)}`;
  const uid = 49000 + Math.floor(Math.random() * 1000);
  const home = `/home/${name}`;
  let jailedGid: string;
  let local: TestUser;
  let admin: TestUser;
  /** In the jail group with a shell of their own: only the group says they are jailed. */
  let member: TestUser;

  const groupFile = (extra = '') => directoryGroups(name, uid, jailedGid, extra);
  const su = (command: string) => run('/bin/su', ['-l', name, '-c', command], { timeout: 60_000 });

  before(() => {
    requireHost('docker', 'su', 'pamtester', 'unshare');
    // The directory's jail group is asked first: moved aside, the user is no longer in it.
    putBackNsswitch = keepHostFile('/etc/nsswitch.conf'); // put back by the next ./build.sh test if this run is killed
    jailedGid = serveDirectoryUser(name, uid, home, nsswitch);
    copyFileSync('/usr/bin/getent', REAL_GETENT);
    local = createUser({ groups: ['jailed'] });
    admin = createUser({ groups: ['admins'], shell: '/bin/bash', prefix: 'dja' });
    member = createUser({ groups: ['jailed'], shell: '/bin/bash', prefix: 'djm' });
  });
  after(() => {
    putBackNsswitch?.();
    for (const user of [local, admin, member]) if (user) removeUser(user);
    sh(`docker ps -aq --filter label=io.docker-jail.uid=${uid} | xargs -r docker rm -f >/dev/null`);
    removeScratchOf(String(uid));
    sh(`umount -l ${STAGING_ROOT}/${uid} 2>/dev/null || true; pkill -KILL -u ${uid} || true`);
    for (const file of ['passwd', 'passwd.away', 'group', 'group.away', 'shadow']) rmSync(`${EXTRA}/${file}`, { force: true });
    rmSync(REAL_GETENT, { force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('control: while the directory answers, the user logs in to their jail', () => {
    const result = su('id -un; echo kept > /var/tmp/kept');
    assert.equal(result.stdout, `${name}\n`, result.stderr);
    assert.notEqual(jailOf({ uid } as TestUser), '');
  });

  describe('the systemd user-manager condition', () => {
    const userManager = (forUid: number) => run(CLI, ['user-manager', String(forUid)]);

    it('refuses a jail-group member, and passes root, while jail_group names no group (misspelt)', async () => {
      await withConfig('[access]\njail_group = jialed\n', () => {
        const result = userManager(member.uid);
        assert.equal(result.status, 77, result.stderr);
        assert.equal(result.stderr, `docker-jail: the jail group jialed does not resolve: no systemd user manager for uid ${member.uid} until it does\n`);
        for (const jailsh of [uid, local.uid]) assert.equal(userManager(jailsh).status, 77, `uid ${jailsh}`);
        assert.deepEqual(userManager(0), { status: 0, stdout: '', stderr: '' });
      });
    });

    it("refuses a user whose login shell is jailsh while the directory's group map is down, and passes root", () => {
      renameSync(`${EXTRA}/group`, `${EXTRA}/group.away`);
      try {
        assert.doesNotMatch(sh(`id ${name}`), /jailed/); // the outage is real: the user is no longer in the group
        const result = userManager(uid);
        assert.equal(result.status, 77, result.stderr);
        assert.match(result.stderr, new RegExp(`uid ${uid} is jailed`));
        assert.equal(userManager(0).status, 0);
      } finally {
        renameSync(`${EXTRA}/group.away`, `${EXTRA}/group`);
      }
    });

    it('control: passes an administrator and a user outside the jail group with their own shell', () => {
      assert.equal(userManager(admin.uid).status, 0);
      const plain = createUser({ groups: [], shell: '/bin/bash', prefix: 'djp' });
      try {
        assert.equal(userManager(plain.uid).status, 0);
      } finally {
        removeUser(plain);
      }
    });
  });

  describe('gc', () => {
    const image = `${SCRATCH_IMAGES}/${uid}.img`;

    it('collects nothing, and says why, while the jail group does not resolve', async () => {
      assert.notEqual(jailOf({ uid } as TestUser), '');
      await withConfig('[access]\njail_group = jialed\n[gc]\ngrace = 0\n', () => {
        const result = run(CLI, ['gc']);
        assert.equal(result.status, 1);
        assert.match(result.stdout, /^the jail group jialed does not resolve \(a directory outage, or a misspelt jail_group\): nothing collected$/m);
      });
      assert.notEqual(jailOf({ uid } as TestUser), '');
      assert.ok(existsSync(image));
    });

    it('keeps the /tmp image of a user the directory no longer answers for, and their /var/tmp is there when they are back', () => {
      sh(`docker rm -f ${jailOf({ uid } as TestUser)} >/dev/null`);
      renameSync(`${EXTRA}/passwd`, `${EXTRA}/passwd.away`);
      try {
        assert.equal(run('/usr/bin/getent', ['passwd', String(uid)]).status, 2); // reads as "no such user"
        const result = run(CLI, ['gc']);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, new RegExp(`/tmp and /var/tmp of uid ${uid}: no jail and no jailed owner; removed after the grace period`));
        assert.ok(existsSync(image), 'the image was removed during the outage');
      } finally {
        renameSync(`${EXTRA}/passwd.away`, `${EXTRA}/passwd`);
      }
      const back = su('cat /var/tmp/kept');
      assert.equal(back.stdout, 'kept\n', back.stderr);
      // Back, the mark goes: a later outage starts a grace period of its own.
      const again = run(CLI, ['gc']);
      assert.doesNotMatch(again.stdout, new RegExp(`of uid ${uid}`));
      assert.ok(!existsSync(`${ORPHANS_DIR}/scratch-${uid}`), "the mark outlived the user's return");
    });
  });

  describe('the PAM hook, with a getent that hangs and [pam] timeout = 2', () => {
    it('gives back open_session within 5 s for a jailed user, and root and an administrator pass as before', async () => {
      await withConfig('[pam]\ntimeout = 2\n', () => {
        // Each pamtester is timed from inside the namespace; the fake getent would sleep 60 s for every lookup.
        const timed = (user: string) =>
          `s=$(date +%s%N); /usr/bin/pamtester login ${user} open_session >/dev/null 2>&1; echo "${user} $? $(( ($(date +%s%N) - s) / 1000000 ))"`;
        const result = withGetent('exec /bin/sleep 60', [timed(local.name), timed('root'), timed(admin.name)].join('; '), 120_000);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.getentCalls, new RegExp(`^passwd -- ${local.name}$`, 'm')); // the hook met the hanging lookup
        const lines = result.stdout
          .trim()
          .split('\n')
          .map((line) => line.split(' '));
        assert.deepEqual(
          lines.map(([user, status]) => [user, status]),
          [
            [local.name, '0'],
            ['root', '0'],
            [admin.name, '0'],
          ],
        );
        for (const [user, , ms] of lines) assert.ok(Number(ms) < 5_000, `open_session of ${user} took ${ms} ms`);
      });
    });
  });

  describe('large and oddly shaped NSS answers', () => {
    it('logs a user in whose jail group lists 150 000 members (over a megabyte from getent)', async () => {
      const members = Array.from({ length: 150_000 }, (_, i) => `directory-member-${i}`);
      writeFileSync(`${EXTRA}/group`, groupFile(`djbig:x:${uid + 1}:${[...members, name].join(',')}\n`));
      try {
        assert.ok(run('/usr/bin/getent', ['group', 'djbig'], { maxBuffer: 2 ** 26 }).stdout.length > 2 ** 21);
        await withConfig('[access]\njail_group = djbig\n', () => {
          const result = su('id -un');
          assert.equal(result.stdout, `${name}\n`, result.stderr);
        });
      } finally {
        writeFileSync(`${EXTRA}/group`, groupFile());
      }
    });

    it("logs a user in when an unrelated group of theirs comes back malformed (a colon in a directory's group name)", () => {
      // Every group answer gains a line that does not split into four fields, as a directory group named "odd:name" prints.
      const fake = `${REAL_GETENT} "$@"; status=$?; [ "$1" = group ] && echo 'odd:name:x:4711:${name}'; exit $status`;
      const result = withGetent(fake, `/bin/su -l ${name} -c 'id -un; getent group jailed >/dev/null && echo inside'`);
      assert.equal(result.stdout, `${name}\ninside\n`, result.stderr);
      assert.match(result.getentCalls, new RegExp(`^group admins jailed ${uid}`, 'm')); // the shell's one lookup of all groups
    });
  });
});
