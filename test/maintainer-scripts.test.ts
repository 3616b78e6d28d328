/**
 * The group logic of debian/docker-jail.postinst, run as it is with every command it
 * calls replaced by a stub that records its arguments: which getent answer and which
 * configure call create a group. glibc's getent exits 2 for an unanswering source
 * too, so a lookup failure (any other status) cannot be made with a real NSS setup.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const POSTINST = 'debian/docker-jail.postinst';
const STUBBED = ['getent', 'groupadd', 'mkdir', 'chmod', 'dpkg-statoverride', 'add-shell', 'pam-auth-update', 'invoke-rc.d'];

/** Runs postinst with these arguments; getent exits getentStatus. Returns its status, stderr and the stubs' calls. */
function postinst(args: string[], getentStatus: number): { status: number | null; stderr: string; calls: string[] } {
  const stubs = mkdtempSync(`${tmpdir()}/djt-postinst-`);
  try {
    for (const name of STUBBED) {
      // getent answers as asked; dpkg-statoverride --list finds no override, so postinst adds one.
      const status = name === 'getent' ? `${getentStatus}` : name === 'dpkg-statoverride' ? '$([ "$1" = --list ] && echo 1 || echo 0)' : '0';
      writeFileSync(`${stubs}/${name}`, `#!/bin/sh\necho "${name} $*" >>${stubs}/calls\nexit ${status}\n`);
      chmodSync(`${stubs}/${name}`, 0o755);
    }
    writeFileSync(`${stubs}/calls`, '');
    const result = spawnSync('/bin/sh', [POSTINST, ...args], { env: { PATH: `${stubs}:/usr/bin:/bin` }, encoding: 'utf8' });
    return { status: result.status, stderr: result.stderr, calls: readFileSync(`${stubs}/calls`, 'utf8').split('\n').filter(Boolean) };
  } finally {
    rmSync(stubs, { recursive: true, force: true });
  }
}

const groupCalls = (calls: string[]) => calls.filter((call) => /^(getent|groupadd) /.test(call));

describe('postinst: which groups it creates', () => {
  it('on a first install, creates the groups NSS says are absent (getent exit 2)', () => {
    const run = postinst(['configure', ''], 2);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(groupCalls(run.calls), ['getent group jailed', 'groupadd --system jailed', 'getent group admins', 'groupadd --system admins']);
  });

  it('on a first install, leaves groups that exist alone', () => {
    const run = postinst(['configure', ''], 0);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(groupCalls(run.calls), ['getent group jailed', 'getent group admins']);
  });

  it('on an upgrade or a reconfigure ($2 set), never looks a group up nor creates one', () => {
    const run = postinst(['configure', '0.1.0'], 2);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(groupCalls(run.calls), []);
  });

  for (const status of [1, 3, 127]) {
    it(`on a first install whose lookup fails (getent exit ${status}), creates nothing and fails with one line naming the group`, () => {
      const run = postinst(['configure', ''], status);
      assert.equal(run.status, 1);
      assert.deepEqual(groupCalls(run.calls), ['getent group jailed']);
      assert.equal(
        run.stderr,
        `docker-jail: the lookup of group jailed failed (getent exit ${status}); not creating it: run 'dpkg --configure -a' once the group database answers\n`,
      );
      assert.equal(
        run.calls.some((call) => call.startsWith('dpkg-statoverride --update')),
        false,
      );
    });
  }
});

/** Runs postinst configure with docker answering as the script says; returns its status and stderr. */
function postinstWithEngine(docker: string): { status: number | null; stderr: string } {
  const stubs = mkdtempSync(`${tmpdir()}/djt-postinst-`);
  try {
    const stubbed: Record<string, string> = { docker };
    for (const name of ['getent', 'groupadd', 'mkdir', 'chmod', 'dpkg-statoverride', 'pam-auth-update', 'invoke-rc.d']) stubbed[name] = 'exit 0';
    for (const [name, body] of Object.entries(stubbed)) {
      writeFileSync(`${stubs}/${name}`, `#!/bin/sh\n${body}\n`);
      chmodSync(`${stubs}/${name}`, 0o755);
    }
    const result = spawnSync('/bin/sh', [POSTINST, 'configure', ''], { env: { PATH: `${stubs}:/usr/bin:/bin` }, encoding: 'utf8' });
    return { status: result.status, stderr: result.stderr };
  } finally {
    rmSync(stubs, { recursive: true, force: true });
  }
}

describe('postinst: what is left to do when the jail image is missing', () => {
  it('names `docker-jail image build` when the engine has no image of docker-jail, and succeeds', () => {
    const run = postinstWithEngine('[ "$*" = "image ls -q --filter label=io.docker-jail.managed=true" ] || exit 9');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /^docker-jail: no jail image is built yet; before the first jailed login, run: docker-jail image build$/m);
    assert.ok(run.stderr.split('\n').filter(Boolean).length <= 2, run.stderr);
  });

  it('says nothing of the image when one is built', () => {
    const run = postinstWithEngine('echo 0123456789ab');
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /image/);
  });

  it('says to build it once the engine runs when the engine does not answer, and still succeeds', () => {
    const run = postinstWithEngine('echo "Cannot connect to the Docker daemon" >&2; exit 1');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /^docker-jail: the Docker engine did not answer; once it runs, build the jail image .*: docker-jail image build$/m);
  });
});
