import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { STAGING_ROOT } from '../../src/host/paths';
import { EXTRA, serveDirectoryUser } from '../support/directory';
import { requireHost, run, sh, sleep } from '../support/host';
import { keepHostFile } from '../support/hostFiles';
import { banner, ROOT_KEYS, type Sshd, sshOptions, startSshd } from '../support/sshd';
import { createUser, removeScratchOf, removeUser, type TestUser } from '../support/users';

/**
 * sshd's policy for the jail group is a `Match Group` block: when sshd cannot
 * resolve the group (a directory outage: passwd answers, the group map does
 * not), the block does not apply and a jailed user would get the host's
 * permissive forwarding, to its loopback services. The account rule needs the
 * jail group proved for anyone whose shell is jailsh, so that user gets no
 * login at all. The outage is simulated with libnss-extrausers serving the
 * user and the directory's `jailed` (same gid as the local one, listed first
 * for groups), then its group file moved aside.
 */
describe('sshd when the jail group cannot be resolved: a jailed user forwards nothing (both layers: sshd Match, PAM account)', function () {
  this.timeout(120_000);
  const nsswitch = readFileSync('/etc/nsswitch.conf', 'utf8');
  let putBackNsswitch: (() => void) | undefined;
  const name = `djo${Math.random().toString(16).slice(2, 8)}`;
  const uid = 48000 + Math.floor(Math.random() * 1000);
  const home = `/home/${name}`;
  const key = `/root/.djt-outage-${name}`;
  let sshd: Sshd;
  let admin: TestUser;

  /** The directory's jailed user, with a key root keeps for them. */
  const jailed: TestUser = { name, uid, gid: uid, home, key };
  const forwardW = (user: TestUser) =>
    run('/usr/bin/ssh', [...sshOptions(sshd, user), '-W', `127.0.0.1:${sshd.port}`, `${user.name}@127.0.0.1`], { timeout: 20_000 });
  /** What a host loopback port answers once `ssh -N` has set up a forwarding (-L: on the client's side, -R: on the host). */
  const forwarded = async (user: TestUser, flag: '-L' | '-R') => {
    const port = 40000 + Math.floor(Math.random() * 20000);
    const client = spawn('/usr/bin/ssh', [...sshOptions(sshd, user), '-N', flag, `${port}:127.0.0.1:${sshd.port}`, `${user.name}@127.0.0.1`], {
      stdio: 'ignore',
    });
    try {
      let seen = '';
      for (let i = 0; i < 25 && seen === '' && client.exitCode === null; i++) {
        await sleep(200);
        seen = await banner(port);
      }
      return seen;
    } finally {
      client.kill();
    }
  };

  before(async () => {
    requireHost('docker', 'sshd', 'ssh');
    // The directory's jail group, the one whose membership of the user is lost in the outage.
    putBackNsswitch = keepHostFile('/etc/nsswitch.conf'); // put back by the next ./build.sh test if this run is killed
    serveDirectoryUser(name, uid, home, nsswitch);
    sh(`install -d -o ${uid} -g ${uid} -m 0700 ${home}`);
    sh(`ssh-keygen -q -t ed25519 -N '' -f ${key} && install -d -m 0755 ${ROOT_KEYS} && install -m 0644 ${key}.pub ${ROOT_KEYS}/${name}`);
    admin = createUser({ groups: ['admins'], shell: '/bin/bash', prefix: 'dja' });
    sshd = await startSshd();
  });
  after(async () => {
    if (sshd) await sshd.stop();
    if (admin) removeUser(admin);
    putBackNsswitch?.();
    sh(`docker ps -aq --filter label=io.docker-jail.uid=${uid} | xargs -r docker rm -f >/dev/null`);
    removeScratchOf(String(uid));
    sh(`umount -l ${STAGING_ROOT}/${uid} 2>/dev/null || true; pkill -KILL -u ${uid} || true`);
    for (const file of ['passwd', 'group', 'group.away', 'shadow']) rmSync(`${EXTRA}/${file}`, { force: true });
    for (const file of [key, `${key}.pub`, `${ROOT_KEYS}/${name}`]) rmSync(file, { force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('control: while the directory answers, the user is jailed and sshd refuses their forwarding', () => {
    assert.match(sh(`id ${name}`), /\(jailed\)/);
    const result = forwardW(jailed);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /administratively prohibited|stdio forwarding failed/);
  });

  describe("the directory's group map down (passwd still answers)", () => {
    before(() => renameSync(`${EXTRA}/group`, `${EXTRA}/group.away`));
    after(() => {
      if (existsSync(`${EXTRA}/group.away`)) renameSync(`${EXTRA}/group.away`, `${EXTRA}/group`);
    });

    it('the outage is real: passwd answers, the jail group no longer lists the user', () => {
      assert.match(sh(`getent passwd ${name}`), /:\/usr\/bin\/jailsh\n$/);
      assert.doesNotMatch(sh(`id ${name}`), /jailed/);
    });

    it('refuses the jailed user stdio forwarding (-W) to a host loopback service', () => {
      const result = forwardW(jailed);
      assert.doesNotMatch(result.stdout, /SSH-2.0-/);
      assert.notEqual(result.status, 0);
    });

    it('refuses the jailed user local port forwarding (-L) to a host loopback service', async () => {
      assert.equal(await forwarded(jailed, '-L'), '');
    });

    it('refuses the jailed user remote port forwarding (-R) to a host loopback service', async () => {
      assert.equal(await forwarded(jailed, '-R'), '');
    });

    it('control: an administrator still forwards (-W, -L, -R) through the same sshd', async () => {
      assert.match(forwardW(admin).stdout, /^SSH-2.0-/);
      assert.match(await forwarded(admin, '-L'), /^SSH-2.0-/);
      assert.match(await forwarded(admin, '-R'), /^SSH-2.0-/);
    });
  });
});
