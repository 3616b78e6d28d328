// End-to-end proofs of the invariants of SECURITY.md that an attacker probes from
// outside: hostile environments (3), who may be jailed (5), bad config and a
// missing engine or image (7, 2, 4), and whose jail a login enters (1). Every
// attack is made observable: if it worked, a file, a connection or extra output
// would show it, and controls show the same payload working where nothing
// stops it.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { DEFAULT_CONFIG_PATH as CONFIG, MAIN_PROGRAM } from '../src/host/paths';
import { withConfig } from './support/config';
import { jailedUser, jailedUsers, loginAsync } from './support/fixtures';
import { type Ran, requireHost, run, runAsync, sh, type Timed } from './support/host';
import { Terminal } from './support/pty';
import { type Sshd, sshOptions, startSshd } from './support/sshd';
import { jailOf, type TestUser } from './support/users';

const EVIL = '/tmp/djt-evil';
const FAKE_DOCKER_PORT = 20000 + Math.floor(Math.random() * 20000);
const FAKE_DOCKER_SOCKET = `${EVIL}/fake.sock`;

function target(user: TestUser): string {
  return `${user.name}@127.0.0.1`;
}

/**
 * `ssh user command`, or `ssh -T user` reading the shell's input from stdin when
 * command is null; each [name, value] of env is sent by the client (SetEnv: the
 * test sshd accepts any name).
 */
function sshLogin(sshd: Sshd, user: TestUser, command: string | null, options: { env?: [string, string][]; input?: string } = {}): Promise<Timed> {
  const setEnv = (options.env ?? []).flatMap(([name, value]) => ['-o', `SetEnv=${name}="${value}"`]);
  const rest = command === null ? ['-T', target(user)] : [target(user), command];
  return runAsync('/usr/bin/ssh', [...sshOptions(sshd, user), ...setEnv, ...rest], { input: options.input });
}

/** Asserts the one-line refusal every failure must give: nothing on stdout, one `jailsh: ` line, non-zero exit. */
function assertRefused(result: Ran, message: RegExp): void {
  assert.notEqual(result.status, 0, `exit status 0; stdout: ${result.stdout}`);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^jailsh: [^\n]*\n$/, `not one jailsh: line: ${JSON.stringify(result.stderr)}`);
  assert.match(result.stderr, message);
}

function assertNoJail(user: TestUser): void {
  assert.equal(jailOf(user), '', `a jail was created for ${user.name}`);
}

/** Every file and directory below dir, as absolute paths. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map((entry) => `${dir}/${String(entry)}`);
}

/** Verifies the sshd PAM stack reads ~/.pam_environment: the third way an attacker sets variables. */
function requireUserReadenv(): void {
  const stack = readFileSync('/etc/pam.d/sshd', 'utf8');
  if (!/^\s*session\s+\S+\s+pam_env\.so\b.*\buser_readenv=1\b/m.test(stack)) {
    throw new Error('/etc/pam.d/sshd has no "pam_env.so user_readenv=1" session line: ~/.pam_environment cannot be tested (Debian 12 ships it)');
  }
}

describe('security invariants, attacked end to end', function () {
  this.timeout(60_000);
  let sshd: Sshd;

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'su', 'gcc', 'setpriv', 'python3');
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });

  describe('invariant 3: no environment variable changes what runs as root or on the host', function () {
    /**
     * Payloads in a world-readable directory, each leaving a record in it when
     * it runs: "<program> uid=<uid> ..." in a pwned-* file (evil.so is built
     * from evil-preload.c).
     */
    const payloads: Record<string, string> = {
      'evil.js': `require('fs').writeFileSync('${EVIL}/pwned-node-' + process.pid, process.execPath + ' uid=' + process.getuid() + '\\n');\n`,
      'evil.sh': `echo "$(readlink /proc/$$/exe) uid=$(id -u)" > ${EVIL}/pwned-sh-$$\n`,
      'certs/ca.pem': 'not a certificate\n',
      'certs/cert.pem': 'not a certificate\n',
      'certs/key.pem': 'not a key\n',
    };
    /** One variable per login; each would show if it took effect (a record, a connection, output, a file). */
    const attacks: [string, string][] = [
      ['LD_PRELOAD', `${EVIL}/evil.so`],
      ['NODE_OPTIONS', `--require=${EVIL}/evil.js`],
      ['PKG_EXECPATH', 'PKG_INVOKE_NODEJS'],
      ['PKG_NATIVE_CACHE_PATH', `${EVIL}/cache`],
      ['DOCKER_HOST', `tcp://127.0.0.1:${FAKE_DOCKER_PORT}`],
      ['DOCKER_HOST', `unix://${FAKE_DOCKER_SOCKET}`],
      ['DOCKER_CERT_PATH', `${EVIL}/certs`],
      ['NODE_EXTRA_CA_CERTS', `${EVIL}/certs/ca.pem`],
      ['HOME', `${EVIL}/home`],
      ['TMPDIR', `${EVIL}/tmp`],
      ['DEBUG', '*'],
      ['NODE_DEBUG', '*'],
      ['BASH_ENV', `${EVIL}/evil.sh`],
      ['ENV', `${EVIL}/evil.sh`],
    ];

    interface Delivery {
      title: string;
      /** What the test itself runs with the variable set: its own records only show the attack was armed. */
      vehicle: string | null;
      login(user: TestUser, name: string, value: string, command: string): Promise<Timed>;
    }
    const deliveries: Delivery[] = [
      {
        title: 'sent by the ssh client (SetEnv, AcceptEnv *)',
        vehicle: null,
        login: (user, name, value, command) => sshLogin(sshd, user, command, { env: [[name, value]] }),
      },
      {
        title: 'kept by su without -l from its caller',
        vehicle: '/usr/bin/su',
        login: (user, name, value, command) => runAsync('/bin/su', [user.name, '-c', command], { env: { PATH: '/usr/bin:/bin', [name]: value } }),
      },
      {
        title: "read by sshd's PAM stack from ~/.pam_environment",
        vehicle: null,
        async login(user, name, value, command) {
          const file = `${user.home}/.pam_environment`;
          writeFileSync(file, `${name} DEFAULT=${value}\n`, { mode: 0o644 });
          chownSync(file, user.uid, user.gid);
          try {
            return await sshLogin(sshd, user, command);
          } finally {
            rmSync(file, { force: true });
          }
        },
      },
    ];

    let baseline: Set<string>;
    const fakeEngines: Server[] = [];
    let fakeEngineConnections = 0;

    /** Files that appeared in the evil directory since the baseline, with what they record. */
    function newRecords(): string[] {
      return filesBelow(EVIL)
        .filter((path) => !baseline.has(path))
        .map((path) => `${path}: ${/\/pwned-[^/]*$/.test(path) ? readFileSync(path, 'utf8').trim() : '(created)'}`);
    }

    before(async () => {
      requireUserReadenv();
      rmSync(EVIL, { recursive: true, force: true });
      for (const dir of [EVIL, `${EVIL}/certs`, `${EVIL}/home`, `${EVIL}/tmp`, `${EVIL}/cache`]) mkdirSync(dir, { recursive: true });
      // World-writable and sticky like /tmp: the ordinary user's control records land here too.
      chmodSync(EVIL, 0o1777);
      for (const [file, text] of Object.entries(payloads)) writeFileSync(`${EVIL}/${file}`, text, { mode: 0o644 });
      sh(`gcc -shared -fPIC -DEVIL='"${EVIL}"' -o ${EVIL}/evil.so ${__dirname}/evil-preload.c && chmod 0755 ${EVIL}/evil.sh`);
      for (const address of [FAKE_DOCKER_PORT, FAKE_DOCKER_SOCKET]) {
        const server = createServer((socket) => {
          fakeEngineConnections++;
          socket.destroy();
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          if (typeof address === 'number') server.listen(address, '127.0.0.1', resolve);
          else server.listen(address, resolve);
        });
        fakeEngines.push(server);
      }
      chmodSync(FAKE_DOCKER_SOCKET, 0o777);
      baseline = new Set(filesBelow(EVIL));
    });
    const victim = jailedUser();
    const ordinary = jailedUser({ groups: [], shell: '/bin/bash' });
    afterEach(() => {
      for (const path of filesBelow(EVIL)
        .filter((p) => !baseline.has(p))
        .reverse())
        rmSync(path, { recursive: true, force: true });
    });
    // Registered after the users' own teardown: they go first, then the fake engines and the payloads.
    after(async () => {
      for (const server of fakeEngines) await new Promise((resolve) => server.close(resolve));
      rmSync(EVIL, { recursive: true, force: true });
    });

    for (const delivery of deliveries) {
      describe(`a variable ${delivery.title}`, function () {
        it('control: reaches an ordinary login shell, whose loader runs the LD_PRELOAD payload', async () => {
          const result = await delivery.login(ordinary, 'LD_PRELOAD', `${EVIL}/evil.so`, 'echo ok');
          assert.equal(result.stdout, 'ok\n', result.stderr);
          assert.ok(
            newRecords().some((record) => new RegExp(`/bash uid=${ordinary.uid} `).test(record)),
            `the payload did not run in the ordinary user's bash: ${newRecords().join('; ') || 'no record'}`,
          );
        });

        for (const [name, value] of attacks) {
          it(`${name}=${value}: nothing runs or changes on the host, and the login does its normal job in the jail`, async () => {
            const connectionsBefore = fakeEngineConnections;
            const result = await delivery.login(victim, name, value, 'echo ok-$(id -u) $(hostname) $HOME');
            assert.deepEqual(
              { status: result.status, stdout: result.stdout, stderr: result.stderr },
              { status: 0, stdout: `ok-${victim.uid} ${victim.name}-jail ${victim.home}\n`, stderr: '' },
            );
            const breaches = newRecords().filter((record) => delivery.vehicle === null || !record.includes(`: ${delivery.vehicle} `));
            assert.deepEqual(breaches, [], 'the variable took effect on the host');
            assert.equal(fakeEngineConnections - connectionsBefore, 0, 'something connected to the engine named in DOCKER_HOST');
          });
        }
      });
    }

    /** The main program in shell mode for the victim, as the launcher starts it, but with one more variable. */
    function mainProgramWith(name: string, value: string): Promise<Timed> {
      const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DOCKER_JAIL_UID: String(victim.uid), [name]: value };
      return runAsync(MAIN_PROGRAM, ['shell', '--no-login', '--', '-c', 'echo ok'], { env });
    }

    // Why the launcher must wipe the environment: these payloads work on the
    // main program when it is started without the launcher.
    const honouredByMainProgram: [string, string, string, (result: Ran) => boolean][] = [
      ['LD_PRELOAD', `${EVIL}/evil.so`, 'a record by the main program as root', () => newRecords().some((r) => r.includes(`${MAIN_PROGRAM} uid=0`))],
      ['NODE_DEBUG', '*', 'debug output on stderr', (result) => result.stderr !== ''],
    ];
    for (const [name, value, evidence, took] of honouredByMainProgram) {
      it(`control: the main program started without the launcher honours ${name}=${value} (${evidence})`, async () => {
        const result = await mainProgramWith(name, value);
        assert.equal(result.stdout, 'ok\n', result.stderr);
        assert.ok(took(result), `no ${evidence}: ${newRecords().join('; ') || 'no record'}`);
      });
    }

    // Defence in depth behind the launcher: the executable is built to take no options from NODE_OPTIONS.
    it('the main program itself, started without the launcher, ignores NODE_OPTIONS', async () => {
      const result = await mainProgramWith('NODE_OPTIONS', `--require=${EVIL}/evil.js`);
      assert.equal(result.stdout, 'ok\n', result.stderr);
      assert.deepEqual(
        newRecords().filter((r) => /pwned-node-/.test(r)),
        [],
        'node ran the NODE_OPTIONS payload',
      );
    });

    // Defence in depth behind the launcher: the engine client is given the
    // configured socket, so the engine variables must not matter even here.
    for (const value of [`tcp://127.0.0.1:${FAKE_DOCKER_PORT}`, `unix://${FAKE_DOCKER_SOCKET}`]) {
      it(`the main program itself, started without the launcher, ignores DOCKER_HOST=${value} and uses the configured socket`, async () => {
        const connectionsBefore = fakeEngineConnections;
        const result = await mainProgramWith('DOCKER_HOST', value);
        assert.equal(fakeEngineConnections - connectionsBefore, 0, `the main program connected to DOCKER_HOST (it said: ${result.stderr.trim()})`);
        assert.deepEqual({ status: result.status, stdout: result.stdout, stderr: result.stderr }, { status: 0, stdout: 'ok\n', stderr: '' });
      });
    }
  });

  describe('invariant 5: root and administrators are never jailed; a non-jailed user is refused', function () {
    // First: its teardown removes the users before the copy and the group go, as before.
    const users = jailedUsers();
    let createdAdmins = false;
    let admin: TestUser;
    let outsider: TestUser;
    let copyDir: string;

    before(() => {
      createdAdmins = run('getent', ['group', 'admins']).status !== 0;
      sh('groupadd -f admins');
      admin = users.make({ groups: ['jailed', 'admins'] });
      outsider = users.make({ groups: [] });
      copyDir = mkdtempSync('/var/tmp/djt-jailsh-');
      chmodSync(copyDir, 0o755);
      const mount = sh(`findmnt -n -o OPTIONS -T ${copyDir}`).trim().split(',');
      if (mount.includes('nosuid')) throw new Error(`${copyDir} is on a nosuid mount: the mis-installed launcher cannot be simulated there`);
    });
    after(() => {
      if (copyDir) rmSync(copyDir, { recursive: true, force: true });
      if (createdAdmins) sh('groupdel admins');
    });

    it('refuses root running /usr/bin/jailsh -c id with one line', () => {
      assertRefused(run('/usr/bin/jailsh', ['-c', 'id']), /root/);
    });

    const waysIn: [string, (user: TestUser) => Promise<Timed>][] = [
      ['ssh USER id', (user) => sshLogin(sshd, user, 'id')],
      ['su -l USER -c id', (user) => loginAsync(user, 'id')],
    ];
    for (const [way, login] of waysIn) {
      it(`refuses a member of both jailed and admins (${way}) with one line, and makes no jail`, async () => {
        assertRefused(await login(admin), new RegExp(`${admin.name} is in the exempt group admins`));
        assertNoJail(admin);
      });

      it(`does not let a user outside jailed through /usr/bin/jailsh as login shell (${way}): the PAM account rule refuses the login`, async () => {
        const result = await login(outsider);
        assert.notEqual(result.status, 0);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, /^(|su: Authentication failure\n)$/);
        assertNoJail(outsider);
      });
    }

    it('does not let a user outside jailed execute /usr/bin/jailsh: the kernel refuses the exec (mode 4754 root:jailed)', () => {
      // runuser (no account check) drops every capability before its exec; setpriv's exec still passes the file's mode.
      const result = run('/usr/sbin/runuser', ['-u', outsider.name, '--', '/usr/bin/jailsh', '-c', 'id']);
      assert.notEqual(result.status, 0);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /Permission denied/);
      assertNoJail(outsider);
    });

    it('refuses a user outside jailed even when the launcher is mis-installed 4755 root:root', () => {
      const copy = `${copyDir}/jailsh`;
      copyFileSync('/usr/bin/jailsh', copy);
      chownSync(copy, 0, 0);
      chmodSync(copy, 0o4755);
      const result = run('/usr/bin/setpriv', [`--reuid=${outsider.uid}`, `--regid=${outsider.gid}`, '--init-groups', copy, '-c', 'id']);
      assertRefused(result, new RegExp(`${outsider.name} is not in the group jailed`));
      assertNoJail(outsider);
    });
  });

  describe('invariants 7 and 2: a bad or insecure config fails closed, naming the file', function () {
    const valid = '[engine]\nsocket = /var/run/docker.sock\n';
    interface BadConfig {
      title: string;
      text: string;
      mode?: number;
      owner?: number;
      message: RegExp;
    }
    const badConfigs: BadConfig[] = [
      {
        title: 'writable by others (mode 0666)',
        text: valid,
        mode: 0o666,
        message: /^jailsh: \/etc\/docker-jail\.ini: refused: writable by group or others \(mode 0666\)/,
      },
      { title: 'owned by uid 1000', text: valid, owner: 1000, message: /^jailsh: \/etc\/docker-jail\.ini: refused: owned by uid 1000/ },
      {
        title: 'an unknown key on line 3',
        text: '[engine]\n# where the engine listens\nsockett = /var/run/docker.sock\n',
        message: /^jailsh: \/etc\/docker-jail\.ini:3: .*\bsockett\b/,
      },
      { title: 'a syntax error on line 3', text: '[jail]\n\nimage docker-jail/base:bookworm\n', message: /^jailsh: \/etc\/docker-jail\.ini:3: .*\bimage\b/ },
      {
        title: 'a bad value on line 3',
        text: '[jail]\n# no host network, ever\nnetwork = host\n',
        message: /^jailsh: \/etc\/docker-jail\.ini:3: .*\bnetwork\b/,
      },
    ];

    /**
     * withConfig, plus the mode and owner asked for. Its own mode argument only
     * applies when it creates the file, so they are set here, and put back
     * before it restores the original text into the same file.
     */
    function withBadConfig<T>(config: BadConfig, fn: () => Promise<T>): Promise<T> {
      return withConfig(config.text, async () => {
        chmodSync(CONFIG, config.mode ?? 0o644);
        chownSync(CONFIG, config.owner ?? 0, 0);
        try {
          return await fn();
        } finally {
          chmodSync(CONFIG, 0o644);
          chownSync(CONFIG, 0, 0);
        }
      });
    }

    const user = jailedUser();

    for (const config of badConfigs) {
      it(`${config.title}: \`ssh USER 'echo hi'\` gets one line and a non-zero exit, and no jail is made`, async () => {
        const result = await withBadConfig(config, () => sshLogin(sshd, user, 'echo hi'));
        assertRefused(result, config.message);
        assertNoJail(user);
      });

      it(`${config.title}: an interactive \`ssh -tt\` ends with that line and a non-zero exit, never a prompt`, async () => {
        const { text, status } = await withBadConfig(config, async () => {
          const term = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, user), '-tt', target(user)]);
          const exited = await Promise.race([term.exited, new Promise<null>((resolve) => setTimeout(resolve, 20_000, null))]);
          if (exited === null) term.kill();
          return { text: term.text, status: exited };
        });
        assert.ok(status !== null, `the login did not end; the terminal showed:\n${text}`);
        assert.notEqual(status, 0);
        const lines = text.split(/\r?\n/).filter((line) => line.startsWith('jailsh: '));
        assert.equal(lines.length, 1, `expected one jailsh: line in:\n${text}`);
        assert.match(lines[0], config.message);
        assert.doesNotMatch(text, /\$ /, 'a prompt appeared');
        assertNoJail(user);
      });
    }
  });

  describe('invariants 2 and 4: no engine, or an engine socket a user could control, fails closed and fast', function () {
    const deadDir = '/run/djt-dead';
    const userDir = '/run/djt-userdir';
    interface BadEngine {
      title: string;
      socket: string;
      message: RegExp;
    }
    const badEngines: BadEngine[] = [
      {
        title: 'a root-owned socket nobody listens on',
        socket: `${deadDir}/docker.sock`,
        message: /the Docker engine at \/run\/djt-dead\/docker\.sock is not reachable \(ECONNREFUSED\)/,
      },
      {
        title: 'a socket path that does not exist',
        socket: `${deadDir}/absent.sock`,
        message: /the Docker engine at \/run\/djt-dead\/absent\.sock is not reachable \(ENOENT\)/,
      },
      { title: 'a regular file instead of a socket', socket: `${deadDir}/plain-file`, message: /\/run\/djt-dead\/plain-file is not a socket/ },
      {
        title: 'a socket owned by uid 1000',
        socket: `${deadDir}/user.sock`,
        message: /refusing the Docker engine socket \/run\/djt-dead\/user\.sock: it must be owned by root/,
      },
      {
        title: 'a socket in a directory owned by uid 1000',
        socket: `${userDir}/docker.sock`,
        message: /refusing the Docker engine directory \/run\/djt-userdir: it must be owned by root/,
      },
    ];

    /** A unix socket bound and never listened on: connecting to it is refused at once. */
    function makeDeadSocket(path: string, owner: number): void {
      sh(`/usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' ${path}`);
      chmodSync(path, 0o660);
      chownSync(path, owner, 0);
    }

    before(() => {
      for (const dir of [deadDir, userDir]) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { mode: 0o755 });
        chmodSync(dir, 0o755);
      }
      makeDeadSocket(`${deadDir}/docker.sock`, 0);
      makeDeadSocket(`${deadDir}/user.sock`, 1000);
      makeDeadSocket(`${userDir}/docker.sock`, 0);
      chownSync(userDir, 1000, 0);
      writeFileSync(`${deadDir}/plain-file`, '', { mode: 0o660 });
    });
    const user = jailedUser();
    // Registered after the user's own teardown, as before.
    after(() => {
      for (const dir of [deadDir, userDir]) rmSync(dir, { recursive: true, force: true });
    });

    for (const engine of badEngines) {
      it(`${engine.title}: one line naming it, well before the engine timeout, and no jail`, async () => {
        const result = await withConfig(`[engine]\nsocket = ${engine.socket}\n`, () => sshLogin(sshd, user, 'echo hi'));
        assertRefused(result, engine.message);
        // A hang check, not a benchmark: the engine timeout is 20 s.
        assert.ok(result.ms < 10_000, `the login took ${result.ms} ms to fail`);
        assertNoJail(user);
      });
    }
  });

  describe('invariant 2: a jail image that is not built fails closed', function () {
    const absent = 'docker-jail/absent:nothing';
    before(() => {
      if (run('docker', ['image', 'inspect', absent]).status === 0) throw new Error(`the image ${absent} exists; remove it`);
    });
    const newcomer = jailedUser();

    it('tells a new user the image is not built and how an administrator builds it; no container is left', async () => {
      const result = await withConfig(`[jail]\nimage = ${absent}\n`, () => sshLogin(sshd, newcomer, 'echo hi'));
      assertRefused(result, /the jail image docker-jail\/absent:nothing is not built.*docker-jail image build/);
      assertNoJail(newcomer);
    });
  });

  describe('invariant 1: a user only ever enters their own jail', function () {
    const alice = jailedUser();
    const bob = jailedUser();
    /** Prints the uid, hostname and container it runs in (Docker bind-mounts /etc/hostname from the container's own directory). */
    const probe =
      'echo uid=$(id -u) host=$(hostname) container=$(sed -n "s#.* /[^ ]*/containers/\\([0-9a-f]\\{64\\}\\)/hostname /etc/hostname .*#\\1#p" /proc/self/mountinfo)';
    let aliceSees: string;

    function containerOf(user: TestUser): string {
      return sh(`docker inspect -f '{{.Id}}' ${jailOf(user)}`).trim();
    }

    before(async () => {
      for (const user of [alice, bob]) assert.equal((await sshLogin(sshd, user, 'true')).status, 0, `${user.name} cannot log in`);
      aliceSees = `uid=${alice.uid} host=${alice.name}-jail container=${containerOf(alice)}\n`;
      assert.notEqual(containerOf(alice), containerOf(bob));
    });

    const commands: [string, (other: TestUser) => string][] = [
      ['jailsh and shell-mode options', () => `: shell --login -- -c id; ${probe}`],
      ['"--" and "-c" in front of the probe', () => `echo -- -c >/dev/null && ${probe}`],
      ['another user, uid and container', (other) => `: --user=${other.name} -u ${other.uid} jail-${other.name}; ${probe}`],
      ['variables the main program reads, set in the command', (other) => `DOCKER_JAIL_UID=${other.uid} USER=${other.name} eval '${probe}'`],
    ];
    for (const [what, command] of commands) {
      it(`runs \`ssh USER CMD\` as a command in the user's own jail when CMD holds ${what}`, async () => {
        const result = await sshLogin(sshd, alice, command(bob));
        assert.equal(result.stdout, aliceSees, result.stderr);
        assert.equal(result.status, 0);
      });
    }

    const variables: [string, (other: TestUser) => string][] = [
      ['DOCKER_JAIL_UID', (other) => String(other.uid)],
      ['USER', (other) => other.name],
      ['LOGNAME', (other) => other.name],
      ['HOME', (other) => other.home],
    ];
    for (const [name, value] of variables) {
      it(`enters the user's own jail when the client sends ${name} of another user`, async () => {
        const result = await sshLogin(sshd, alice, probe, { env: [[name, value(bob)]] });
        assert.equal(result.stdout, aliceSees, result.stderr);
      });
    }

    it("enters the user's own jail when ~/.pam_environment names another uid in DOCKER_JAIL_UID", async () => {
      requireUserReadenv();
      const file = `${alice.home}/.pam_environment`;
      writeFileSync(file, `DOCKER_JAIL_UID DEFAULT=${bob.uid}\n`);
      chownSync(file, alice.uid, alice.gid);
      try {
        assert.equal((await sshLogin(sshd, alice, probe)).stdout, aliceSees);
      } finally {
        rmSync(file, { force: true });
      }
    });

    const usageErrors: string[][] = [['-x'], ['-c', 'MARK', 'extra'], ['-c'], ['--', '-c', 'MARK'], ['-c', 'MARK', '-c', 'MARK']];
    for (const args of usageErrors) {
      it(`refuses \`jailsh ${args.join(' ')}\` run by the user with a usage error (exit 2), running nothing`, () => {
        const marker = `${alice.home}/ran-${randomBytes(4).toString('hex')}`;
        const argv = args.map((arg) => arg.replace('MARK', `touch ${marker}`));
        const result = run('/usr/bin/setpriv', [`--reuid=${alice.uid}`, `--regid=${alice.gid}`, '--init-groups', '/usr/bin/jailsh', ...argv]);
        assert.deepEqual(result, { status: 2, stdout: '', stderr: 'jailsh: usage: jailsh [-c command]\n' });
        assert.ok(!existsSync(marker), 'the command ran');
      });
    }

    it('runs the command given, not an SSH_ORIGINAL_COMMAND sent by the client', async () => {
      const marker = `${alice.home}/ran-original-command`;
      const result = await sshLogin(sshd, alice, probe, { env: [['SSH_ORIGINAL_COMMAND', `touch ${marker}`]] });
      assert.equal(result.stdout, aliceSees, result.stderr);
      assert.ok(!existsSync(marker), 'SSH_ORIGINAL_COMMAND ran');
    });

    it('runs the shell on stdin, not an SSH_ORIGINAL_COMMAND sent by the client, when no command is given', async () => {
      const marker = `${alice.home}/ran-original-command`;
      const result = await sshLogin(sshd, alice, null, { env: [['SSH_ORIGINAL_COMMAND', `touch ${marker}`]], input: `${probe}\n` });
      // The message of the day may come first.
      assert.ok(result.stdout.endsWith(aliceSees), `unexpected output:\n${result.stdout}${result.stderr}`);
      assert.ok(!existsSync(marker), 'SSH_ORIGINAL_COMMAND ran');
    });
  });
});
