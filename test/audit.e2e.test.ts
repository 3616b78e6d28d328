import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { withConfig } from './support/config';
import { jailedUsers, loginAs } from './support/fixtures';
import { requireHost, run, sh, waitFor } from './support/host';
import { type Sshd, ssh, startSshd } from './support/sshd';
import { jailOf, type TestUser } from './support/users';

/** Where rsyslog puts authpriv (/etc/rsyslog.conf: auth,authpriv.* /var/log/auth.log). */
const AUTH_LOG = '/var/log/auth.log';

/** docker-jail's lines appended to auth.log since `offset`. */
function recordsSince(offset: number): string[] {
  const fd = openSync(AUTH_LOG, 'r');
  try {
    const buffer = Buffer.alloc(Math.max(0, statSync(AUTH_LOG).size - offset));
    readSync(fd, buffer, 0, buffer.length, offset);
    return buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => / docker-jail\[\d+\]: /.test(line));
  } finally {
    closeSync(fd);
  }
}

/** Waits for rsyslog to have written a docker-jail line matching `pattern` since `offset`, and returns it. */
async function recordLike(offset: number, pattern: RegExp): Promise<string> {
  await waitFor(`auth.log to have ${pattern}`, () => recordsSince(offset).some((line) => pattern.test(line))).catch(() => undefined);
  const found = recordsSince(offset).find((line) => pattern.test(line));
  assert.ok(found !== undefined, `no record like ${pattern} in:\n${recordsSince(offset).join('\n')}`);
  return found;
}

const docker = (args: string[], env: Record<string, string> = {}) => run('/usr/sbin/docker-jail', args, { env: { PATH: process.env.PATH, ...env } });

/** docker-jail run as from a login session of `loginUid` (the kernel's audit login uid, which su and sudo keep) through sudo. */
function asAdministrator(loginUid: number, sudoUser: string, args: string[]) {
  return run('/bin/sh', ['-c', `echo ${loginUid} > /proc/self/loginuid && exec /usr/sbin/docker-jail "$@"`, 'sh', ...args], {
    env: { PATH: process.env.PATH, SUDO_USER: sudoUser },
  });
}

describe('the audit trail in auth.log: where logins come from, who administers, why the PAM hook failed', function () {
  this.timeout(120_000);
  const users = jailedUsers();
  let sshd: Sshd;
  let alice: TestUser;

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'su', 'logger', 'pgrep', 'userdel');
    if (run('/usr/bin/pgrep', ['-x', 'rsyslogd']).status !== 0) throw new Error('rsyslogd is not running: nothing writes auth.log');
    if (!existsSync(AUTH_LOG)) throw new Error(`${AUTH_LOG} is missing: rsyslog does not log authpriv there`);
    sshd = await startSshd();
    alice = users.make();
  });
  after(async () => {
    await sshd.stop();
  });

  it("names the PAM service, the remote host and the terminal in a login's start record: ssh, ssh -tt and su -l", async () => {
    const offset = statSync(AUTH_LOG).size;
    const [plain, terminal, su] = Array.from({ length: 3 }, () => randomBytes(6).toString('hex'));
    assert.equal(ssh(sshd, alice, [`echo ${plain}`]).status, 0);
    assert.equal(ssh(sshd, alice, [`echo ${terminal}; exit 3`], undefined, ['-tt']).status, 3);
    assert.equal(loginAs(alice, `echo ${su}`).status, 0);
    const head = `session=start user="${alice.name}" uid=${alice.uid} jail="jail-${alice.name}"`;
    // sshd's own word through PAM, the connection as the environment claims it (client and server ports).
    const fromSsh = await recordLike(offset, new RegExp(`${head} tty=false service="sshd" rhost="127\\.0\\.0\\.1" .*command="echo ${plain}"$`));
    assert.match(fromSsh, / claimedConnection="127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+" /);
    assert.doesNotMatch(fromSsh, / ttyName=/);
    await recordLike(
      offset,
      new RegExp(`${head} tty=true service="sshd" rhost="127\\.0\\.0\\.1" (pamTty="[^"]+" )?ttyName="/dev/pts/\\d+" .*command="echo ${terminal}; exit 3"$`),
    );
    // The end record carries them too, with the status.
    await recordLike(
      offset,
      new RegExp(`session=end user="${alice.name}" .*service="sshd" rhost="127\\.0\\.0\\.1" .*exitStatus=3 .*command="echo ${terminal}; exit 3"$`),
    );
    const fromSu = await recordLike(offset, new RegExp(`${head} tty=false service="su-l" .*command="echo ${su}"$`));
    assert.doesNotMatch(fromSu, / rhost=/);
    // The PAM hook's own record says the same.
    await recordLike(offset, new RegExp(`pam=open_session user="${alice.name}" uid=${alice.uid} .* service="sshd" rhost="127\\.0\\.0\\.1"`));
  });

  it('explains a failing PAM hook in one line (user, service, error), and names user, service and remote host in the refusal', async () => {
    const bob = users.make(); // never logged in: the hook has a jail to make, and the login shell too
    const offset = statSync(AUTH_LOG).size;
    const tag = randomBytes(6).toString('hex');
    const missing = `/run/djt-no-engine-${tag}.sock`;
    const result = await withConfig(`[engine]\nsocket = ${missing}\n`, () => ssh(sshd, bob, [`echo ${tag}`]));
    assert.notEqual(result.status, 0, result.stdout);
    const failed = await recordLike(
      offset,
      new RegExp(`pam=failed type="open_session" user="${bob.name}" service="sshd" rhost="127\\.0\\.0\\.1" .*reason="[^"]+"$`),
    );
    assert.ok(failed.includes(missing), failed);
    await recordLike(
      offset,
      new RegExp(
        `session=refused user="${bob.name}" uid=${bob.uid} service="sshd" rhost="127\\.0\\.0\\.1" .*reason="[^"]*${missing}[^"]*" command="echo ${tag}"$`,
      ),
    );
  });

  it('records each administrator command with the acting human (loginuid, SUDO_USER) and its outcome; read-only ones not', async () => {
    const carol = users.make({ groups: [], shell: '/bin/bash' });
    const offset = statSync(AUTH_LOG).size;
    const enabled = asAdministrator(alice.uid, 'alice-by-sudo', ['enable', '--now', carol.name]);
    assert.equal(enabled.status, 0, enabled.stderr);
    const who = `uid=0 loginuid=${alice.uid} loginUser="${alice.name}" sudoUser="alice-by-sudo"`;
    await recordLike(offset, new RegExp(`admin=start command="enable" ${who} args="--now ${carol.name}"$`));
    await recordLike(offset, new RegExp(`admin=end command="enable" ${who} exitStatus=0 durationMs=\\d+ args="--now ${carol.name}"$`));
    // A failure, with why; and from a timer (no login session): loginuid unset.
    const bogus = `djt-nobody-${randomBytes(3).toString('hex')}`;
    assert.notEqual(asAdministrator(alice.uid, 'alice-by-sudo', ['disable', bogus]).status, 0);
    await recordLike(offset, new RegExp(`admin=end command="disable" ${who} exitStatus=[1-9]\\d* durationMs=\\d+ reason="[^"]+" args="${bogus}"$`));
    assert.equal(docker(['list']).status, 0);
    assert.equal(docker(['config', 'check']).status, 0);

    // gc, as its timer runs it, removes carol's jail once she is gone: one record naming the owner and why.
    assert.notEqual(jailOf(carol), '');
    sh(`pkill -KILL -u ${carol.uid} || true; userdel ${carol.name}`);
    await withConfig('[gc]\ngrace = 0\n', () => docker(['gc'])); // its status also says how every other jail went
    assert.equal(jailOf(carol), '');
    sh(`rm -rf ${carol.home}`);
    await recordLike(
      offset,
      new RegExp(
        `jail=removed jail="jail-${carol.name}" ownerUid=${carol.uid} owner="${carol.name}" reason="jail-${carol.name}: removed[^"]*gone or no longer jailed[^"]*"$`,
      ),
    );
    await recordLike(offset, /admin=end command="gc" uid=0 loginuid=(unset|\d+) .*exitStatus=\d+ durationMs=\d+ args=""$/);
    const lines = recordsSince(offset);
    assert.ok(!lines.some((line) => /admin=\w+ command="(list|config)"/.test(line)), lines.join('\n'));
  });
});
