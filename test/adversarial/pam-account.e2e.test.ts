import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { defaultConfig } from '../../src/config/defaults';
import { COMMON_ACCOUNT, carriesPamAccountRule, LOGIN_SHELL_SERVICES, PAM_PROFILE, renderPamAccountRule } from '../../src/doctor/pamProfile';
import { JAILSH, SHELLS_DIR, STAGING_ROOT } from '../../src/host/paths';
import { withConfig } from '../support/config';
import { requireHost, run, sh, sleep, waitFor } from '../support/host';
import { keepHostFile } from '../support/hostFiles';
import { Terminal } from '../support/pty';
import { ROOT_KEYS, type Sshd, ssh, sshOptions, startSshd } from '../support/sshd';
import { createUser, jailOf, removeScratchOf, removeUser, type TestUser } from '../support/users';

/** Where rsyslog puts authpriv (/etc/rsyslog.conf: auth,authpriv.* /var/log/auth.log). */
const AUTH_LOG = '/var/log/auth.log';

/** Runs the host's real PAM stack for a service, as that service would, without a shell. */
function pamtester(service: string, user: string, ...operations: string[]) {
  return run('/usr/bin/pamtester', [service, user, ...operations], { timeout: 60_000 });
}

/** What was appended to auth.log since `offset`. */
function authLogSince(offset: number): string {
  const fd = openSync(AUTH_LOG, 'r');
  try {
    const size = statSync(AUTH_LOG).size;
    const buffer = Buffer.alloc(Math.max(0, size - offset));
    readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The refusals pam_succeed_if logged for a user since `offset`, as "service: requirement". */
function refusalsSince(offset: number, user: string): string[] {
  const pattern = new RegExp(`pam_succeed_if\\(([^:]+):account\\): requirement "([^"]+)" not met by user "${user}"`, 'g');
  return [...authLogSince(offset).matchAll(pattern)].map((m) => `${m[1]}: ${m[2]}`);
}

/** Waits for rsyslog to have written the expected refusals, then checks there are exactly these. */
async function expectRefusals(offset: number, user: string, expected: string[]): Promise<void> {
  await waitFor(`auth.log to name ${user}: ${expected.join(', ')}`, () => refusalsSince(offset, user).length >= expected.length, 10_000).catch(() => undefined);
  await sleep(300); // a second line, if one were coming
  assert.deepEqual(refusalsSince(offset, user), expected, authLogSince(offset));
}

/** Processes of the uid on the host, as "pid args" lines; none is []. */
function hostProcessesOf(uid: number): string[] {
  return run('/usr/bin/pgrep', ['-a', '-u', String(uid)])
    .stdout.split('\n')
    .filter(Boolean);
}

const SHELL_NOT_JAILSH = `shell = ${JAILSH}`;
const SERVICE_NOT_LOGIN = `service in ${LOGIN_SHELL_SERVICES.join(':')}`;

describe('the PAM account rule: the jail group gets no host session through any service, whatever its shell says (invariant 9)', function () {
  this.timeout(180_000);
  let sshd: Sshd;
  const users: TestUser[] = [];
  const make = (options: Parameters<typeof createUser>[0]) => {
    const user = createUser(options);
    users.push(user);
    return user;
  };

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'su', 'pamtester', 'pgrep', 'setpriv', 'chpasswd', 'usermod', 'rsyslogd');
    if (run('/usr/bin/pgrep', ['-x', 'rsyslogd']).status !== 0) throw new Error('rsyslogd is not running: nothing writes auth.log');
    if (!existsSync(AUTH_LOG)) throw new Error(`${AUTH_LOG} is missing: rsyslog does not log authpriv there`);
    sshd = await startSshd();
  });
  after(async () => {
    for (const user of users) {
      removeUser(user);
      rmSync(user.home, { recursive: true, force: true });
    }
    rmSync(`${ROOT_KEYS}/root`, { force: true });
    await sshd.stop();
  });

  it('ships the rule for the default groups, and pam-auth-update put it in common-account', () => {
    const profile = readFileSync(PAM_PROFILE, 'utf8');
    const account = profile.split(/^Account:\n/m)[1]?.split(/^\S/m)[0] ?? '';
    assert.deepEqual(
      account
        .split('\n')
        .filter(Boolean)
        .map((line) => line.trim()),
      renderPamAccountRule(defaultConfig.access.jailGroup, defaultConfig.access.exemptGroup),
    );
    assert.match(profile, /^Account-Type: Additional$/m);
    assert.ok(carriesPamAccountRule(readFileSync(COMMON_ACCOUNT, 'utf8'), 'jailed', 'admins'), readFileSync(COMMON_ACCOUNT, 'utf8'));
  });

  it('refuses ssh and su -l to a jailed user whose shell was changed to /bin/bash: nothing of theirs runs on the host, and auth.log says why in one line each', async () => {
    const user = make({});
    sh(`usermod -s /bin/bash ${user.name}`);
    const witness = `/tmp/djt-pam-account-${user.name}`;
    const offset = statSync(AUTH_LOG).size;

    const viaSsh = ssh(sshd, user, [`touch ${witness}; echo on-the-host; (sleep 300 </dev/null >/dev/null 2>&1 &)`]);
    assert.notEqual(viaSsh.status, 0);
    assert.equal(viaSsh.stdout, '');
    const viaSu = run('/bin/su', ['-l', user.name, '-c', `touch ${witness}; echo on-the-host; (sleep 300 </dev/null >/dev/null 2>&1 &)`]);
    assert.notEqual(viaSu.status, 0);
    assert.equal(viaSu.stdout, '');

    assert.equal(existsSync(witness), false, 'a command ran on the host');
    assert.deepEqual(hostProcessesOf(user.uid), []);
    assert.equal(jailOf(user), '', 'the session was opened (the hook made a jail)');
    await expectRefusals(offset, user.name, [`sshd: ${SHELL_NOT_JAILSH}`, `su-l: ${SHELL_NOT_JAILSH}`]);
  });

  it('refuses the account check of a jailed user (shell jailsh) on services that never run the login shell, and passes it on those that do; an ordinary user and an administrator pass everywhere', async () => {
    const jailed = make({});
    const ordinary = make({ groups: [], shell: '/bin/bash' });
    const admin = make({ groups: ['admins'], shell: '/bin/bash', prefix: 'dja' });
    // Services that run their own program on the host: what Debian's packages name them. A
    // service without a file of its own gets /etc/pam.d/other, which includes common-account too.
    const others = ['cron', 'atd', 'vsftpd', 'proftpd', 'cockpit', 'xrdp-sesman', 'systemd-user', 'djt-no-such-service'];
    const made: string[] = [];
    for (const service of others.slice(0, -1)) {
      const file = `/etc/pam.d/${service}`;
      if (existsSync(file)) continue; // the real one, from its package
      writeFileSync(file, '@include common-auth\n@include common-account\n@include common-session-noninteractive\n');
      made.push(file);
    }
    const offset = statSync(AUTH_LOG).size;
    try {
      for (const service of others) {
        assert.notEqual(pamtester(service, jailed.name, 'acct_mgmt').status, 0, `${service} let a jailed user in`);
        assert.equal(pamtester(service, ordinary.name, 'acct_mgmt').status, 0, `${service} refused an ordinary user`);
        assert.equal(pamtester(service, admin.name, 'acct_mgmt').status, 0, `${service} refused an administrator`);
        assert.equal(pamtester(service, 'root', 'acct_mgmt').status, 0, `${service} refused root`);
      }
      for (const service of LOGIN_SHELL_SERVICES) {
        const result = pamtester(service, jailed.name, 'acct_mgmt');
        assert.equal(result.status, 0, `${service} refused a jailed user with jailsh: ${result.stderr}`);
      }
    } finally {
      for (const file of made) rmSync(file, { force: true });
    }
    await expectRefusals(
      offset,
      jailed.name,
      others.map((service) => `${service}: ${SERVICE_NOT_LOGIN}`),
    );
    assert.deepEqual(refusalsSince(offset, ordinary.name), []);
    assert.deepEqual(refusalsSince(offset, admin.name), []);
  });

  it("refuses su to a jailed user from anyone but root (su -s and su -m would run another shell); root's su -l lands in the jail, and root may still choose a shell", async () => {
    const jailed = make({});
    const target = make({ groups: [], shell: '/bin/bash' });
    const caller = make({ groups: [], shell: '/bin/bash' });
    const password = `Pw-${Math.random().toString(36).slice(2)}`;
    sh(`chpasswd <<'EOF'\n${jailed.name}:${password}\n${target.name}:${password}\nEOF`);
    const witness = `/tmp/djt-pam-account-su-${jailed.name}`;

    /** su run by the unprivileged caller on a terminal, typing the password when asked. */
    async function suAsCaller(to: TestUser, shellArgs: string[]): Promise<{ status: number; text: string }> {
      const term = new Terminal('/usr/bin/setpriv', [
        `--reuid=${caller.uid}`,
        `--regid=${caller.gid}`,
        '--init-groups',
        '/bin/su',
        ...shellArgs,
        to.name,
        '-c',
        `touch ${witness}-${to.name}; echo on-the-host`,
      ]);
      try {
        await term.expect(/Password: ?$/);
        term.write(`${password}\r`);
        const status = await Promise.race([term.exited, sleep(30_000).then(() => -1)]);
        return { status, text: term.text };
      } finally {
        term.kill();
      }
    }

    const control = await suAsCaller(target, ['-s', '/bin/sh']);
    assert.equal(control.status, 0, control.text);
    assert.match(control.text, /on-the-host/);

    const offset = statSync(AUTH_LOG).size;
    for (const shellArgs of [['-s', '/bin/bash'], ['-l', '-s', '/bin/sh'], []]) {
      const refused = await suAsCaller(jailed, shellArgs);
      assert.notEqual(refused.status, 0, refused.text);
      assert.doesNotMatch(refused.text, /on-the-host/);
    }
    assert.equal(existsSync(`${witness}-${jailed.name}`), false, 'su -s gave a jailed user a host shell');
    assert.deepEqual(hostProcessesOf(jailed.uid), []);
    await expectRefusals(offset, caller.name, ['su: uid eq 0', 'su-l: uid eq 0', 'su: uid eq 0']);

    const viaRoot = run('/bin/su', ['-l', jailed.name, '-c', 'hostname']);
    assert.equal(viaRoot.stdout, `${jailed.name}-jail\n`, viaRoot.stderr);
    // Root can do anything as any user (setpriv, runuser); su -s is one more way, deliberately left to root.
    const rootChoice = run('/bin/su', ['-s', '/bin/sh', jailed.name, '-c', 'id -un']);
    assert.equal(rootChoice.stdout, `${jailed.name}\n`, rootChoice.stderr);
    rmSync(`${witness}-${target.name}`, { force: true });
  });

  it('root and administrators log in as before while the engine is unreachable; a jailed user on /bin/bash is still refused', async () => {
    const admin = make({ groups: ['admins'], shell: '/bin/bash', prefix: 'dja' });
    const jailed = make({});
    sh(`usermod -s /bin/bash ${jailed.name}`);
    sh(`install -d -m 0755 ${ROOT_KEYS} && cp ${admin.key}.pub ${ROOT_KEYS}/root`);
    const witness = `/tmp/djt-pam-account-down-${jailed.name}`;
    await withConfig('[engine]\nsocket = /run/docker-jail-test-no-engine/docker.sock\n', () => {
      assert.equal(run('/usr/sbin/docker-jail', ['doctor']).stdout.includes('FAIL engine'), true, 'the engine was reachable');
      const started = Date.now();
      const viaSsh = ssh(sshd, admin, ['echo admin-in']);
      assert.equal(viaSsh.stdout, 'admin-in\n', viaSsh.stderr);
      const root = run('/usr/bin/ssh', [...sshOptions(sshd, admin), 'root@127.0.0.1', 'echo root-in']);
      assert.equal(root.stdout, 'root-in\n', root.stderr);
      assert.equal(run('/bin/su', ['-l', admin.name, '-c', 'echo su-in']).stdout, 'su-in\n');
      assert.equal(run('/bin/su', ['-l', 'root', '-c', 'echo root-su-in']).stdout, 'root-su-in\n');
      for (const service of ['cron', 'djt-no-such-service']) {
        assert.equal(pamtester(service, admin.name, 'acct_mgmt').status, 0);
        assert.equal(pamtester(service, 'root', 'acct_mgmt').status, 0);
      }
      assert.ok(Date.now() - started < 15_000, 'the logins were held up');

      const refused = ssh(sshd, jailed, [`touch ${witness}; echo on-the-host`]);
      assert.notEqual(refused.status, 0);
      assert.equal(refused.stdout, '');
      assert.equal(existsSync(witness), false);
      assert.deepEqual(hostProcessesOf(jailed.uid), []);
    });
  });
});

describe('docker-jail enable for a user only NSS knows, whose directory shell is not jailsh', function () {
  this.timeout(120_000);
  const nsswitch = readFileSync('/etc/nsswitch.conf', 'utf8');
  let putBackNsswitch: (() => void) | undefined;
  const name = `djy${Math.random().toString(16).slice(2, 8)}`;
  const uid = 48000 + Math.floor(Math.random() * 1000);
  const home = `/home/${name}`;
  const directory = (shell: string) => writeFileSync('/var/lib/extrausers/passwd', `${name}:x:${uid}:${uid}:NSS only:${home}:${shell}\n`);

  before(() => {
    requireHost('docker', 'su', 'pgrep');
    if (!run('/usr/bin/dpkg-query', ['-W', '-f=${Status}', 'libnss-extrausers']).stdout.includes('ok installed')) {
      throw new Error('libnss-extrausers is not installed (./build.sh test installs it)');
    }
    assert.equal(run('/usr/bin/getent', ['passwd', String(uid)]).status, 2, `uid ${uid} is taken`);
    mkdirSync('/var/lib/extrausers', { recursive: true });
    directory('/bin/bash');
    writeFileSync('/var/lib/extrausers/group', `${name}:x:${uid}:\n`);
    writeFileSync('/var/lib/extrausers/shadow', `${name}:*:19000:0:99999:7:::\n`);
    putBackNsswitch = keepHostFile('/etc/nsswitch.conf'); // put back by the next ./build.sh test if this run is killed
    writeFileSync('/etc/nsswitch.conf', nsswitch.replace(/^(passwd|group|shadow):(.*)$/gm, '$1:$2 extrausers'));
  });
  after(() => {
    sh(`gpasswd -d ${name} jailed >/dev/null 2>&1 || true`);
    sh(`docker ps -aq --filter label=io.docker-jail.uid=${uid} | xargs -r docker rm -f >/dev/null`);
    sh(`umount -l ${STAGING_ROOT}/${uid} 2>/dev/null || true; rmdir ${STAGING_ROOT}/${uid} 2>/dev/null || true`);
    removeScratchOf(String(uid));
    sh(`pkill -KILL -u ${uid} || true`);
    putBackNsswitch?.();
    for (const file of ['passwd', 'group', 'shadow']) rmSync(`/var/lib/extrausers/${file}`, { force: true });
    rmSync(home, { recursive: true, force: true });
    rmSync(`${SHELLS_DIR}/${uid}`, { force: true }); // what enable remembered for disable
  });

  it('leaves them refused, with nothing on the host, until the directory says jailsh; then they log into their jail', async () => {
    const enabled = run('/usr/sbin/docker-jail', ['enable', name]);
    assert.equal(enabled.status, 0, enabled.stderr);
    const witness = `/tmp/djt-pam-account-nss-${name}`;
    const offset = statSync(AUTH_LOG).size;
    const refused = run('/bin/su', ['-l', name, '-c', `touch ${witness}; echo on-the-host`]);
    assert.notEqual(refused.status, 0);
    assert.equal(refused.stdout, '');
    assert.equal(existsSync(witness), false, 'a command ran on the host');
    assert.deepEqual(hostProcessesOf(uid), []);
    await expectRefusals(offset, name, [`su-l: ${SHELL_NOT_JAILSH}`]);

    directory(JAILSH);
    const inside = run('/bin/su', ['-l', name, '-c', 'hostname; id -un']);
    assert.equal(inside.stdout, `${name}-jail\n${name}\n`, inside.stderr);
  });
});
