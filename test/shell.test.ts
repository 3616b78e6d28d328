import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defaultConfig } from '../src/config/load';
import { renderSshdPolicy } from '../src/doctor/sshdPolicy';
import { ExitCode, JailError } from '../src/errors';
import type { Identity } from '../src/identity/nss';
import { accessOf, checkJailable } from '../src/policy/access';
import { scrubEnvironment, whitelistedEnv } from '../src/policy/environment';
import { callerUid, checkTextArguments, jailArgv, parseShellArgs, sessionToken } from '../src/session/login';

const alice: Identity = {
  user: 'alice',
  uid: 1001,
  gid: 1001,
  gecos: '',
  home: '/home/alice',
  groups: [
    { name: 'alice', gid: 1001 },
    { name: 'jailed', gid: 990 },
  ],
};
const groups: Record<string, number> = { jailed: 990, admins: 991 };
const gidOf = (name: string) => groups[name] ?? null;

describe('shell mode: what the launcher hands over', () => {
  it("accepts exactly the launcher's argv forms", () => {
    assert.deepEqual(parseShellArgs(['--login', '--']), { login: true, command: null });
    assert.deepEqual(parseShellArgs(['--no-login', '--', '-c', 'ls -l']), { login: false, command: 'ls -l' });
    assert.deepEqual(parseShellArgs(['--login', '--', '-c', '--help']), { login: true, command: '--help' });
  });

  for (const args of [
    [],
    ['--login'],
    ['--', '-c', 'x'],
    ['--login', '--', '-c'],
    ['--login', '--', '-c', 'a', 'b'],
    ['--login', '--', '-x', 'a'],
    ['--root', '--'],
  ]) {
    it(`refuses ${JSON.stringify(args)} as a usage error`, () => {
      assert.throws(
        () => parseShellArgs(args),
        (e: unknown) => e instanceof JailError && e.exitCode === 2,
      );
    });
  }

  it('reads the caller only from DOCKER_JAIL_UID, and only a plain number', () => {
    assert.equal(callerUid({ DOCKER_JAIL_UID: '1001' }), 1001);
    for (const bad of [undefined, '', '-1', '1e3', '0x10', ' 1', '1 ', '12345678901']) {
      assert.throws(() => callerUid({ DOCKER_JAIL_UID: bad }), /started through \/usr\/bin\/jailsh/);
    }
  });
});

describe('shell mode: who may be jailed', () => {
  it('lets a member of the jail group in', () => {
    checkJailable(alice, defaultConfig, gidOf);
  });

  it('refuses root even when root is in the jail group', () => {
    const root = { ...alice, user: 'root', uid: 0, gid: 0 };
    assert.throws(() => checkJailable(root, defaultConfig, gidOf), /root is never jailed/);
  });

  it('refuses a member of the exempt group even when also in the jail group', () => {
    const admin = { ...alice, groups: [...alice.groups, { name: 'admins', gid: 991 }] };
    assert.throws(() => checkJailable(admin, defaultConfig, gidOf), /exempt group admins/);
  });

  it('refuses a user outside the jail group, and everyone when the group does not exist', () => {
    const outsider = { ...alice, groups: [{ name: 'alice', gid: 1001 }] };
    assert.throws(() => checkJailable(outsider, defaultConfig, gidOf), /not in the group jailed/);
    assert.throws(() => checkJailable(alice, defaultConfig, () => null), /not in the group jailed/);
  });
});

describe('the access verdict', () => {
  const admin = { ...alice, groups: [...alice.groups, { name: 'admins', gid: 991 }] };
  const outsider = { ...alice, groups: [{ name: 'alice', gid: 1001 }] };

  it('is a value for every kind of user: jailed, root, exempt, outside', () => {
    assert.equal(accessOf(alice, defaultConfig, gidOf), 'jailed');
    assert.equal(accessOf({ ...alice, uid: 0 }, defaultConfig, gidOf), 'root');
    assert.equal(accessOf(admin, defaultConfig, gidOf), 'exempt');
    assert.equal(accessOf(outsider, defaultConfig, gidOf), 'outside');
  });

  it('puts root before the groups, and the exempt group before the jail group', () => {
    assert.equal(accessOf({ ...admin, uid: 0 }, defaultConfig, gidOf), 'root');
    assert.equal(accessOf(admin, defaultConfig, gidOf), 'exempt');
  });

  it('jails nobody while the jail group does not resolve, and lets an unresolved exempt group exempt nobody', () => {
    assert.equal(
      accessOf(alice, defaultConfig, (name) => (name === 'jailed' ? null : gidOf(name))),
      'outside',
    );
    assert.equal(
      accessOf(admin, defaultConfig, (name) => (name === 'admins' ? null : gidOf(name))),
      'jailed',
    );
  });

  it('reads the group names from the config', () => {
    const config = { ...defaultConfig, access: { ...defaultConfig.access, jailGroup: 'students', exemptGroup: 'staff' } };
    const names: Record<string, number> = { students: 990, staff: 991 };
    assert.equal(
      accessOf(alice, config, (name) => names[name] ?? null),
      'jailed',
    );
    assert.equal(
      accessOf(alice, defaultConfig, (name) => names[name] ?? null),
      'outside',
    );
  });
});

describe('shell mode: the jailed process', () => {
  it('passes only whitelisted variables, with prefix patterns', () => {
    const env = { TERM: 'xterm', LANG: 'C.UTF-8', LC_ALL: 'C', LCX: 'no', PATH: '/x', DOCKER_JAIL_UID: '1001', SSH_CONNECTION: '1 2 3 4' };
    assert.deepEqual(whitelistedEnv(env, ['TERM', 'LANG', 'LC_*']).sort(), ['LANG=C.UTF-8', 'LC_ALL=C', 'TERM=xterm']);
  });

  it('refuses a command that is not UTF-8, which the engine would get changed', () => {
    const cmdline = (...args: Buffer[]) => Buffer.concat(args.flatMap((a) => [a, Buffer.from([0])]));
    const text = (t: string) => Buffer.from(t);
    checkTextArguments(cmdline(text('docker-jail'), text('shell'), text('--'), text('-c'), text('echo héllo ✓')));
    for (const bad of [Buffer.from([0xff, 0xfe]), Buffer.from('caf\xe9', 'latin1'), Buffer.from([0xed, 0xa0, 0x80])]) {
      assert.throws(
        () => checkTextArguments(cmdline(text('docker-jail'), text('-c'), bad)),
        (error: unknown) => error instanceof JailError && error.exitCode === ExitCode.usage && /not valid UTF-8/.test(error.message),
      );
    }
  });

  it('marks each session with its own 96-bit random token', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => sessionToken()));
    assert.equal(tokens.size, 1000);
    for (const token of tokens) assert.match(token, /^[0-9a-f]{24}$/);
  });

  it('runs the configured shell, as a login shell when asked, with the command as one argument', () => {
    const argv = jailArgv('/bin/bash', { login: true, command: 'echo "$HOME"; id' });
    assert.deepEqual(argv.slice(3), ['jailsh', '/bin/bash', '-l', '-c', 'echo "$HOME"; id']);
    assert.deepEqual(jailArgv('/bin/zsh', { login: false, command: null }).slice(3), ['jailsh', '/bin/zsh']);
    assert.equal(argv[0], '/bin/sh');
  });
});

describe("the main program's own environment", () => {
  it('keeps in shell mode only what the launcher hands over', () => {
    const env: NodeJS.ProcessEnv = {
      PATH: '/usr/bin',
      DOCKER_JAIL_UID: '5',
      TERM: 'xterm',
      LC_ALL: 'C',
      SSH_CONNECTION: '1 2 3 4',
      DOCKER_HOST: 'tcp://x:1',
      DOCKER_CERT_PATH: '/tmp',
      HOME: '/tmp',
      NODE_OPTIONS: '-r x',
      LD_PRELOAD: 'x',
    };
    scrubEnvironment(env, 'shell');
    assert.deepEqual(Object.keys(env).sort(), ['DOCKER_JAIL_UID', 'LC_ALL', 'PATH', 'SSH_CONNECTION', 'TERM']);
  });

  it('keeps in the PAM hook only the PAM variables the launcher hands over', () => {
    const env: NodeJS.ProcessEnv = {
      PATH: '/usr/bin',
      PAM_USER: 'jo',
      PAM_TYPE: 'open_session',
      PAM_RHOST: 'h',
      DOCKER_JAIL_UID: '5',
      LD_PRELOAD: 'x',
      DOCKER_HOST: 'tcp://x:1',
    };
    scrubEnvironment(env, 'pam-hook');
    assert.deepEqual(Object.keys(env).sort(), ['PAM_RHOST', 'PAM_TYPE', 'PAM_USER', 'PATH']);
  });

  it('drops the DOCKER_* family in every other mode: the engine is the configured one', () => {
    const env: NodeJS.ProcessEnv = { HOME: '/root', DOCKER_HOST: 'tcp://x:1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/tmp' };
    scrubEnvironment(env, 'image');
    assert.deepEqual(env, { HOME: '/root' });
  });
});

describe('the sshd policy', () => {
  it('is the shipped drop-in for the default group, and names the configured group', () => {
    assert.equal(renderSshdPolicy('jailed'), readFileSync('etc/ssh/sshd_config.d/docker-jail.conf', 'utf8'));
    assert.match(renderSshdPolicy('students'), /^Match Group students\n\tDisableForwarding yes\n/m);
  });
});
