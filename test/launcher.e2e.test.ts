// Tests of the static setuid launcher, launcher/jailsh.c.
//
// This suite builds a variant that execs a probe (test/support/
// launcher-probe.c) instead of the main program, installs it setuid root,
// and runs it as a real unprivileged user through a hostile caller (the same
// file built as an exec helper) that controls argv, environment, fds,
// signals, umask, rlimits and cwd. The probe reports what arrived. The same
// launcher run as root under its second name, docker-jail-pam-hook (as
// pam_exec does), is the PAM hook.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLauncher, mustRun } from './support/launcherBuild';

const repoRoot = path.resolve(__dirname, '..');
const probeSource = path.join(repoRoot, 'test', 'support', 'launcher-probe.c');
const usage = 'jailsh: usage: jailsh [-c command]\n';
const hookUsage = 'jailsh: usage: docker-jail-pam-hook (run by pam_exec)\n';
const hookRefused = 'jailsh: the PAM hook is run by PAM only\n';
const installedHook = '/usr/lib/docker-jail/docker-jail-pam-hook';
const cleanPath = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';

/** What a user can put into the caller's or the PAM environment (~/.pam_environment). */
const dangerous = [
  'LD_PRELOAD=/tmp/evil.so',
  'LD_LIBRARY_PATH=/tmp',
  'LD_AUDIT=/tmp/evil.so',
  'NODE_OPTIONS=--require /tmp/evil.js',
  'NODE_PATH=/tmp',
  'PKG_EXECPATH=PKG_INVOKE_NODEJS',
  'PKG_NATIVE_CACHE_PATH=/tmp/cache',
  'DOCKER_HOST=tcp://192.0.2.1:2375',
  'DOCKER_CERT_PATH=/tmp/certs',
  'DOCKER_TLS_VERIFY=',
  'DOCKER_CONFIG=/tmp',
  'HOME=/root',
  'TMPDIR=/tmp/evil',
  'DEBUG=*',
  'GLIBC_TUNABLES=glibc.malloc.check=3',
  'BASH_ENV=/tmp/evil',
  'ENV=/tmp/evil',
  'SHELL=/bin/sh',
  'USER=root',
  'LOGNAME=root',
  'IFS=/',
  'LANGUAGE=de',
  'PATH=/tmp/evil:/usr/bin',
  'NO_EQUALS_SIGN',
  '=C',
  'term=xterm',
  'LC_=C',
  'LC_all=C',
  'LC_1=C',
];

/** A valid value for every variable the PAM hook keeps, as sshd sets them. */
const pamVars = ['PAM_USER=jo@corp', 'PAM_TYPE=open_session', 'PAM_SERVICE=sshd', 'PAM_TTY=ssh', 'PAM_RHOST=192.0.2.1'];

/** What the probe received, from its report file. */
interface Probe {
  uid: string;
  gid: string;
  groups: string;
  argv: string[];
  env: string[];
  fds: string[];
  openFds: number[];
  sigIgn: string;
  sigBlk: string;
  umask: string;
  core: string;
  fsize: string;
  nofile: string;
  as: string;
  data: string;
  stack: string;
  cpu: string;
  cwd: string;
}

/** Reverses the probe's escaping: "\\" and "\xHH". */
function unescapeProbe(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === 'x') {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (text[i] === '\\') {
      bytes.push(0x5c);
      i += 1;
    } else {
      bytes.push(text.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function parseProbe(report: string): Probe {
  const probe: Probe = {
    uid: '',
    gid: '',
    groups: '',
    argv: [],
    env: [],
    fds: ['', '', ''],
    openFds: [],
    sigIgn: '',
    sigBlk: '',
    umask: '',
    core: '',
    fsize: '',
    nofile: '',
    as: '',
    data: '',
    stack: '',
    cpu: '',
    cwd: '',
  };
  for (const line of report.split('\n').filter((l) => l !== '')) {
    const space = line.indexOf(' ');
    const key = line.slice(0, space);
    const value = unescapeProbe(line.slice(space + 1));
    if (key === 'argv') probe.argv.push(value);
    else if (key === 'env') probe.env.push(value);
    else if (/^fd[0-2]$/.test(key)) probe.fds[Number(key[2])] = value;
    else if (key === 'openfd') probe.openFds.push(Number(value));
    else if (key === 'sigign') probe.sigIgn = value;
    else if (key === 'sigblk') probe.sigBlk = value;
    else if (
      key === 'uid' ||
      key === 'gid' ||
      key === 'groups' ||
      key === 'umask' ||
      key === 'core' ||
      key === 'fsize' ||
      key === 'cwd' ||
      key === 'nofile' ||
      key === 'as' ||
      key === 'data' ||
      key === 'stack' ||
      key === 'cpu'
    )
      probe[key] = value;
  }
  return probe;
}

/** A fresh directory where a setuid bit takes effect and the test user can enter. */
function makeSetuidCapableDir(): string {
  for (const parent of ['/tmp', '/var/tmp', '/']) {
    const options = mustRun('findmnt', ['-n', '-o', 'OPTIONS', '-T', parent]).trim().split(',');
    if (options.includes('nosuid')) continue;
    const dir = fs.mkdtempSync(path.join(parent, 'djl-launcher-'));
    fs.chmodSync(dir, 0o755);
    const again = mustRun('findmnt', ['-n', '-o', 'OPTIONS', '-T', dir]).trim().split(',');
    assert.ok(!again.includes('nosuid'), `${dir} is on a nosuid mount`);
    return dir;
  }
  throw new Error('no filesystem without nosuid among /tmp, /var/tmp, /');
}

interface LaunchOptions {
  /** The launcher's whole argv, argv[0] included; [] is an empty argv. */
  argv: string[];
  /** NAME=VALUE entries, in order, duplicates allowed. */
  env?: string[];
  /** fds the caller closes before exec. */
  close?: number[];
  /** Ignore and block signals, umask 0, core on, soft FSIZE low, fd 700 open. */
  hostile?: boolean;
  /** Lower both FSIZE limits to this many bytes. */
  fsize?: number;
  launcher?: string;
  /** Run the hostile caller as root (as PAM does), not as the test user. */
  asRoot?: boolean;
}

interface Launch {
  status: number | null;
  stderr: string;
  probe: Probe | undefined;
}

describe('launcher', function () {
  this.timeout(20000);
  const user = `djl-launch-${randomBytes(4).toString('hex')}`;
  let userCreated = false;
  let uid = -1;
  let gid = -1;
  let home = '';
  let dir = '';
  let probe = '';
  let probeOut = '';
  let helper = '';
  let jailsh = '';
  let hook = '';
  let notSetuid = '';
  let missingMain = '';
  let setpriv = '';

  before(function () {
    this.timeout(120000);
    assert.equal(process.getuid?.(), 0, 'the launcher tests must run as root');
    setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p)) ?? '';
    assert.ok(setpriv, 'setpriv (util-linux) is required');

    dir = makeSetuidCapableDir();
    probe = path.join(dir, 'docker-jail-probe');
    probeOut = path.join(dir, 'probe.out');
    helper = path.join(dir, 'exec-helper');
    const cflags = ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-D_GNU_SOURCE'];
    mustRun('gcc', [...cflags, `-DPROBE_OUT="${probeOut}"`, '-o', probe, probeSource]);
    mustRun('gcc', [...cflags, '-DEXEC_HELPER', '-o', helper, probeSource]);

    jailsh = buildLauncher(path.join(dir, 'setuid'), probe);
    notSetuid = buildLauncher(path.join(dir, 'plain'), probe);
    missingMain = buildLauncher(path.join(dir, 'missing'), path.join(dir, 'missing', 'docker-jail'));
    for (const sub of ['setuid', 'plain', 'missing']) fs.chmodSync(path.join(dir, sub), 0o755);
    for (const file of [probe, helper, jailsh, notSetuid, missingMain]) fs.chownSync(file, 0, 0);
    fs.chmodSync(probe, 0o755);
    fs.chmodSync(helper, 0o755);
    fs.chmodSync(jailsh, 0o4755);
    fs.chmodSync(missingMain, 0o4755);
    fs.chmodSync(notSetuid, 0o755);
    // The PAM hook's second name, installed the same way as a symlink.
    hook = path.join(dir, 'docker-jail-pam-hook');
    fs.symlinkSync(jailsh, hook);

    // A real user with a supplementary group, so dropping groups is visible.
    mustRun('useradd', ['-m', '-U', '-G', 'users', '-s', '/usr/sbin/nologin', user]);
    userCreated = true;
    uid = Number(mustRun('id', ['-u', user]).trim());
    gid = Number(mustRun('id', ['-g', user]).trim());
    home = mustRun('getent', ['passwd', user]).split(':')[5];
    assert.ok(uid > 0 && gid > 0, `bad ids for ${user}: ${uid}:${gid}`);
    assert.ok(mustRun('id', ['-G', user]).trim().split(' ').length >= 2, `${user} has no supplementary group`);
  });

  after(function () {
    this.timeout(60000);
    if (userCreated) mustRun('userdel', ['-r', user]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the launcher as the test user (or root) from a hostile caller; fd 5 is inherited. */
  function launch(options: LaunchOptions): Launch {
    fs.rmSync(probeOut, { force: true });
    const helperArgs: string[] = [];
    for (const fd of options.close ?? []) helperArgs.push('-close', String(fd));
    if (options.hostile) helperArgs.push('-hostile');
    if (options.fsize !== undefined) helperArgs.push('-fsize', String(options.fsize));
    helperArgs.push(options.launcher ?? jailsh, ...(options.env ?? []), '--', ...options.argv);
    const inherited = fs.openSync('/etc/hostname', 'r');
    try {
      const asUser = ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--', helper];
      const result = spawnSync(options.asRoot ? helper : setpriv, options.asRoot ? helperArgs : [...asUser, ...helperArgs], {
        env: {},
        cwd: home,
        encoding: 'utf8',
        timeout: 10000,
        stdio: ['pipe', 'pipe', 'pipe', 'ignore', 'ignore', inherited],
      });
      if (result.error) throw result.error;
      const ran = fs.existsSync(probeOut);
      return { status: result.status, stderr: result.stderr, probe: ran ? parseProbe(fs.readFileSync(probeOut, 'utf8')) : undefined };
    } finally {
      fs.closeSync(inherited);
    }
  }

  /** Launches and requires that the probe ran. */
  function reach(options: LaunchOptions): Probe {
    const result = launch(options);
    assert.equal(result.stderr, '', 'unexpected message');
    assert.equal(result.status, 0, 'probe did not run successfully');
    assert.ok(result.probe, 'probe did not run');
    return result.probe;
  }

  function assertRefused(result: Launch, status: number, message: string): void {
    assert.equal(result.probe, undefined, 'the main program ran');
    assert.equal(result.stderr, message);
    assert.equal(result.status, status);
  }

  describe('credentials and argv', function () {
    it('runs the main program fully as root, without supplementary groups', function () {
      const got = reach({ argv: ['jailsh', '-c', 'id'] });
      assert.equal(got.uid, '0 0 0', 'real, effective, saved uid');
      assert.equal(got.gid, '0 0 0', 'real, effective, saved gid');
      assert.equal(got.groups, '');
    });

    it('passes the caller real uid in DOCKER_JAIL_UID, whatever the caller sets', function () {
      const got = reach({ argv: ['jailsh'], env: ['DOCKER_JAIL_UID=0', 'DOCKER_JAIL_UID=1'] });
      assert.deepEqual(
        got.env.filter((e) => e.startsWith('DOCKER_JAIL_UID=')),
        [`DOCKER_JAIL_UID=${uid}`],
      );
    });

    it('execs "docker-jail shell --no-login -- -c CMD" for jailsh -c CMD', function () {
      const got = reach({ argv: ['jailsh', '-c', 'ls -l; exit 3'] });
      assert.deepEqual(got.argv, ['docker-jail', 'shell', '--no-login', '--', '-c', 'ls -l; exit 3']);
    });

    it('execs "docker-jail shell --login --" for a login shell "-jailsh"', function () {
      const got = reach({ argv: ['-jailsh'] });
      assert.deepEqual(got.argv, ['docker-jail', 'shell', '--login', '--']);
    });

    it('execs "docker-jail shell --login -- -c CMD" for "-jailsh -c CMD" (su -l -c)', function () {
      const got = reach({ argv: ['-jailsh', '-c', 'true'] });
      assert.deepEqual(got.argv, ['docker-jail', 'shell', '--login', '--', '-c', 'true']);
    });

    it('execs "docker-jail shell --no-login --" when argv[0] has no dash (su without -l)', function () {
      const got = reach({ argv: ['/usr/bin/jailsh'] });
      assert.deepEqual(got.argv, ['docker-jail', 'shell', '--no-login', '--']);
    });

    it('passes the command as one argument, byte for byte, even when it looks like an option', function () {
      const command = `--help; $(id) \`id\` 'q' "d" \\ \n\tü -c`;
      const got = reach({ argv: ['jailsh', '-c', command] });
      assert.deepEqual(got.argv, ['docker-jail', 'shell', '--no-login', '--', '-c', command]);
    });
  });

  describe('environment', function () {
    it('keeps only whitelisted variables and sets PATH itself', function () {
      const kept = [
        'TERM=xterm-256color',
        'LANG=C.UTF-8',
        'LC_ALL=en_US.UTF-8',
        'LC_MESSAGES=de_DE@euro',
        'SSH_CONNECTION=192.0.2.1 50000 198.51.100.2 22',
        "SSH_ORIGINAL_COMMAND=git-upload-pack 'repo.git'",
      ];
      const env = dangerous.flatMap((entry, i) => (i < kept.length ? [entry, kept[i]] : [entry]));
      const got = reach({ argv: ['jailsh', '-c', 'env'], env });
      assert.deepEqual(got.env, [cleanPath, `DOCKER_JAIL_UID=${uid}`, ...kept]);
    });

    const cases: Array<[string, boolean]> = [
      ['TERM=xterm-256color', true],
      ['TERM=rxvt-unicode+x.1_2', true],
      [`TERM=${'x'.repeat(64)}`, true],
      [`TERM=${'x'.repeat(100)}`, false],
      ['TERM=xterm;rm -rf /', false],
      ['TERM=xterm\u001b]0;owned\u0007', false],
      ['TERM=', false],
      ['LANG=C.UTF-8', true],
      ['LANG=de_DE@euro', true],
      ['LANG=a b', false],
      [`LANG=${'x'.repeat(65)}`, false],
      ['LC_ALL=$(x)', false],
      ['LC_CTYPE=../../../tmp/evil', false],
      ['LC_MY_LOCALE=C', true],
      [`LC_${'A'.repeat(20)}=C`, true],
      [`LC_${'A'.repeat(21)}=C`, false],
      ['SSH_CONNECTION=2001:db8::1 50000 2001:DB8::2 22', true],
      ['SSH_CONNECTION=192.0.2.1 1 192.0.2.2 22;id', false],
      [`SSH_CONNECTION=${'1'.repeat(201)}`, false],
      ['SSH_ORIGINAL_COMMAND=', true],
      ['SSH_ORIGINAL_COMMAND=printf \'%s\\n\' "$(id)" `id` ü\t\u0001', true],
      [`SSH_ORIGINAL_COMMAND=${'a'.repeat(65536)}`, true],
      [`SSH_ORIGINAL_COMMAND=${'a'.repeat(65537)}`, false],
    ];
    for (const [entry, keep] of cases) {
      const shown = JSON.stringify(entry.length > 40 ? `${entry.slice(0, 30)}...(${entry.length} chars)` : entry);
      it(`${keep ? 'keeps' : 'drops'} ${shown}`, function () {
        const got = reach({ argv: ['jailsh'], env: [entry] });
        assert.deepEqual(got.env, [cleanPath, `DOCKER_JAIL_UID=${uid}`, ...(keep ? [entry] : [])]);
      });
    }

    it('keeps only the first occurrence of a name, and drops the name if that one is bad', function () {
      const got = reach({ argv: ['jailsh'], env: ['TERM=xterm', 'TERM=vt100', 'LANG=C;x', 'LANG=C', 'LC_ALL=C', 'LC_ALL=POSIX'] });
      assert.deepEqual(got.env, [cleanPath, `DOCKER_JAIL_UID=${uid}`, 'TERM=xterm', 'LC_ALL=C']);
    });

    it('drops PAM_* variables: only the PAM hook takes them', function () {
      const got = reach({ argv: ['-jailsh'], env: [...pamVars, 'TERM=xterm'] });
      assert.deepEqual(got.env, [cleanPath, `DOCKER_JAIL_UID=${uid}`, 'TERM=xterm']);
    });

    it('keeps at most 64 variables', function () {
      const letter = (n: number) => String.fromCharCode(65 + n);
      const many = Array.from({ length: 100 }, (_, i) => `LC_${letter(Math.floor(i / 26))}${letter(i % 26)}=C`);
      const got = reach({ argv: ['jailsh'], env: many });
      assert.deepEqual(got.env, [cleanPath, `DOCKER_JAIL_UID=${uid}`, ...many.slice(0, 64)]);
    });
  });

  describe('process state', function () {
    it('the hostile caller really passes fds, signals, umask and limits (control, without launcher)', function () {
      fs.rmSync(probeOut, { force: true });
      const inherited = fs.openSync('/etc/hostname', 'r');
      try {
        const result = spawnSync(helper, ['-hostile', probe, 'LD_PRELOAD=/x', '--', 'probe'], {
          env: {},
          encoding: 'utf8',
          stdio: ['pipe', 'pipe', 'pipe', 'ignore', 'ignore', inherited],
        });
        assert.equal(result.status, 0, result.stderr);
      } finally {
        fs.closeSync(inherited);
      }
      const got = parseProbe(fs.readFileSync(probeOut, 'utf8'));
      // Includes whatever the test runner itself leaks to children.
      assert.ok(got.openFds.includes(5) && got.openFds.includes(700), `open fds: ${got.openFds}`);
      assert.notEqual(BigInt(`0x${got.sigIgn}`) & (1n << 0n), 0n, 'SIGHUP not ignored');
      assert.notEqual(BigInt(`0x${got.sigBlk}`), 0n, 'nothing blocked');
      assert.equal(got.umask, '0000');
      assert.match(got.fsize, /^4096 /);
      assert.deepEqual(
        [got.nofile, got.as, got.data, got.stack, got.cpu].map((l) => l.split(' ')[0]),
        ['64', String(256 << 20), String(128 << 20), String(256 << 10), '100'],
      );
      assert.deepEqual(got.env, ['LD_PRELOAD=/x']);
    });

    it('closes every inherited fd above 2', function () {
      const got = reach({ argv: ['jailsh'], hostile: true });
      assert.deepEqual(got.openFds, []);
    });

    it('leaves open fds 0-2 alone', function () {
      const got = reach({ argv: ['jailsh'] });
      // Node's stdio "pipes" are socketpairs.
      for (const fd of [0, 1, 2]) assert.match(got.fds[fd], /^(pipe|socket):\[\d+\] (r|w|rw)$/, `fd ${fd}`);
    });

    it('opens /dev/null read-write on fds 0-2 the caller closed', function () {
      const got = reach({ argv: ['jailsh'], close: [0, 1, 2] });
      assert.deepEqual(got.fds, ['/dev/null rw', '/dev/null rw', '/dev/null rw']);
    });

    it('opens /dev/null on a closed stdout only, keeping stdin and stderr', function () {
      const got = reach({ argv: ['jailsh'], close: [1] });
      assert.match(got.fds[0], /^(pipe|socket):/);
      assert.equal(got.fds[1], '/dev/null rw');
      assert.match(got.fds[2], /^(pipe|socket):/);
    });

    it('resets ignored and blocked signals (SIGHUP, SIGPIPE...) to the default', function () {
      const got = reach({ argv: ['jailsh'], hostile: true });
      assert.equal(got.sigIgn, '0000000000000000');
      assert.equal(got.sigBlk, '0000000000000000');
    });

    it('sets umask 022, disables core dumps, lifts the soft file size limit, and runs in /', function () {
      const got = reach({ argv: ['jailsh'], hostile: true });
      assert.equal(got.umask, '0022');
      assert.equal(got.core, '0 0');
      assert.equal(got.fsize, 'inf inf');
      assert.equal(got.cwd, '/');
    });

    it('lifts lowered limits on open files, memory, stack and CPU time to what the runtime needs', function () {
      const got = reach({ argv: ['jailsh'], hostile: true });
      const soft = (limit: string) => limit.split(' ')[0];
      assert.ok(Number(soft(got.nofile)) >= 1024, `open files: ${got.nofile}`);
      assert.equal(soft(got.as), 'inf');
      assert.equal(soft(got.data), 'inf');
      assert.ok(soft(got.stack) === 'inf' || Number(soft(got.stack)) >= 8 << 20, `stack: ${got.stack}`);
      assert.equal(soft(got.cpu), 'inf');
    });

    it('lifts a lowered hard file size limit, or refuses when root lacks CAP_SYS_RESOURCE', function () {
      const bounding = fs.readFileSync('/proc/self/status', 'utf8').match(/^CapBnd:\s*([0-9a-f]+)$/m);
      assert.ok(bounding, 'no CapBnd in /proc/self/status');
      const canLift = (BigInt(`0x${bounding[1]}`) & (1n << 24n)) !== 0n;
      const result = launch({ argv: ['jailsh'], fsize: 4096 });
      if (canLift) {
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.probe?.fsize, 'inf inf');
      } else {
        assertRefused(result, 126, 'jailsh: cannot lift the file size limit: Operation not permitted\n');
      }
    });
  });

  describe('refusals', function () {
    const badArgs = [
      ['jailsh', '-x'],
      ['jailsh', '-c', 'a', 'b'],
      ['jailsh', '-c'],
      ['jailsh', '--'],
      ['jailsh', '-l'],
      ['jailsh', 'script.sh'],
      ['jailsh', '-ic', 'id'],
      ['-jailsh', '-c', 'a', 'b'],
      ['jailsh', '', 'x'],
      ['jailsh', '-cid', 'x'],
      ['jailsh', '-c ', 'id'],
      ['jailsh', 'x', 'y'],
    ];
    for (const argv of badArgs) {
      it(`prints usage and exits 2 for ${JSON.stringify(argv)}`, function () {
        assertRefused(launch({ argv }), 2, usage);
      });
    }

    it('exits 2 without crashing when fds 0-2 are closed', function () {
      const result = launch({ argv: ['jailsh', '-x'], close: [0, 1, 2] });
      assert.equal(result.probe, undefined);
      assert.equal(result.status, 2);
    });

    // The fuzz harness covers O_PATH handles, which Node cannot open.
    for (const fd of [0, 1, 2]) {
      it(`refuses a directory as fd ${fd} with exit 126: the session would reach the host's files through it`, function () {
        const directory = fs.openSync(home, 'r');
        try {
          const stdio: Array<'pipe' | number> = ['pipe', 'pipe', 'pipe'];
          stdio[fd] = directory;
          const asUser = ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--'];
          fs.rmSync(probeOut, { force: true });
          const result = spawnSync(setpriv, [...asUser, jailsh, '-c', 'id'], { env: {}, cwd: home, encoding: 'utf8', timeout: 10000, stdio });
          assert.equal(fs.existsSync(probeOut), false, 'the main program ran');
          assert.equal(result.status, 126);
          if (fd !== 2) assert.equal(result.stderr, 'jailsh: refusing a directory or O_PATH handle as standard input, output or error\n');
        } finally {
          fs.closeSync(directory);
        }
      });
    }

    for (const argv of [[], [''], ['', '-c', 'id']]) {
      it(`refuses an empty argv or argv[0] with exit 126: ${JSON.stringify(argv)}`, function () {
        assertRefused(launch({ argv }), 126, 'jailsh: refusing an empty argument list\n');
      });
    }

    it('refuses with exit 126 when not installed setuid root', function () {
      assertRefused(launch({ argv: ['-jailsh'], launcher: notSetuid }), 126, 'jailsh: not installed setuid root\n');
    });

    it('fails closed with exit 126 when the main program cannot be started', function () {
      const missing = path.join(dir, 'missing', 'docker-jail');
      assertRefused(launch({ argv: ['-jailsh'], launcher: missingMain }), 126, `jailsh: cannot start ${missing}: No such file or directory\n`);
    });
  });

  describe('PAM hook mode (argv[0] named docker-jail-pam-hook)', function () {
    /** Runs the hook as pam_exec does: as root, through the symlink, argv[0] its path. */
    function runHook(options: Partial<LaunchOptions> = {}): Launch {
      return launch({ argv: [hook], launcher: hook, asRoot: true, ...options });
    }

    /** Runs the hook as root and requires that the probe ran. */
    function reachHook(options: Partial<LaunchOptions> = {}): Probe {
      const result = runHook(options);
      assert.equal(result.stderr, '', 'unexpected message');
      assert.equal(result.status, 0, 'probe did not run successfully');
      assert.ok(result.probe, 'probe did not run');
      return result.probe;
    }

    it('execs exactly "docker-jail pam-hook" as root, from a cleaned-up state', function () {
      const got = reachHook({ hostile: true, env: pamVars });
      assert.deepEqual(got.argv, ['docker-jail', 'pam-hook']);
      assert.equal(got.uid, '0 0 0', 'real, effective, saved uid');
      assert.equal(got.gid, '0 0 0', 'real, effective, saved gid');
      assert.equal(got.groups, '');
      assert.deepEqual(got.openFds, []);
      assert.equal(got.sigIgn, '0000000000000000');
      assert.equal(got.sigBlk, '0000000000000000');
      assert.equal(got.umask, '0022');
      assert.equal(got.core, '0 0');
      assert.equal(got.fsize, 'inf inf');
      assert.equal(got.cwd, '/');
    });

    it('passes PATH and the valid PAM_* variables only: no DOCKER_JAIL_UID, nothing hostile', function () {
      const shellOnly = [
        'DOCKER_JAIL_UID=0',
        'TERM=xterm',
        'LANG=C.UTF-8',
        'LC_ALL=C',
        'SSH_CONNECTION=192.0.2.1 1 192.0.2.2 22',
        'SSH_ORIGINAL_COMMAND=id',
        'PAM_ENV=x',
        'PAM_AUTHTOK=secret',
        'pam_user=root',
        'PAM_USER_X=root',
      ];
      const hostile = [...dangerous, ...shellOnly];
      const env = hostile.flatMap((entry, i) => (i < pamVars.length ? [entry, pamVars[i]] : [entry]));
      const got = reachHook({ env });
      assert.deepEqual([...got.env].sort(), [cleanPath, ...pamVars].sort());
    });

    it('takes the PAM environment only, whatever argv[0] path pam_exec uses', function () {
      for (const argv0 of [installedHook, 'docker-jail-pam-hook', './docker-jail-pam-hook']) {
        const got = reachHook({ argv: [argv0], launcher: jailsh, env: ['LD_PRELOAD=/tmp/evil.so', ...pamVars] });
        assert.deepEqual(got.argv, ['docker-jail', 'pam-hook'], argv0);
        assert.deepEqual([...got.env].sort(), [cleanPath, ...pamVars].sort(), argv0);
      }
    });

    const cases: Array<[string, boolean]> = [
      ['PAM_RHOST=192.0.2.1', true],
      ['PAM_RHOST=2001:db8::1', true],
      ['PAM_RHOST=fe80::1:2', true],
      ['PAM_RHOST=host-1.example.org', true],
      ['PAM_RHOST=under_score.example', true],
      [`PAM_RHOST=${'h'.repeat(255)}`, true],
      [`PAM_RHOST=${'h'.repeat(256)}`, false],
      [`PAM_RHOST=${'h'.repeat(300)}`, false],
      ['PAM_RHOST=a;rm -rf /', false],
      ['PAM_RHOST=$(id)', false],
      ['PAM_RHOST=`id`', false],
      ['PAM_RHOST=a b', false],
      ['PAM_RHOST=a|b', false],
      ['PAM_RHOST=host\nPAM_USER=root', false],
      ['PAM_RHOST=', false],
      ['PAM_USER=jo', true],
      ['PAM_USER=jo@corp', true],
      ['PAM_USER=jo.doe_1-x@corp.example', true],
      ['PAM_USER=host$', true],
      [`PAM_USER=${'u'.repeat(256)}`, true],
      [`PAM_USER=${'u'.repeat(255)}$`, true],
      [`PAM_USER=${'u'.repeat(257)}`, false],
      [`PAM_USER=${'u'.repeat(256)}$`, false],
      ['PAM_USER=a/b', false],
      ['PAM_USER=a b', false],
      ['PAM_USER=../x', false],
      ['PAM_USER=x$y', false],
      ['PAM_USER=x$$', false],
      ['PAM_USER=$', false],
      ['PAM_USER=$x', false],
      ['PAM_USER=joé', false],
      ['PAM_USER=', false],
      ['PAM_TYPE=open_session', true],
      ['PAM_TYPE=close_session', true],
      [`PAM_TYPE=${'a'.repeat(32)}`, true],
      [`PAM_TYPE=${'a'.repeat(33)}`, false],
      ['PAM_TYPE=Open_session', false],
      ['PAM_TYPE=open session', false],
      ['PAM_TYPE=open-session', false],
      ['PAM_TYPE=', false],
      ['PAM_SERVICE=sshd', true],
      ['PAM_SERVICE=su-l', true],
      ['PAM_SERVICE=Login.v2_x', true],
      [`PAM_SERVICE=${'s'.repeat(64)}`, true],
      [`PAM_SERVICE=${'s'.repeat(65)}`, false],
      ['PAM_SERVICE=../sshd', false],
      ['PAM_SERVICE=ssh d', false],
      ['PAM_SERVICE=', false],
      ['PAM_TTY=ssh', true],
      ['PAM_TTY=/dev/pts/0', true],
      ['PAM_TTY=:0', true],
      ['PAM_TTY=tty1', true],
      [`PAM_TTY=${'t'.repeat(64)}`, true],
      [`PAM_TTY=${'t'.repeat(65)}`, false],
      ['PAM_TTY=/dev/pts/0;id', false],
      ['PAM_TTY=/dev/pts/0 x', false],
      ['PAM_TTY=', false],
    ];
    for (const [entry, keep] of cases) {
      const shown = JSON.stringify(entry.length > 40 ? `${entry.slice(0, 20)}...${entry.slice(-2)} (${entry.length} chars)` : entry);
      it(`${keep ? 'keeps' : 'drops'} ${shown}`, function () {
        const got = reachHook({ env: [entry] });
        assert.deepEqual(got.env, [cleanPath, ...(keep ? [entry] : [])]);
      });
    }

    it("keeps only the last occurrence of a name (the one pam_exec appends after the user's), and drops the name if that one is bad", function () {
      // ~/.pam_environment puts PAM_USER=victim and PAM_TYPE=open_session first; pam_exec appends the real ones.
      const got = reachHook({
        env: ['PAM_USER=victim', 'PAM_TYPE=open_session', 'PAM_TTY=ssh', 'PAM_USER=jo', 'PAM_TYPE=close_session', 'PAM_TTY=;'],
      });
      assert.deepEqual(new Set(got.env), new Set([cleanPath, 'PAM_USER=jo', 'PAM_TYPE=close_session']));
    });

    for (const extra of [['x'], ['-c', 'id'], [''], ['--'], ['open_session']]) {
      it(`prints its usage and exits 2 for extra arguments ${JSON.stringify(extra)}`, function () {
        assertRefused(runHook({ argv: [hook, ...extra] }), 2, hookUsage);
      });
    }

    it('refuses the real unprivileged user through the symlink, with exit 126', function () {
      assertRefused(launch({ argv: [hook], launcher: hook, env: pamVars }), 126, hookRefused);
    });

    for (const argv of [['docker-jail-pam-hook'], [installedHook], ['docker-jail-pam-hook', '-c', 'id']]) {
      it(`refuses the real unprivileged user with exit 126 for "exec -a" on the setuid launcher: ${JSON.stringify(argv)}`, function () {
        assertRefused(launch({ argv, launcher: jailsh, env: pamVars }), 126, hookRefused);
      });
    }

    for (const argv0 of ['-docker-jail-pam-hook', 'docker-jail-pam-hook2', 'xdocker-jail-pam-hook', '/x/docker-jail-pam-hook/']) {
      it(`stays in shell mode when only part of argv[0] is the name: ${JSON.stringify(argv0)}`, function () {
        const got = reach({ argv: [argv0], env: pamVars });
        assert.equal(got.argv[1], 'shell');
        assert.deepEqual(got.env, [cleanPath, `DOCKER_JAIL_UID=${uid}`]);
      });
    }
  });
});
