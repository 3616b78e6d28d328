// Tests of the jail's agent and the session's host side (agent/): the real
// programs, built here with make into a temporary directory, run as an
// unprivileged user (nobody) the way a jail runs them, with no Docker: the
// agent as an ordinary process (not PID 1) on a socket in a temporary
// directory, docker-jail-attach against it, real ptys (node-pty) for the
// terminal sessions. CGROUP is the agent's own /proc/PID/cgroup: the test
// and the agent share a cgroup, as attach and the jail do not, which the
// refusal tests change on purpose.
//
// Needs root (to become nobody, to unshare), gcc with static glibc, setpriv,
// unshare, python3 and /dev/log; without them it fails, it never skips.

import { strict as assert } from 'node:assert';
import { type ChildProcess, type StdioOptions, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Terminal } from './support/pty';

const repoRoot = path.resolve(__dirname, '..');
const NOBODY = 65534;
const SETPRIV = '/usr/bin/setpriv';
const PYTHON = '/usr/bin/python3';
const asNobody = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'];

function mustRun(file: string, args: string[]): string {
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 120000 });
  if (result.error) throw new Error(`${file}: ${result.error.message}`);
  assert.equal(result.status, 0, `${file} ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** One word for sh, whatever it holds (the cgroup text has newlines). */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Whether pid runs (a zombie, or a pid that is gone, does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('jail agent and attach', function () {
  this.timeout(30000);
  let dir = '';
  let build = '';
  let agentBin = '';
  let attachBin = '';
  let socket = '';
  let cgroup = '';
  let agent: ChildProcess | undefined;
  const strays: number[] = []; // processes a test leaves on purpose, killed at the end

  /** Starts an agent as nobody on `socketPath` and waits until it listens. */
  async function startAgent(socketPath: string): Promise<ChildProcess> {
    const child = spawn(SETPRIV, [...asNobody, agentBin, socketPath], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitFor(`the agent's socket ${socketPath}`, () => (fs.existsSync(socketPath) ? true : undefined));
    return child;
  }

  /** attach's argv, as root's main program would give it. */
  function attachArgs(
    options: { socket?: string; cgroup?: string; options?: string; cwd?: string; parent?: number | string; audit?: string; tail?: string },
    argv: string[],
  ): string[] {
    return [
      ...asNobody,
      attachBin,
      options.socket ?? socket,
      options.cgroup ?? cgroup,
      String(options.parent ?? process.pid),
      options.options ?? '-',
      options.cwd ?? '/',
      options.audit ?? '',
      options.tail ?? '',
      '--',
      ...argv,
    ];
  }

  /** The lines a process prints, as they come. */
  function lines(child: ChildProcess): () => string {
    let text = '';
    child.stdout?.on('data', (data) => (text += data));
    return () => text;
  }

  function attachSync(
    argv: string[],
    options: { socket?: string; cgroup?: string; options?: string; input?: Buffer; env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {},
  ) {
    const result = spawnSync(SETPRIV, attachArgs(options, argv), {
      input: options.input,
      env: options.env ?? { PATH: '/usr/bin:/bin' },
      timeout: 20000,
      maxBuffer: 64 << 20,
      stdio: options.stdio,
    });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout ?? Buffer.alloc(0), stderr: result.stderr?.toString() ?? '' };
  }

  before(function () {
    this.timeout(120000);
    assert.equal(process.getuid?.(), 0, 'the agent tests must run as root (they become nobody)');
    for (const needed of [SETPRIV, PYTHON]) assert.ok(fs.existsSync(needed), `${needed} is required`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'djl-agent-'));
    fs.chmodSync(dir, 0o755);
    build = path.join(dir, 'build');
    mustRun('make', ['-s', '-C', path.join(repoRoot, 'agent'), `OUT=${build}`]);
    agentBin = path.join(build, 'docker-jail-agent');
    attachBin = path.join(build, 'docker-jail-attach');
    const run = path.join(dir, 'run');
    fs.mkdirSync(run, { mode: 0o700 });
    fs.chownSync(run, NOBODY, NOBODY);
    socket = path.join(run, 'agent.sock');
  });

  beforeEach(async function () {
    if (agent && agent.exitCode === null && agent.signalCode === null) return;
    agent = await startAgent(socket);
    cgroup = fs.readFileSync(`/proc/${agent.pid}/cgroup`, 'utf8');
  });

  after(async function () {
    for (const pid of strays)
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    if (agent?.pid && agent.exitCode === null) {
      agent.kill('SIGKILL');
      await exited(agent);
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('builds both programs as static PIEs', function () {
    for (const binary of [agentBin, attachBin]) {
      const headers = mustRun('readelf', ['-h', '-l', binary]);
      assert.match(headers, /Type:\s+DYN/, `${binary} is not position-independent`);
      assert.doesNotMatch(headers, /Requesting program interpreter/, `${binary} is dynamically linked`);
    }
    const socketMode = fs.statSync(socket).mode & 0o777;
    assert.equal(socketMode, 0o600, "the socket is for the jail's owner only");
  });

  describe('exit statuses and streams', function () {
    for (const [argv, status] of [
      [['/bin/true'], 0],
      [['/bin/sh', '-c', 'exit 7'], 7],
      [['/bin/sh', '-c', 'kill -9 $$'], 137],
    ] as const) {
      it(`exits ${status} for ${JSON.stringify(argv)}`, function () {
        assert.equal(attachSync([...argv]).status, status);
      });
    }

    it('exits 127 with one line on stderr when the program cannot be run', function () {
      const got = attachSync(['/nonexistent/program']);
      assert.equal(got.status, 127);
      assert.equal(got.stderr, 'docker-jail-agent: cannot run /nonexistent/program: No such file or directory\n');
    });

    it('passes stdin to stdout byte for byte (4 MiB), with stderr apart, the cwd, the umask and exactly its own environment', function () {
      const input = randomBytes(4 << 20);
      const got = attachSync(['/bin/sh', '-c', 'cat; echo to-stderr >&2'], { input });
      assert.equal(got.status, 0, got.stderr);
      assert.equal(createHash('sha256').update(got.stdout).digest('hex'), createHash('sha256').update(input).digest('hex'));
      assert.equal(got.stderr, 'to-stderr\n');
      const env = attachSync(['/usr/bin/env'], { env: { A: 'one two', EMPTY: '', DOCKER_JAIL_SESSION: 'x' } });
      assert.equal(env.stdout.toString(), 'A=one two\nEMPTY=\nDOCKER_JAIL_SESSION=x\n');
      const cwd = attachSync(['/bin/pwd'], { options: '-', env: {} });
      assert.equal(cwd.stdout.toString(), '/\n');
      // The agent's umask 077 is for its socket: the session gets the one the agent was started with.
      const started = /^Umask:\s+(\d+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
      assert.equal(attachSync(['/bin/sh', '-c', 'umask']).stdout.toString(), `${started}\n`);
    });
  });

  describe('terminal sessions', function () {
    it("runs on a pty of its own, sized like the caller's terminal from the start, and follows a resize", async function () {
      const marker = randomBytes(4).toString('hex');
      const script = `tty; stty size; read x; stty size; echo done-${marker}`;
      const term = new Terminal(SETPRIV, attachArgs({ options: 'tty' }, ['/bin/sh', '-c', script]), { cols: 97, rows: 31 });
      await term.expect(/\/dev\/pts\/\d+\r?\n31 97\r?\n/);
      term.resize(120, 40);
      await sleep(500); // SIGWINCH to attach, 'W' to the keeper, TIOCSWINSZ on the session's pty
      term.write('\r');
      await term.expect(new RegExp(`40 120\\r?\\ndone-${marker}`));
      assert.equal(await term.exited, 0);
    });

    it("exits with the session's status and leaves the terminal as it found it (not raw)", async function () {
      // The shell is attach's parent here: PARENT is its $$.
      const attach = [SETPRIV, ...attachArgs({ options: 'tty', parent: '$$' }, ['/bin/sh', '-c', 'exit 3'])].map(quote).join(' ');
      const term = new Terminal('/bin/sh', ['-c', `${attach.replace("'$$'", () => '$$')}; echo "status=$?"; stty -a | grep -o -- '-\\?icanon'`]);
      const after = await term.expect(/status=3\r?\n(-?icanon)/);
      assert.equal(after[1], 'icanon', "the caller's terminal stayed raw");
      await term.exited;
    });
  });

  describe('hangup', function () {
    it("hangs the session up when attach is killed: the program gets SIGHUP, a nohup'd job survives", async function () {
      const files = fs.mkdtempSync(path.join(dir, 'hup-'));
      fs.chownSync(files, NOBODY, NOBODY);
      const script =
        `nohup sleep 1001 >/dev/null 2>&1 & echo $! >${files}/nohup.pid; ` +
        `trap 'echo hup >${files}/hup; exit 1' HUP; sleep 1000 & echo $! >${files}/sleep.pid; wait`;
      const attach = spawn(SETPRIV, attachArgs({}, ['/bin/sh', '-c', script]), { stdio: 'ignore', env: {} });
      const sleepPid = await waitFor('the session', () => {
        const text = fs.existsSync(`${files}/sleep.pid`) ? fs.readFileSync(`${files}/sleep.pid`, 'utf8') : '';
        return text.endsWith('\n') ? Number(text) : undefined;
      });
      const nohupPid = Number(fs.readFileSync(`${files}/nohup.pid`, 'utf8'));
      strays.push(nohupPid, sleepPid);
      assert.ok(alive(sleepPid) && alive(nohupPid));
      attach.kill('SIGKILL');
      await waitFor('SIGHUP in the session', () => (fs.existsSync(`${files}/hup`) ? true : undefined));
      await waitFor('the sleep to end', () => (alive(sleepPid) ? undefined : true));
      assert.ok(alive(nohupPid), "the nohup'd job died with the session");
    });

    it("hangs the session up when the caller's stdout goes away (no tty: attach may live on)", async function () {
      const files = fs.mkdtempSync(path.join(dir, 'hup-out-'));
      fs.chownSync(files, NOBODY, NOBODY);
      const script = `trap 'echo hup >${files}/hup; exit 1' HUP; echo started; sleep 1000 & wait`;
      const attach = spawn(SETPRIV, attachArgs({}, ['/bin/sh', '-c', script]), { stdio: ['ignore', 'pipe', 'ignore'], env: {} });
      const output = lines(attach);
      await waitFor('the session', () => (output().includes('started') ? true : undefined));
      attach.stdout?.destroy(); // the reading end closes: POLLERR or POLLHUP on the session's fd 1
      await waitFor('SIGHUP in the session', () => (fs.existsSync(`${files}/hup`) ? true : undefined));
      assert.equal((await exited(attach)).code, 1, 'attach did not end with the session (its trap exits 1)');
    });

    it('hangs a terminal session up when attach is killed', async function () {
      const files = fs.mkdtempSync(path.join(dir, 'hup-tty-'));
      fs.chownSync(files, NOBODY, NOBODY);
      const script = `trap 'echo hup >${files}/hup; exit 1' HUP; echo started; while :; do sleep 0.1; done`;
      const term = new Terminal(SETPRIV, attachArgs({ options: 'tty' }, ['/bin/sh', '-c', script]));
      await term.expect(/started/);
      term.kill('SIGKILL');
      await waitFor('SIGHUP in the session', () => (fs.existsSync(`${files}/hup`) ? true : undefined));
    });

    it('exits 129 without connecting when its parent is not the login process', function () {
      const orphan = spawnSync(SETPRIV, attachArgs({ parent: 1 }, ['/bin/true']), { encoding: 'utf8' });
      assert.equal(orphan.status, 129);
    });
  });

  // The agent scans its /proc for the mark, and attach carries the session's
  // environment, mark included: as in a jail, this agent gets a pid namespace
  // (and /proc) of its own, where it is PID 1 and attach is not to be seen.
  describe('kill-on-logout', function () {
    let jail: ChildProcess | undefined;
    const jailSocket = () => path.join(path.dirname(socket), 'jail.sock');

    before(async function () {
      jail = spawn('unshare', ['--pid', '--fork', '--mount-proc', SETPRIV, ...asNobody, agentBin, jailSocket()], { stdio: ['ignore', 'ignore', 'inherit'] });
      await waitFor("the jail's agent", () => (fs.existsSync(jailSocket()) ? true : undefined));
    });

    after(async function () {
      if (!jail?.pid || jail.exitCode !== null) return;
      // The agent, PID 1 of the namespace: every process in it goes with it. (unshare's
      // --kill-child does not reach it: setpriv's change of uid clears the parent-death signal.)
      const init = Number(fs.readFileSync(`/proc/${jail.pid}/task/${jail.pid}/children`, 'utf8').trim().split(' ')[0]);
      if (init > 0) process.kill(init, 'SIGKILL');
      await exited(jail);
    });

    /** Host pids of the processes running exactly this argv. */
    function running(argv: string[]): number[] {
      const want = `${argv.join('\0')}\0`;
      return fs
        .readdirSync('/proc')
        .filter((name) => /^\d+$/.test(name))
        .map(Number)
        .filter((pid) => {
          try {
            return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') === want && alive(pid);
          } catch {
            return false;
          }
        });
    }

    for (const kill of [true, false]) {
      it(`${kill ? 'kills' : 'without the option, leaves'} a background process marked with the session when the session ends`, async function () {
        const mark = randomBytes(8).toString('hex');
        const background = ['sleep', `1003.${parseInt(mark.slice(0, 6), 16)}`];
        const jailCgroup = fs.readFileSync(`/proc/${jail?.pid}/cgroup`, 'utf8');
        const got = attachSync(['/bin/sh', '-c', `setsid ${background.join(' ')} >/dev/null 2>&1 & sleep 0.2`], {
          socket: jailSocket(),
          cgroup: jailCgroup,
          options: kill ? 'kill-on-logout' : '-',
          env: { DOCKER_JAIL_SESSION: mark, PATH: '/usr/bin:/bin' },
        });
        assert.equal(got.status, 0, got.stderr);
        if (kill) await waitFor('the marked process to die', () => (running(background).length === 0 ? true : undefined), 3000);
        else {
          await sleep(300);
          assert.equal(running(background).length, 1, 'an unmarked session killed its background process');
        }
      });
    }
  });

  describe('refusals', function () {
    it("the agent refuses a directory as fd 0 (the host's filesystem through /proc/self/fd/0): attach exits 69", function () {
      const directory = fs.openSync(dir, 'r');
      try {
        const got = attachSync(['/bin/ls', '/proc/self/fd/0/'], { stdio: [directory, 'pipe', 'pipe'] });
        assert.equal(got.status, 69);
        assert.equal(got.stdout.length, 0);
        assert.equal(got.stderr, "docker-jail: your jail's agent refused the session: a standard input, output or error it does not accept\n");
      } finally {
        fs.closeSync(directory);
      }
    });

    // A hand-written client: an O_PATH handle and a wrong count are beyond attach.
    for (const [name, count, fds] of [
      ['an O_PATH handle as fd 0', 3, 'os.open("/", os.O_PATH), 1, 2'],
      ['two fds', 2, '0, 1'],
      ['four fds', 4, '0, 1, 2, 2'],
    ] as const) {
      it(`the agent refuses ${name} with REFUSED(bad descriptor), and keeps serving`, function () {
        const client = `
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
body = b"/\\0/bin/true\\0"
header = struct.pack("=5I", 0x314a4144, 0, 1, 0, len(body))
s.sendmsg([header], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("=${count}i", ${fds}))])
try:
    s.sendall(body)
except BrokenPipeError:
    pass  # refused after the header already, as it should be
reply = b""
while len(reply) < 8:
    chunk = s.recv(8 - len(reply))
    if not chunk: break
    reply += chunk
print(struct.unpack("=Ii", reply) if len(reply) == 8 else "eof")
`;
        const got = spawnSync(SETPRIV, [...asNobody, PYTHON, '-c', client, socket], { encoding: 'utf8', timeout: 10000 });
        assert.equal(got.stdout.trim(), '(4, 2)', got.stderr);
        assert.equal(attachSync(['/bin/true']).status, 0, 'the agent stopped serving');
      });
    }

    it("attach refuses a name that leads to another user's listener (a symlink, a hard link: exit 77) and does not even connect", async function () {
      const other = path.join(dir, 'root.sock');
      let connections = 0;
      const server = net.createServer(() => connections++);
      await new Promise<void>((resolve) => server.listen(other, resolve));
      try {
        fs.chmodSync(other, 0o777);
        const symlink = path.join(path.dirname(socket), 'elsewhere.sock');
        fs.symlinkSync(other, symlink);
        const hardlink = path.join(path.dirname(socket), 'linked.sock');
        fs.linkSync(other, hardlink);
        for (const name of [symlink, hardlink]) {
          const got = attachSync(['/bin/true'], { socket: name });
          assert.equal(got.status, 77);
          assert.match(got.stderr, /^docker-jail: the agent's socket is not your jail's agent \(not a socket of yours\); refused\n$/);
        }
        await sleep(200);
        assert.equal(connections, 0);
      } finally {
        server.close();
      }
    });

    it("attach refuses the user's own listener in another cgroup (exit 77) and sends it nothing", async function () {
      const listener = path.join(path.dirname(socket), 'decoy.sock');
      const decoy = spawn(
        SETPRIV,
        [
          ...asNobody,
          PYTHON,
          '-c',
          `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1); print("ready", flush=True)
c, _ = s.accept()
n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
print("received", n, flush=True)
`,
          listener,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      decoy.stdout?.on('data', (data) => (out += data));
      await waitFor('the decoy', () => (out.includes('ready') ? true : undefined));
      const got = attachSync(['/bin/true'], { socket: listener, cgroup: '0::/somewhere/else\n' });
      assert.equal(got.status, 77);
      assert.match(got.stderr, new RegExp(`peer uid ${NOBODY}, pid ${decoy.pid}\\); refused\\n$`));
      await waitFor('the decoy to finish', () => (out.includes('received') ? true : undefined));
      assert.match(out, /received 0\n/);
    });

    it('attach exits 69 when no agent listens (no socket; a stale socket)', function () {
      const missing = attachSync(['/bin/true'], { socket: path.join(dir, 'missing.sock') });
      assert.equal(missing.status, 69);
      assert.equal(missing.stderr, "docker-jail: your jail's agent does not answer (No such file or directory)\n");
      const stale = path.join(path.dirname(socket), 'stale.sock');
      const made = spawnSync(SETPRIV, [...asNobody, PYTHON, '-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', stale]);
      assert.equal(made.status, 0);
      const refused = attachSync(['/bin/true'], { socket: stale });
      assert.equal(refused.status, 69);
      assert.equal(refused.stderr, "docker-jail: your jail's agent does not answer (Connection refused)\n");
    });

    it('attach prints its usage and exits 64 for a bad command line', function () {
      for (const args of [
        [],
        ['s', 'c', '1', 'bogus', '/', '', '', '--', '/bin/true'],
        ['s', 'c', 'x', '-', '/', '', '', '--', '/bin/true'],
        ['s', 'c', '1', '-', '/', '', '', '/bin/true'],
      ]) {
        const got = spawnSync(attachBin, args, { encoding: 'utf8' });
        assert.equal(got.status, 64, JSON.stringify(args));
        assert.match(got.stderr, /^docker-jail-attach: usage: /);
      }
    });
  });

  describe('bounds and records', function () {
    it('drops a client that sends nothing after 5 s, serving others meanwhile', async function () {
      this.timeout(15000);
      const slow = spawn(
        SETPRIV,
        [
          ...asNobody,
          PYTHON,
          '-c',
          `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); print("connected", flush=True)
start = time.time()
print("received", len(s.recv(8)), "after", round(time.time() - start, 1), flush=True)
`,
          socket,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const output = lines(slow);
      await waitFor('the slow client', () => (output().includes('connected') ? true : undefined));
      assert.equal(attachSync(['/bin/true']).status, 0, 'a silent client stalled the agent');
      await exited(slow);
      const [, received, after] = /received (\d+) after ([\d.]+)/.exec(output()) ?? [];
      assert.equal(received, '0');
      assert.ok(Number(after) >= 4.5 && Number(after) <= 6.5, `dropped after ${after} s`);
    });

    // /dev/log, in a mount namespace of attach's own, is a socket the test reads.
    it('writes one authpriv record at the end: the AUDIT prefix, the status, the duration, whether it was a hangup, then AUDIT_TAIL', async function () {
      this.timeout(20000);
      assert.ok(fs.existsSync('/dev/log'), '/dev/log is required (a syslog daemon)');
      const logSocket = path.join(dir, 'log.sock');
      const listener = spawn(
        PYTHON,
        [
          '-c',
          `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666); print("ready", flush=True)
for _ in range(2): print(s.recv(65536).decode(), flush=True)
`,
          logSocket,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const output = lines(listener);
      await waitFor('the syslog listener', () => (output().includes('ready') ? true : undefined));
      const audit = 'user="nobody" uid=65534 jail="jail-nobody" tty=false';
      const tail = 'command="exit 5"';
      const withLog = (args: string[]) => [
        '--mount',
        '--propagation',
        'private',
        '/bin/sh',
        '-c',
        'mount --bind "$0" /dev/log && exec "$@"',
        logSocket,
        SETPRIV,
        ...args,
      ];
      const ended = spawnSync('unshare', withLog(attachArgs({ audit, tail }, ['/bin/sh', '-c', 'exit 5'])), { encoding: 'utf8', timeout: 10000 });
      assert.equal(ended.status, 5, ended.stderr);
      const hungUp = spawn('unshare', withLog(attachArgs({ audit, tail }, ['/bin/sleep', '1000'])), { stdio: 'ignore' });
      await sleep(300);
      hungUp.kill('SIGTERM'); // unshare exec'd sh, which exec'd setpriv, which exec'd attach: the same process
      assert.equal((await exited(hungUp)).code, 129);
      await exited(listener);
      const record = (status: number, hangup: boolean) =>
        new RegExp(`^<86>.* docker-jail\\[\\d+\\]: session=end ${audit} exitStatus=${status} durationMs=\\d+ hangup=${hangup} ${tail}$`, 'm');
      assert.match(output(), record(5, false));
      assert.match(output(), record(129, true));
    });
  });

  describe('its own', function () {
    it("attach reaps the children of the program it replaced (root's start-record logger): no zombie for the session's life", async () => {
      // setpriv as nobody runs sh, which starts a short child and then becomes attach in the same process.
      const attachCommand = attachArgs({}, ['/bin/sleep', '3']).slice(asNobody.length); // attach and its arguments
      const session = spawn(SETPRIV, [...asNobody, '/bin/sh', '-c', '/bin/sleep 0.2 & exec "$@"', 'sh', ...attachCommand], { stdio: 'ignore', env: {} });
      try {
        await sleep(1500);
        const zombies = fs
          .readdirSync('/proc')
          .filter((e) => /^\d+$/.test(e))
          .filter((e) => {
            try {
              const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
              const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
              return state === 'Z' && Number(ppid) === session.pid;
            } catch {
              return false;
            }
          });
        assert.deepEqual(zombies, [], 'attach left its child a zombie');
        assert.equal((await exited(session)).code, 0);
      } finally {
        session.kill('SIGKILL');
      }
    });

    it('cannot be read or traced by its own user (not dumpable): PID 1 stays the agent', () => {
      const pid = agent?.pid ?? 0;
      const read = spawnSync(SETPRIV, [...asNobody, '/bin/cat', `/proc/${pid}/environ`], { encoding: 'utf8' });
      assert.notEqual(read.status, 0, "its user read the agent's environment");
      assert.match(read.stderr, /Permission denied/);
      const traced = spawnSync(SETPRIV, [
        ...asNobody,
        PYTHON,
        '-c',
        'import ctypes,sys; libc=ctypes.CDLL(None, use_errno=True); sys.exit(0 if libc.ptrace(16, int(sys.argv[1]), 0, 0) == 0 else 1)',
        String(pid),
      ]);
      assert.equal(traced.status, 1, 'its user attached to the agent with ptrace');
    });

    it("stays up when its socket's name is taken (a directory of the user's): moves it aside and listens", async function () {
      const own = path.join(path.dirname(socket), 'taken.sock');
      fs.mkdirSync(own);
      fs.writeFileSync(path.join(own, 'kept'), 'x');
      fs.chownSync(own, NOBODY, NOBODY);
      const taken = await startAgent(own);
      try {
        await waitFor('the socket', () => (fs.lstatSync(own).isSocket() ? true : undefined));
        const aside = fs.readdirSync(path.dirname(own)).filter((name) => name.startsWith('taken.sock.aside-'));
        assert.equal(aside.length, 1);
        assert.equal(fs.readFileSync(path.join(path.dirname(own), aside[0], 'kept'), 'utf8'), 'x', "the user's file was lost");
        const ownCgroup = fs.readFileSync(`/proc/${taken.pid}/cgroup`, 'utf8');
        assert.equal(spawnSync(SETPRIV, attachArgs({ socket: own, cgroup: ownCgroup }, ['/bin/true']), { env: {} }).status, 0);
      } finally {
        taken.kill('SIGTERM');
        await exited(taken);
      }
    });
  });

  describe('stop', function () {
    it('ends within 1 s on SIGTERM, hanging up a running session', async function () {
      const own = path.join(path.dirname(socket), 'stop.sock');
      const stopping = await startAgent(own);
      const ownCgroup = fs.readFileSync(`/proc/${stopping.pid}/cgroup`, 'utf8');
      const session = spawn(SETPRIV, attachArgs({ socket: own, cgroup: ownCgroup }, ['/bin/sleep', '1000']), { stdio: 'ignore', env: {} });
      await sleep(300);
      const start = Date.now();
      stopping.kill('SIGTERM');
      const end = await exited(stopping);
      const took = Date.now() - start;
      assert.deepEqual(end, { code: 0, signal: null });
      assert.ok(took < 1000, `the agent took ${took} ms`);
      const attached = await exited(session);
      assert.equal(attached.code, 129, 'the session was not hung up');
    });
  });
});
