/**
 * The group logic of debian/docker-jail.postinst, run as it is with every command it
 * calls replaced by a stub that records its arguments: which getent answer and which
 * configure call create a group, which names the config gives it. glibc's getent exits
 * 2 for an unanswering source too, so a lookup failure (any other status) cannot be
 * made with a real NSS setup. Its two fixed paths (the config, root's state directory)
 * are pointed into the stubs' directory; nothing else of the script is changed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DEFAULT_CONFIG_PATH, EXEMPT_GROUP_RECORD, STATE_DIR } from '../src/host/paths';

const POSTINST = 'debian/docker-jail.postinst';
const STUBBED = ['getent', 'addgroup', 'mkdir', 'chmod', 'dpkg-statoverride', 'add-shell', 'pam-auth-update', 'invoke-rc.d'];

interface PostinstRun {
  status: number | null;
  stderr: string;
  calls: string[];
  /** What postinst recorded in EXEMPT_GROUP_RECORD, or null. */
  record: string | null;
}

/**
 * Runs postinst with these arguments; getent exits getentStatus for a group
 * until addgroup made it, then answers with gid 999. config: the text of
 * /etc/docker-jail.ini, or none.
 */
function postinst(args: string[], getentStatus: number, config?: string): PostinstRun {
  const stubs = mkdtempSync(`${tmpdir()}/djt-postinst-`);
  try {
    for (const name of STUBBED) {
      // dpkg-statoverride --list finds no override, so postinst adds one.
      const status = name === 'dpkg-statoverride' ? '$([ "$1" = --list ] && echo 1 || echo 0)' : '0';
      const body =
        name === 'getent'
          ? `[ -e ${stubs}/made-$2 ] && { echo "$2:x:999:"; exit 0; }\nexit ${getentStatus}`
          : name === 'addgroup'
            ? `touch "${stubs}/made-$3"\nexit 0`
            : `exit ${status}`;
      writeFileSync(`${stubs}/${name}`, `#!/bin/sh\necho "${name} $*" >>${stubs}/calls\n${body}\n`);
      chmodSync(`${stubs}/${name}`, 0o755);
    }
    writeFileSync(`${stubs}/calls`, '');
    mkdirSync(`${stubs}/state`);
    if (config !== undefined) writeFileSync(`${stubs}/docker-jail.ini`, config);
    const script = readFileSync(POSTINST, 'utf8').replaceAll(DEFAULT_CONFIG_PATH, `${stubs}/docker-jail.ini`).replaceAll(STATE_DIR, `${stubs}/state`);
    writeFileSync(`${stubs}/postinst`, script);
    const result = spawnSync('/bin/sh', [`${stubs}/postinst`, ...args], { env: { PATH: `${stubs}:/usr/bin:/bin` }, encoding: 'utf8' });
    const record = EXEMPT_GROUP_RECORD.replace(STATE_DIR, `${stubs}/state`);
    return {
      status: result.status,
      stderr: result.stderr,
      calls: readFileSync(`${stubs}/calls`, 'utf8').split('\n').filter(Boolean),
      record: existsSync(record) ? readFileSync(record, 'utf8') : null,
    };
  } finally {
    rmSync(stubs, { recursive: true, force: true });
  }
}

const groupCalls = (calls: string[]) => calls.filter((call) => /^(getent|addgroup) /.test(call));

describe('postinst: which groups it creates', () => {
  it('on a first install, creates the groups NSS says are absent (getent exit 2)', () => {
    const run = postinst(['configure', ''], 2);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(groupCalls(run.calls), [
      'getent group jailed',
      'addgroup --quiet --system jailed',
      'getent group admins',
      'addgroup --quiet --system admins',
      'getent group admins',
    ]);
    // It made the exempt group: recorded with its gid, so doctor knows its members were put there since.
    assert.equal(run.record, 'admins 999\n');
  });

  it('on a first install, leaves groups that exist alone', () => {
    const run = postinst(['configure', ''], 0);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(groupCalls(run.calls), ['getent group jailed', 'getent group admins']);
    // An exempt group that was there before: no record, so doctor names its members.
    assert.equal(run.record, null);
  });

  it('on an upgrade or a reconfigure ($2 set), never looks a group up nor creates one', () => {
    const run = postinst(['configure', '0.1.0'], 2);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(groupCalls(run.calls), []);
    assert.equal(run.record, null);
  });

  it('creates the groups the config names (plain or quoted, around comments and other sections), and gives jailsh to its jail group', () => {
    const config = [
      '# jail_group = commented',
      '[jail]',
      'jail_group = not-this-section',
      '[access]',
      '; exempt_group = commented',
      'jail_group = inmates',
      'exempt_group = "wardens"',
      '[session]',
      'exempt_group = not-this-section',
      '',
    ].join('\n');
    const run = postinst(['configure', ''], 2, config);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(groupCalls(run.calls), [
      'getent group inmates',
      'addgroup --quiet --system inmates',
      'getent group wardens',
      'addgroup --quiet --system wardens',
      'getent group wardens',
    ]);
    assert.equal(run.record, 'wardens 999\n');
    assert.ok(run.calls.includes('dpkg-statoverride --update --add root inmates 4754 /usr/bin/jailsh'), run.calls.join('\n'));
  });

  it('falls back to jailed and admins for a key the config does not set', () => {
    const run = postinst(['configure', ''], 2, '[access]\nexempt_group = wardens\n');
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(
      groupCalls(run.calls).filter((call) => call.startsWith('addgroup')),
      ['addgroup --quiet --system jailed', 'addgroup --quiet --system wardens'],
    );
  });

  for (const [what, value] of [
    ['a command substitution', '$(touch /tmp/djt-pwned)'],
    ['an option', '--gid=0'],
    ['a space', 'two words'],
    ['a name too long', `g${'x'.repeat(40)}`],
  ] as const) {
    it(`refuses a group name in the config that is ${what}: one line naming the key, no command run with it`, () => {
      const run = postinst(['configure', ''], 2, `[access]\njail_group = ${value}\n`);
      assert.equal(run.status, 1);
      // The config's path is the stubs' copy here.
      assert.match(
        run.stderr,
        /^docker-jail: \S+\/docker-jail\.ini: \[access\] jail_group is not a group name \(a letter or _, then up to 31 letters, digits, _ \. or -\); fix it and run 'dpkg --configure -a'\n$/,
      );
      assert.equal(existsSync('/tmp/djt-pwned'), false);
      assert.deepEqual(groupCalls(run.calls), []);
      assert.equal(
        run.calls.some((call) => call.startsWith('dpkg-statoverride')),
        false,
      );
    });
  }

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
