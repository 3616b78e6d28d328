import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { STAGING_ROOT } from '../src/host/paths';
import { withConfig } from './support/config';
import { jailedUser } from './support/fixtures';
import { requireHost, run, sh } from './support/host';
import { keepHostFile } from './support/hostFiles';
import { createUser, jailOf, removeUser } from './support/users';

/** Runs the host's real PAM stack for a service, as a login would, without a shell. */
function pamtester(service: string, user: string, items: string[], ...operations: string[]) {
  return run('/usr/bin/pamtester', [...items.flatMap((item) => ['-I', item]), service, user, ...operations], { timeout: 60_000 });
}

describe('the PAM hook with whatever PAM hands it', function () {
  this.timeout(120_000);

  before(() => requireHost('docker', 'pamtester'));
  const user = jailedUser({ home: false });
  // After the user's own teardown, as before: the home the hook made goes too.
  after(() => rmSync(user.home, { recursive: true, force: true }));

  it('ignores a PAM_RHOST holding shell metacharacters, and does its job as with a clean one', () => {
    const witness = `/tmp/djt-rhost-${user.name}`;
    const result = pamtester('login', user.name, [`rhost=$(touch ${witness});\`touch ${witness}\`|x`, 'tty=pts/99'], 'open_session', 'close_session');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(existsSync(witness), false);
    assert.equal(lstatSync(user.home).uid, user.uid);
    assert.notEqual(jailOf(user), '');
  });

  it('gives up after [pam] timeout instead of holding the login, when the engine hangs', async () => {
    const other = createUser({ home: false });
    const dockerd = readFileSync('/var/run/docker.pid', 'utf8').trim();
    try {
      await withConfig('[pam]\ntimeout = 2\n', () => {
        sh(`kill -STOP ${dockerd}`);
        const started = Date.now();
        const result = pamtester('login', other.name, [], 'open_session');
        const took = Date.now() - started;
        sh(`kill -CONT ${dockerd}`);
        assert.equal(result.status, 0, result.stderr);
        assert.ok(took < 5_000, `the hook held the login for ${took} ms`);
      });
    } finally {
      sh(`kill -CONT ${dockerd}`);
      removeUser(other);
      rmSync(other.home, { recursive: true, force: true });
    }
  });
});

describe('users that only NSS knows (libnss-extrausers, not /etc/passwd)', function () {
  this.timeout(120_000);
  const nsswitch = readFileSync('/etc/nsswitch.conf', 'utf8');
  let putBackNsswitch: (() => void) | undefined;
  const name = `djx${Math.random().toString(16).slice(2, 8)}`;
  const uid = 47000 + Math.floor(Math.random() * 1000);
  const home = `/home/${name}`;

  before(() => {
    requireHost('docker', 'su');
    if (!run('/usr/bin/dpkg-query', ['-W', '-f=${Status}', 'libnss-extrausers']).stdout.includes('ok installed')) {
      throw new Error('libnss-extrausers is not installed (./build.sh test installs it)');
    }
    assert.equal(run('/usr/bin/getent', ['passwd', String(uid)]).status, 2, `uid ${uid} is taken`);
    mkdirSync('/var/lib/extrausers', { recursive: true });
    writeFileSync('/var/lib/extrausers/passwd', `${name}:x:${uid}:${uid}:NSS only:${home}:/usr/bin/jailsh\n`);
    writeFileSync('/var/lib/extrausers/group', `${name}:x:${uid}:\n`);
    writeFileSync('/var/lib/extrausers/shadow', `${name}:*:19000:0:99999:7:::\n`);
    putBackNsswitch = keepHostFile('/etc/nsswitch.conf'); // put back by the next ./build.sh test if this run is killed
    writeFileSync('/etc/nsswitch.conf', nsswitch.replace(/^(passwd|group|shadow):(.*)$/gm, '$1:$2 extrausers'));
    assert.ok(!readFileSync('/etc/passwd', 'utf8').includes(`${name}:`));
    sh(`gpasswd -a ${name} jailed >/dev/null`);
  });
  after(() => {
    sh(`gpasswd -d ${name} jailed >/dev/null 2>&1 || true`);
    sh(`docker ps -aq --filter label=io.docker-jail.uid=${uid} | xargs -r docker rm -f >/dev/null`);
    sh(`umount -l ${STAGING_ROOT}/${uid} 2>/dev/null || true`);
    putBackNsswitch?.();
    for (const file of ['passwd', 'group', 'shadow']) rmSync(`/var/lib/extrausers/${file}`, { force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('makes their home and jail at the first login, and names them inside', () => {
    const result = run('/bin/su', ['-l', name, '-c', 'id; pwd; getent passwd $(id -u) | cut -d: -f1,5']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(
      result.stdout,
      `uid=${uid}(${name}) gid=${uid}(${name}) groups=${uid}(${name}),${sh('getent group jailed | cut -d: -f3').trim()}(jailed)\n${home}\n${name}:NSS only\n`,
    );
    assert.equal(lstatSync(home).uid, uid);
  });
});
