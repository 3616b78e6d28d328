import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { requireHost, run } from '../support/host';
import { createUser, removeUser, type TestUser } from '../support/users';

/**
 * The installed launcher and main program started by a hostile caller, end to
 * end: each case is either refused with one clean line or does its normal job
 * in the jail, never a crash, a core dump or half a login. test/launcher.test.ts
 * checks the launcher's clean-up itself with a probe; the fuzzer the rest.
 */
describe('adversarial: the installed jailsh started in a hostile state', function () {
  this.timeout(60_000);
  let user: TestUser;

  /** Runs a bash script as the user whose last command starts jailsh; the script sets up the hostile state. */
  const asUser = (script: string) =>
    run('/usr/bin/setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '/bin/bash', '-c', script], {
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', HOME: user.home },
      maxBuffer: 64 * 1024 * 1024,
    });

  before(() => {
    requireHost('docker', 'setpriv', 'prlimit', 'od');
    user = createUser({ prefix: 'djadv' });
    assert.equal(asUser('/usr/bin/jailsh -c true').status, 0, 'the first login failed');
  });
  after(() => removeUser(user));

  it('works normally when the caller lowered the soft limits on open files, address space, stack and CPU time', () => {
    // Before the launcher lifted them, node aborted at start (12 open files) or crashed (100 MB of address space).
    const result = asUser('exec prlimit --nofile=12: --as=100000000: --stack=131072: --cpu=1: /usr/bin/jailsh -c "echo ok-$(id -u)"');
    assert.deepEqual({ status: result.status, stdout: result.stdout, stderr: result.stderr }, { status: 0, stdout: `ok-${user.uid}\n`, stderr: '' });
  });

  it('lifts lowered hard limits too, or refuses with one line when root lacks CAP_SYS_RESOURCE, nothing started', () => {
    const bounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    assert.ok(bounding, 'no CapBnd in /proc/self/status');
    const canLift = (BigInt(`0x${bounding[1]}`) & (1n << 24n)) !== 0n;
    for (const [limit, what] of [
      ['--nofile=12:12', 'open files'],
      ['--as=100000000:100000000', 'address space'],
      ['--stack=131072:131072', 'stack size'],
      ['--cpu=1:1', 'CPU time'],
    ]) {
      const result = asUser(`exec prlimit ${limit} /usr/bin/jailsh -c "touch ~/ran; echo ok"`);
      const expected = canLift
        ? { status: 0, stdout: 'ok\n', stderr: '' }
        : { status: 126, stdout: '', stderr: `jailsh: cannot lift the ${what} limit: Operation not permitted\n` };
      assert.deepEqual({ status: result.status, stdout: result.stdout, stderr: result.stderr }, expected, limit);
      assert.equal(existsSync(`${user.home}/ran`), canLift, limit);
      rmSync(`${user.home}/ran`, { force: true });
    }
  });

  it('refuses 200,000 arguments with its usage line, nothing started', () => {
    // An unlimited stack lets the kernel pass that many; the default would refuse the exec itself (E2BIG).
    const result = asUser('ulimit -s unlimited; exec /usr/bin/jailsh -c "touch ~/ran" $(seq 200000)');
    assert.deepEqual(
      { status: result.status, stdout: result.stdout, stderr: result.stderr },
      { status: 2, stdout: '', stderr: 'jailsh: usage: jailsh [-c command]\n' },
    );
    assert.equal(existsSync(`${user.home}/ran`), false);
  });

  it('refuses a command that is not UTF-8 (the engine would get it changed), nothing started', () => {
    const result = asUser("exec /usr/bin/jailsh -c $'touch ~/ran; echo \\xff\\xfe'");
    assert.deepEqual(
      { status: result.status, stdout: result.stdout, stderr: result.stderr },
      { status: 2, stdout: '', stderr: 'jailsh: the command is not valid UTF-8 text; the Docker engine can only be given text\n' },
    );
    assert.equal(existsSync(`${user.home}/ran`), false);
  });

  it('passes a UTF-8 command byte for byte', () => {
    const result = asUser('exec /usr/bin/jailsh -c $\'printf %s "h\\xc3\\xa9 \\xe2\\x9c\\x93" | od -An -tx1\'');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim().replace(/\s+/g, ' '), '68 c3 a9 20 e2 9c 93');
  });

  it('runs normally from a cwd in /proc/self/fd and from a deleted directory, starting the shell in the home', () => {
    for (const setup of ['exec 3</etc; cd /proc/self/fd/3', 'mkdir -p ~/gone && cd ~/gone && rmdir ~/gone']) {
      const result = asUser(`${setup} && exec /usr/bin/jailsh -c pwd`);
      assert.deepEqual({ status: result.status, stdout: result.stdout, stderr: result.stderr }, { status: 0, stdout: `${user.home}\n`, stderr: '' }, setup);
    }
  });

  it("does its job with fds 0-2 closed, HUP and PIPE ignored and umask 000, giving the session the jail's own umask", () => {
    const result = asUser("trap '' HUP PIPE; umask 000; exec 0<&- 1>&- 2>&-; exec /usr/bin/jailsh -c 'touch ~/made; echo lost'");
    assert.equal(result.status, 0);
    assert.equal(result.stdout + result.stderr, '', 'output went somewhere with fds 1 and 2 closed');
    const made = statSync(`${user.home}/made`);
    assert.equal(made.uid, user.uid);
    assert.equal(made.mode & 0o777, 0o644, "the caller's umask 000 reached the session");
  });
});
