// The attacks of issue 7 that a security reviewer runs against a login host
// (the launcher's own attacks are in test/launcher.test.ts and
// launcher-fuzz.test.ts, the config's in config-fuzz.test.ts). Each attack is
// judged by its effect: what a traced login really touched, what a read or a
// ptrace really returned, which container a login really ran in, what really
// ran on the host, which connection really got through. Controls show each
// probe detects what it looks for where nothing stops it.
//
// Covered elsewhere, by effect, and not repeated here:
// - ~/.ssh/rc never runs on the host: sshd-policy.e2e.test.ts, "never runs
//   ~/.ssh/rc of a jailed user on the host, even with LD_PRELOAD from ~/.pam_environment".
// - CapEff 0 and NoNewPrivs 1: isolation.e2e.test.ts, "runs the jail with no
//   capabilities and no-new-privileges"; id: login.e2e.test.ts.
// - no setuid file in the image, a setuid-root file and a device node root put in the
//   home, mknod/mount/unshare by the user: isolation.e2e.test.ts, "hardening, by its effects".
// - no Docker socket in the jail: isolation.e2e.test.ts, "gives no way to the Docker socket".
// - a TCP server on the host's loopback and other addresses: isolation.e2e.test.ts,
//   "cannot reach a TCP server on the host, on loopback or on the host's own addresses".
// - the gc side of uid reuse: gc.e2e.test.ts, "treats a jail whose uid now belongs
//   to another user (userdel, useradd) as an orphan".

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { ATTACH_PROGRAM, MAIN_PROGRAM, PAM_HOOK, SCRATCH_MOUNTS, STAGING_ROOT } from '../../src/host/paths';
import { withConfig } from '../support/config';
import { requireHost, run, sh, sleep, waitFor } from '../support/host';
import { Terminal } from '../support/pty';
import { type Sshd, ssh, sshOptions, startSshd } from '../support/sshd';
import { createUser, removeUser, type TestUser } from '../support/users';
import {
  ABSTRACT_CONNECT_C,
  CONTAINER_PROBE,
  compileStatic,
  createNamedUser,
  interpreterOf,
  login,
  loginOutput,
  type PathAccess,
  PROBE_PROCESS_C,
  pathAccesses,
  removeNamedUser,
  replaceConfig,
  TCP_LISTEN_C,
  TERMINAL_ATTACK_C,
  tracedRoot,
  whyWritable,
} from './attacks-support';

const STRACE_ARGS = ['-f', '-ff', '-y', '-qq', '-s', '4096', '-e', 'trace=%file,%process,%creds,connect,bind', '-e', 'signal=none'];
/** The full id of the one container labelled with the uid. */
function labelledJail(uid: number): string {
  const ids = sh(`docker ps -aq --no-trunc --filter label=io.docker-jail.managed=true --filter label=io.docker-jail.uid=${uid}`)
    .trim()
    .split('\n')
    .filter(Boolean);
  assert.equal(ids.length, 1, `uid ${uid} should have exactly one labelled jail, has: ${ids.join(' ') || 'none'}`);
  return ids[0];
}

/** Copies a program the test built into the user's home, owned by them, to run inside their jail. */
function giveProgram(user: TestUser, program: string, as: string): void {
  sh(`install -o ${user.uid} -g ${user.gid} -m 0755 ${program} ${user.home}/${as}`);
}

function hostAddresses(): string[] {
  const addresses = sh(`ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1`).trim().split('\n').filter(Boolean);
  if (addresses.length === 0) throw new Error('prerequisite missing: the host has no non-loopback IPv4 address');
  return addresses;
}

/** A shell script that tries a TCP connection to each target from where it runs and prints "reached" or "unreached" per target. */
function tcpAttempts(targets: [string, number][]): string {
  return targets
    .map(
      ([ip, port]) =>
        `if timeout 3 bash -c 'exec 3<>/dev/tcp/${ip}/${port}' 2>/dev/null; then echo "reached ${ip}:${port}"; else echo "unreached ${ip}:${port}"; fi`,
    )
    .join('\n');
}

/** A TCP server on the host counting connections (each is closed at once). */
async function countingServer(port: number, host: string): Promise<{ server: Server; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`cannot listen on ${host}:${port} for the test: ${error.message}`)));
    server.listen(port, host, resolve);
  });
  return { server, connections: () => count };
}

describe('attacks on a jailed login, proved by their effects', function () {
  this.timeout(120_000);
  let sshd: Sshd;
  let restoreConfig: () => void = () => undefined;
  let tools: string;
  const users: TestUser[] = [];
  const named: TestUser[] = [];
  let alice: TestUser;
  let bob: TestUser;
  const tag = randomBytes(3).toString('hex');

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'su', 'strace', 'gdb', 'gcc', 'setpriv', 'useradd', 'userdel', 'ss', 'ip', 'pgrep');
    // The built-in defaults (network none above all), whatever this host's file says.
    restoreConfig = replaceConfig('');
    sshd = await startSshd();
    tools = mkdtempSync('/tmp/djt-attacks-');
    chmodSync(tools, 0o755);
    compileStatic(PROBE_PROCESS_C, `${tools}/probe-process`);
    compileStatic(TERMINAL_ATTACK_C, `${tools}/tty-attack`);
    compileStatic(ABSTRACT_CONNECT_C, `${tools}/abstract-connect`);
    compileStatic(TCP_LISTEN_C, `${tools}/listen`);
    alice = createUser();
    bob = createUser();
    users.push(alice, bob);
    for (const user of [alice, bob]) loginOutput(user, 'true');
  });
  after(async () => {
    for (const user of users) removeUser(user);
    for (const user of named) removeNamedUser(user);
    await sshd?.stop();
    restoreConfig();
    if (tools) rmSync(tools, { recursive: true, force: true });
  });

  describe('every path the privileged code opens, loads, executes or connects to is root-owned and not writable by others (strace of real logins)', function () {
    this.timeout(180_000);

    /**
     * What a user could write, among the paths root touched in the traced
     * login: docker-jail's processes (the launcher, the main program and
     * everything they start while root), plus the files of the login stack
     * that decide that docker-jail runs at all (PAM configuration and modules,
     * the sshd configuration). The programs' ELF interpreters count too: the
     * kernel loads them without a traced call. Not judged by owner: the
     * user's own home (root opens it with O_NOFOLLOW by design, SECURITY.md, invariant 6),
     * which also appears at its staging mount point, and the user's terminal;
     * /proc and /sys are the kernel's. Their parent directories are judged.
     */
    function writableByUsers(accesses: PathAccess[], user: TestUser): string[] {
      const staging = `${STAGING_ROOT}/${user.uid}`;
      // The jail's /tmp and /var/tmp (root sets their mode 1777 and opens nothing in them), judged like the home:
      // by what leads to them, the scratch filesystem's root (root's, 0755) and above.
      // So is the agent's directory: root makes it and gives it to the user, goes into it before it becomes attach,
      // and looks at its socket's name with lstat; it never follows, opens or connects to anything in it.
      const scratch = ['tmp', 'var-tmp', 'agent'].map((dir) => `${SCRATCH_MOUNTS}/${user.uid}/${dir}`);
      const wiring = /^\/etc\/(pam\.d|security|ssh)\/|\/security\/pam_[a-z_]+\.so$|^\/etc\/shells$/;
      const judged = new Map<string, Set<string>>();
      const judge = (path: string, why: string) => judged.set(path, (judged.get(path) ?? new Set()).add(why));
      for (const access of accesses) {
        if (access.fsuid !== 0 || !(access.dockerJail || wiring.test(access.path))) continue;
        let path = access.path;
        if (/^\/(proc|sys)(\/|$)/.test(path)) continue;
        for (const own of [user.home, staging, ...scratch]) if (path === own || path.startsWith(`${own}/`)) path = own.slice(0, own.lastIndexOf('/')) || '/';
        if (/^\/dev\/pts\/\d+$/.test(path)) path = '/dev/pts';
        judge(path, access.syscall);
        if (access.syscall.startsWith('execve')) {
          const interpreter = interpreterOf(access.path);
          if (interpreter !== null) judge(interpreter, `interpreter of ${access.path}`);
        }
      }
      const problems: string[] = [];
      for (const [path, how] of judged) for (const problem of whyWritable(path)) problems.push(`${path} (${[...how].join(', ')}): ${problem}`);
      return [...new Set(problems)];
    }

    /** The paths root named in one call or another, as a set, to check the trace saw the privileged code at work. */
    function rootCalls(accesses: PathAccess[]): Set<string> {
      return new Set(accesses.filter((a) => a.fsuid === 0 && a.dockerJail && /^(0|[1-9]\d*)\b/.test(a.result)).map((a) => `${a.syscall} ${a.path}`));
    }

    function assertSeen(calls: Set<string>, expected: string[]): void {
      assert.deepEqual(
        expected.filter((call) => !calls.has(call)),
        [],
        'the trace missed what every such login does',
      );
    }

    let traces: string;
    before(() => {
      traces = mkdtempSync('/tmp/djt-attacks-trace-');
    });
    after(() => {
      rmSync(traces, { recursive: true, force: true });
    });

    it('a first login, `su -l USER -c CMD` (PAM hook: home and jail made; then the shell)', () => {
      const user = createNamedUser(`dja${tag}f`, { home: false });
      named.push(user);
      const dir = mkdtempSync(`${traces}/first-`);
      const result = run('/usr/bin/strace', [...STRACE_ARGS, '-o', `${dir}/trace`, '/usr/bin/su', '-l', user.name, '-c', 'echo traced'], { timeout: 90_000 });
      assert.equal(result.stdout, 'traced\n', result.stderr);
      const accesses = pathAccesses(dir, tracedRoot(dir, '/usr/bin/su'), process.cwd());
      assertSeen(rootCalls(accesses), [
        `execve ${PAM_HOOK}`,
        'execve /usr/bin/jailsh',
        `execve ${MAIN_PROGRAM}`,
        'connect /var/run/docker.sock',
        'execve /usr/bin/getent',
        'execve /usr/bin/mount',
        'execve /usr/bin/setpriv',
        'execve /usr/bin/logger',
      ]);
      assert.deepEqual(writableByUsers(accesses, user), []);
    });

    // The command waits a moment: the window size only reaches a jailed terminal after its command has started (reported).
    it('a login on a terminal, `su -l USER -c CMD` in a pty (raw mode, window size)', async () => {
      const dir = mkdtempSync(`${traces}/tty-`);
      const term = new Terminal('/usr/bin/strace', [...STRACE_ARGS, '-o', `${dir}/trace`, '/usr/bin/su', '-l', alice.name, '-c', 'sleep 1; stty size; tty'], {
        cols: 91,
        rows: 27,
      });
      const status = await Promise.race([term.exited, sleep(90_000).then(() => 'still running after 90 s')]);
      assert.equal(status, 0, term.text);
      assert.match(term.text, /27 91\r?\n\/dev\/pts\/\d+/);
      const accesses = pathAccesses(dir, tracedRoot(dir, '/usr/bin/su'), process.cwd());
      assertSeen(rootCalls(accesses), ['execve /usr/bin/jailsh', `execve ${MAIN_PROGRAM}`, 'execve /bin/stty', 'connect /var/run/docker.sock']);
      assert.deepEqual(writableByUsers(accesses, alice), []);
    });

    it('a login through sshd, `ssh USER CMD` (sshd and its PAM stack traced from the listener)', async () => {
      const dir = mkdtempSync(`${traces}/sshd-`);
      const listener = /pid=(\d+)/.exec(sh(`ss -ltnpH 'sport = :${sshd.port}'`))?.[1];
      assert.ok(listener, `no process listens on the test sshd's port ${sshd.port}`);
      const strace: ChildProcess = spawn('/usr/bin/strace', [...STRACE_ARGS, '-o', `${dir}/trace`, '-p', listener], { stdio: 'ignore' });
      const ended = new Promise((resolve) => strace.once('exit', resolve));
      try {
        await waitFor('strace to attach to sshd', () => /^TracerPid:\s+[1-9]/m.test(readFileSync(`/proc/${listener}/status`, 'utf8')), 20_000);
        const result = ssh(sshd, alice, ['echo traced']);
        assert.equal(result.stdout, 'traced\n', result.stderr);
      } finally {
        strace.kill('SIGINT');
        await ended;
      }
      const accesses = pathAccesses(dir, Number(listener), '/');
      assertSeen(rootCalls(accesses), [`execve ${PAM_HOOK}`, 'execve /usr/bin/jailsh', `execve ${MAIN_PROGRAM}`, 'connect /var/run/docker.sock']);
      assert.deepEqual(writableByUsers(accesses, alice), []);
    });

    it('the Docker socket it connects to is a root-owned socket whose group has no member (a member could drive the engine as root)', () => {
      const stat = statSync('/var/run/docker.sock');
      assert.ok(stat.isSocket());
      assert.equal(stat.uid, 0);
      assert.equal(stat.mode & 0o002, 0, 'the socket is usable by everyone');
      const [name, , , members] = sh(`getent group ${stat.gid}`).trim().split(':');
      const primary = sh(`getent passwd | awk -F: '$4 == ${stat.gid} && $3 != 0 {print $1}'`).trim();
      assert.deepEqual({ members: members ?? '', primary }, { members: '', primary: '' }, `group ${name} of the Docker socket has members`);
    });

    it("control: the trace tells root's calls from the user's (setuid, setresuid, execution of a setuid program)", () => {
      const dir = mkdtempSync(`${traces}/control-`);
      const file = `${dir}/planted`;
      writeFileSync(file, 'x');
      // Root reads a file, then becomes the user (setpriv: setresuid) and reads another, then the user runs the setuid jailsh.
      const script = `cat ${file} >/dev/null; setpriv --reuid=${alice.uid} --regid=${alice.gid} --init-groups sh -c 'cat /etc/hostname >/dev/null; /usr/bin/jailsh -c "sleep 0.3"'`;
      const result = run('/usr/bin/strace', [...STRACE_ARGS, '-o', `${dir}/trace`, '/bin/sh', '-c', script], { timeout: 60_000 });
      assert.equal(result.status, 0, result.stderr);
      const accesses = pathAccesses(dir, tracedRoot(dir, '/bin/sh'), process.cwd());
      const uidOf = (syscall: string, path: string) => [...new Set(accesses.filter((a) => a.syscall === syscall && a.path === path).map((a) => a.fsuid))];
      assert.deepEqual(uidOf('openat', file), [0]);
      assert.deepEqual(uidOf('openat', '/etc/hostname'), [alice.uid]);
      assert.deepEqual(uidOf('execve', '/usr/bin/jailsh'), [0]);
      assert.deepEqual(uidOf('execve', MAIN_PROGRAM), [0]);
      assert.ok(
        accesses.some((a) => a.dockerJail && a.syscall === 'connect' && a.path === '/var/run/docker.sock' && a.fsuid === 0),
        "the main program's connection is not seen as root's",
      );
      assert.match(whyWritable(file).join('\n'), /^\/tmp is writable by others/m);
    });

    it('control: the judge flags a path a user could write, or plant a file in, and a symbolic link owned by a user', () => {
      const dir = mkdtempSync('/tmp/djt-attacks-judge-');
      try {
        writeFileSync(`${dir}/file`, '');
        chmodSync(`${dir}/file`, 0o664);
        sh(`chgrp ${alice.gid} ${dir}/file && ln -s /etc/passwd ${dir}/link && chown -h ${alice.uid} ${dir}/link`);
        assert.deepEqual(whyWritable('/etc/passwd'), []);
        assert.match(whyWritable('/tmp/djt-no-such-dir/x').join('\n'), /^\/tmp is writable by others \(mode 1777\)$/);
        assert.match(whyWritable(`${dir}/file`).join('\n'), new RegExp(`^${dir}/file is writable by group ${alice.gid}, which has ${alice.name}$`, 'm'));
        assert.match(whyWritable(`${dir}/link`).join('\n'), new RegExp(`${dir}/link is owned by uid ${alice.uid}`));
        assert.match(whyWritable(`${alice.home}/.profile`).join('\n'), new RegExp(`${alice.home} is owned by uid ${alice.uid}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("the session's privileged process, attacked by its own user on the host", function () {
    this.timeout(120_000);

    /** The pid of the main program's process whose arguments hold text, found through /proc as root. */
    function mainProgramRunning(text: string): number | null {
      for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
        try {
          if (readlinkSync(`/proc/${entry}/exe`) === MAIN_PROGRAM && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) return Number(entry);
        } catch {
          // gone, or a kernel thread
        }
      }
      return null;
    }

    /** The probe run as the user on the host against pid: one "name result" per attempt. */
    function probeAs(user: TestUser, pid: number): Record<string, string> {
      const address = readFileSync(`/proc/${pid}/maps`, 'utf8').split('-')[0];
      const result = run('/usr/bin/setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', `${tools}/probe-process`, String(pid), address]);
      assert.equal(result.status, 0, result.stderr);
      return Object.fromEntries(
        result.stdout
          .trim()
          .split('\n')
          .map((line) => [line.split(' ')[0], line.split(' ').slice(1).join(' ')]),
      );
    }

    /** Starts a session that lasts, and returns the host pid of its docker-jail shell process, as root. */
    async function sessionProcess(how: 'su' | 'ssh', user: TestUser, mark: string): Promise<{ pid: number; end: () => void }> {
      // A pipe of root's as stdin: root's descriptors never go to the jail's agent, so docker exec serves the session.
      const child =
        how === 'su'
          ? spawn('/usr/bin/su', ['-l', user.name, '-c', `sleep ${mark}`], { stdio: ['pipe', 'ignore', 'ignore'] })
          : spawn('/usr/bin/ssh', [...sshArgs(user), `sleep ${mark}`], { stdio: 'ignore' });
      const end = () => {
        child.kill('SIGKILL');
        run('/usr/bin/pkill', ['-KILL', '-u', String(user.uid), '-f', `sleep ${mark}`]);
      };
      let pid = 0;
      await waitFor(
        "the session's docker-jail process",
        () => {
          pid = mainProgramRunning(`sleep ${mark}`) ?? 0;
          return pid !== 0;
        },
        20_000,
      );
      await waitFor('the jailed command', () => run('/usr/bin/pgrep', ['-u', String(user.uid), '-f', `^sleep ${mark}$`]).status === 0, 20_000);
      assert.equal(readlinkSync(`/proc/${pid}/exe`), MAIN_PROGRAM);
      assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+0\s+0\s+0\s+0$/m, 'the session process is not root through and through');
      return { pid, end };
    }

    const sshArgs = (user: TestUser) => [...sshOptions(sshd, user), `${user.name}@127.0.0.1`];

    it("control: the same probe, as the user, reads and traces a process of the user's own", async () => {
      const own = spawn('/usr/bin/setpriv', [`--reuid=${alice.uid}`, `--regid=${alice.gid}`, '--init-groups', '/bin/sleep', '300'], { stdio: 'ignore' });
      try {
        await waitFor("the user's sleep", () => run('/usr/bin/pgrep', ['-u', String(alice.uid), '-x', 'sleep']).status === 0);
        const pid = Number(
          run('/usr/bin/pgrep', ['-u', String(alice.uid), '-x', 'sleep'])
            .stdout.trim()
            .split('\n')[0],
        );
        const seen = probeAs(alice, pid);
        assert.deepEqual(
          Object.entries(seen).filter(([, result]) => !result.startsWith('ok')),
          [],
          "the probe could not do its job on the user's own process",
        );
      } finally {
        own.kill('SIGKILL');
        run('/usr/bin/pkill', ['-KILL', '-u', String(alice.uid), '-x', 'sleep']);
      }
    });

    it("finds no root process of a session through the jail's agent to attack: its only host process is the user's own attach", async () => {
      const mark = `603.${tag.length}${Date.now() % 1000}`;
      const client = spawn('/usr/bin/ssh', [...sshArgs(alice), `sleep ${mark}`], { stdio: 'ignore' });
      try {
        await waitFor('the jailed command', () => run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^sleep ${mark}$`]).status === 0, 20_000);
        assert.equal(mainProgramRunning(`sleep ${mark}`), null, 'a root process of the session runs on the host');
        const attach = readdirSync('/proc')
          .filter((e) => /^\d+$/.test(e))
          .map(Number)
          .find((pid) => {
            try {
              return readlinkSync(`/proc/${pid}/exe`) === ATTACH_PROGRAM && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`sleep ${mark}`);
            } catch {
              return false;
            }
          });
        assert.ok(attach !== undefined, 'no attach process of the session');
        assert.match(readFileSync(`/proc/${attach}/status`, 'utf8'), new RegExp(`^Uid:\\s+${alice.uid}\\s+${alice.uid}\\s+${alice.uid}\\s+${alice.uid}$`, 'm'));
        assert.match(readFileSync(`/proc/${attach}/status`, 'utf8'), /^CapEff:\s+0+$/m);
      } finally {
        client.kill('SIGKILL');
        run('/usr/bin/pkill', ['-KILL', '-u', String(alice.uid), '-f', `sleep ${mark}`]);
      }
    });

    for (const how of ['su'] as const) {
      it(`denies the user /proc/PID/environ, fd, mem, cwd/root/exe, process_vm_readv, PTRACE_ATTACH/SEIZE and signals against the root process of their own session (${how}, docker exec)`, async () => {
        const mark = `${600 + (how === 'su' ? 1 : 2)}.${tag.length}${Date.now() % 1000}`;
        const session = await sessionProcess(how, alice, mark);
        try {
          const seen = probeAs(alice, session.pid);
          assert.deepEqual(Object.keys(seen), [
            'environ',
            'fd-list',
            'fd-link',
            'mem',
            'cwd-link',
            'root-link',
            'exe-link',
            'vm-read',
            'ptrace-attach',
            'ptrace-seize',
            'signal',
          ]);
          assert.deepEqual(
            Object.entries(seen).filter(([, result]) => !/^E(ACCES|PERM)$/.test(result)),
            [],
            'an attempt was not refused',
          );
          // And by the tools an attacker would reach for.
          const asUser = ['/usr/bin/setpriv', `--reuid=${alice.uid}`, `--regid=${alice.gid}`, '--init-groups'];
          const strace = run(asUser[0], [...asUser.slice(1), '/usr/bin/strace', '-p', String(session.pid)], { timeout: 20_000 });
          assert.notEqual(strace.status, 0);
          assert.match(strace.stderr, /Operation not permitted/);
          const gdb = run(asUser[0], [...asUser.slice(1), '/usr/bin/gdb', '-nx', '-batch', '-p', String(session.pid), '-ex', 'info registers rip'], {
            timeout: 60_000,
          });
          assert.match(gdb.stdout + gdb.stderr, /ptrace: Operation not permitted/);
          assert.doesNotMatch(gdb.stdout, /^rip\s+0x/m, 'gdb read the registers');
          // The session went on untouched.
          assert.match(readFileSync(`/proc/${session.pid}/status`, 'utf8'), /^TracerPid:\s+0$/m);
        } finally {
          session.end();
        }
      });
    }
  });

  describe('user names that look alike, and uid reuse', function () {
    this.timeout(180_000);
    const base = `dn${tag}`;

    /** A user with a marker file in their home that names them. */
    function nameUser(name: string, badname = false): TestUser {
      const user = createNamedUser(name, { badname });
      named.push(user);
      writeFileSync(`${user.home}/.who`, `${name}\n`);
      sh(`chown ${user.uid}:${user.gid} ${user.home}/.who`);
      return user;
    }

    /** What a login of the user sees: who they are, where their home is, whose marker it holds, and their container. */
    function seenBy(user: TestUser): string {
      return loginOutput(user, `echo "$(id -u) $(id -un) $HOME $(pwd) $(cat ~/.who) $(${CONTAINER_PROBE})"`);
    }

    function assertOwnJails(group: TestUser[]): void {
      const jails = new Set<string>();
      for (const user of group) {
        const jail = labelledJail(user.uid);
        jails.add(jail);
        assert.equal(
          seenBy(user),
          `${user.uid} ${user.name} ${user.home} ${user.home} ${user.name} ${jail}\n`,
          `${user.name} is not in their own jail and home`,
        );
        assert.equal(sh(`docker inspect -f '{{index .Config.Labels "io.docker-jail.user"}}' ${jail}`).trim(), user.name);
      }
      assert.equal(jails.size, group.length, 'two users share a jail');
    }

    it('names differing only by ".", "_" and "-" (ab.x, ab_x, ab-x): each gets their own jail and home, though all three share one host name', () => {
      const group = ['.', '_', '-'].map((sep) => nameUser(`${base}${sep}x`));
      for (const user of group) loginOutput(user, 'true');
      assertOwnJails(group);
      assert.deepEqual(
        group.map((user) => loginOutput(user, 'hostname')),
        group.map(() => `${base}-x-jail\n`),
      );
    });

    it('names differing only by case (useradd --badname): each gets their own jail and home', () => {
      const group = [nameUser(`${base}c`), nameUser(`${base.toUpperCase()}C`, true)];
      for (const user of group) loginOutput(user, 'true');
      assertOwnJails(group);
    });

    it("two names of 32 characters (useradd's longest) differing only in the last: each gets their own jail and home", () => {
      const stem = `${base}${'l'.repeat(32 - base.length - 1)}`;
      const group = [nameUser(`${stem}a`), nameUser(`${stem}b`)];
      assert.equal(group[0].name.length, 32);
      assert.equal(run('/usr/sbin/useradd', ['--no-create-home', `${stem}ab`]).status, 3, 'useradd took a 33-character name');
      for (const user of group) loginOutput(user, 'true');
      assertOwnJails(group);
    });

    it('a name with "@" (an LDAP-style name, useradd --badname): its own jail (the "@" written as _40) and home', () => {
      const user = nameUser(`${base}@y`, true);
      loginOutput(user, 'true');
      assertOwnJails([user]);
      assert.equal(sh(`docker inspect -f '{{.Name}}' ${labelledJail(user.uid)}`).trim(), `/jail-${base}_40y`);
    });

    it('"a@z" and "a_z" (one container name before the names were escaped): each gets their own jail and home, whoever logs in first', () => {
      const group = [nameUser(`${base}@z`, true), nameUser(`${base}_z`)];
      for (const user of group) loginOutput(user, 'true');
      assertOwnJails(group);
      assert.deepEqual(
        group.map((user) => sh(`docker inspect -f '{{.Name}}' ${labelledJail(user.uid)}`).trim()),
        [`/jail-${base}_40z`, `/jail-${base}__z`],
      );
    });

    it("uid reuse (userdel A; useradd --uid A's B): B gets a jail of its own at once, without A's files; A's jail is never entered for B, and is left as it was, for gc", () => {
      const old = nameUser(`${base}ra`);
      const secret = `old-secret-${tag}`;
      loginOutput(old, `echo ${secret} > /tmp/secret; chmod 600 /tmp/secret`);
      const oldJail = labelledJail(old.uid);
      run('/usr/bin/pkill', ['-KILL', '-u', String(old.uid)]);
      assert.equal(run('/usr/sbin/userdel', ['--remove', old.name]).status, 0);
      const reused = createNamedUser(`${base}rb`, { uid: old.uid });
      named.push(reused);

      // pkill ended A's jail too (its init, the agent, runs as A): its passwd is read from the stopped container's
      // own layer (docker cp would mount its binds, A's home among them, which userdel removed).
      const passwdOf = (jail: string) => readFileSync(`${sh(`docker inspect -f '{{.GraphDriver.Data.UpperDir}}' ${jail}`).trim()}/etc/passwd`, 'utf8');
      const passwdBefore = passwdOf(oldJail);
      const result = login(reused, `cat /tmp/secret 2>/dev/null; id -un; ${CONTAINER_PROBE}`);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, '');
      const jails = sh(`docker ps -aq --no-trunc --filter label=io.docker-jail.uid=${reused.uid} --filter label=io.docker-jail.user=${reused.name}`)
        .trim()
        .split('\n')
        .filter(Boolean);
      assert.equal(jails.length, 1);
      assert.equal(result.stdout, `${reused.name}\n${jails[0]}\n`, "B saw A's files, or ran in another jail");
      assert.notEqual(jails[0], oldJail);
      // A's jail is left as it was (gc's, after its grace), naming A alone.
      assert.equal(passwdOf(oldJail), passwdBefore);
      assert.doesNotMatch(passwdBefore, new RegExp(`^${reused.name}:`, 'm'));
      sh(`docker rm -f ${oldJail} >/dev/null`);
    });

    it("uid reuse under the same name (userdel A, home kept; useradd A again with its uid) is the same account to every part of the host, its home's files included: its login gets the old jail", () => {
      const old = nameUser(`${base}rs`);
      const secret = `old-secret-${tag}`;
      loginOutput(old, `echo ${secret} > /tmp/secret; chmod 600 /tmp/secret`);
      const oldJail = labelledJail(old.uid);
      run('/usr/bin/pkill', ['-KILL', '-u', String(old.uid)]);
      assert.equal(run('/usr/sbin/userdel', [old.name]).status, 0);
      const again = createNamedUser(old.name, { uid: old.uid, home: false });
      assert.equal(again.home, old.home);
      assert.equal(loginOutput(again, `cat /tmp/secret; ${CONTAINER_PROBE}`), `${secret}\n${oldJail}\n`);
    });
  });

  describe('from inside the jail', function () {
    this.timeout(120_000);

    it("finds no setuid or setgid file on any mount of the jail (its home, Docker's init and files included)", () => {
      assert.equal(loginOutput(bob, 'find / \\( -path /proc -o -path /sys \\) -prune -o -type f -perm /6000 -print 2>/dev/null; true'), '');
    });

    it('a setuid file the user makes in the jail stays theirs: chown/chgrp to root fail, and on the host it runs as the user, not root', () => {
      const out = loginOutput(
        alice,
        'cp /usr/bin/id ~/myid && chmod 6755 ~/myid; chown 0 ~/myid 2>/dev/null; echo chown=$?; chgrp 0 ~/myid 2>/dev/null; echo chgrp=$?; ~/myid -u',
      );
      assert.equal(out, `chown=1\nchgrp=1\n${alice.uid}\n`);
      const stat = statSync(`${alice.home}/myid`);
      assert.deepEqual({ uid: stat.uid, gid: stat.gid }, { uid: alice.uid, gid: alice.gid });
      // Even root running it on the host becomes the user: the bit grants the owner's identity and no more.
      assert.equal(sh(`${alice.home}/myid -u`), `${alice.uid}\n`);
      rmSync(`${alice.home}/myid`);
    });

    it("TIOCSTI on the jail's terminal only types into the jail: injected lines run there, never in root's shell on the host after `su -l`; TIOCLINUX and the consoles fail", async () => {
      giveProgram(alice, `${tools}/tty-attack`, 'tty-attack');
      const inJail = `/tmp/djt-sti-jail-${tag}`;
      const onHost = `/tmp/djt-sti-host-${tag}`;
      const term = new Terminal('/bin/bash', ['--norc', '--noprofile', '-i']);
      try {
        await term.expect(/# $/);
        term.write(`su -l ${alice.name}; echo "su-status=$?"\r`);
        await term.expect(/\$ $/, 20_000);
        const from = term.text.length;
        // Typed into the jail's own terminal: the jail's shell runs the first line, then exits; the last
        // line would be read by root's shell if the injection reached the host's terminal.
        const payload = `touch ${inJail}\nexit\ntouch ${onHost}\n`;
        term.write(`~/tty-attack $'${payload.replace(/\n/g, '\\n')}'\r`);
        await term.expect(/su-status=0/, 20_000, from);
        await term.expect(/# $/, 10_000, from);
        const shown = term.text.slice(from);
        assert.match(shown, new RegExp(`tiocsti ok ${payload.length}\\b`), "TIOCSTI did not type the whole payload into the jail's terminal");
        for (const attempt of [
          'tioclinux-setsel',
          'tioclinux-paste',
          'open /dev/tty0',
          'open /dev/tty1',
          'open /dev/console',
          'open /dev/vcs',
          'open /dev/vcsa',
        ]) {
          assert.match(shown, new RegExp(`${attempt} E[A-Z]+`), `${attempt} did not fail`);
        }
        await sleep(500);
        assert.equal(await term.command('echo root-shell-$(id -u)'), 'root-shell-0\n');
        assert.ok(!existsSync(onHost) && !existsSync(inJail), 'an injected line ran on the host');
        const jail = labelledJail(alice.uid);
        assert.equal(run('docker', ['exec', jail, 'test', '-e', inJail]).status, 0, "the injection did not reach the jail's shell");
        assert.equal(run('docker', ['exec', jail, 'test', '-e', onHost]).status, 1);
      } finally {
        term.kill();
        rmSync(`${alice.home}/tty-attack`, { force: true });
      }
    });

    it("a flood of escape sequences and 1 MiB of random bytes: nothing runs on the host, the session and root's terminal after it behave, and terminal answers go to the jail", async () => {
      const mark = `/tmp/djt-esc-${tag}`;
      const b64 = Buffer.from(`touch ${mark}-osc52\n`).toString('base64');
      const flood = [
        `printf '\\e]52;c;${b64}\\a\\e]52;c;?\\a'`, // clipboard: set, then ask for it back
        `printf '\\e]0;;touch ${mark}-title;\\n\\a\\e]2;$(touch ${mark}-title2)\\a\\e[21t\\e[20t\\e[14t\\e[18t'`, // title, reported back
        `printf '\\eP$qm\\e\\\\\\eP$q"p\\e\\\\\\eP+q544e\\e\\\\'`, // DECRQSS, XTGETTCAP
        `printf '\\e[c\\e[>c\\e[=c\\e[5n\\e[6n\\e[?6n\\e]10;?\\a\\e]11;?\\a\\e]4;1;?\\a\\e]50;?\\a'`, // device, cursor, colour, font reports
        `printf '\\e[5itouch ${mark}-print\\n\\e[4i'`, // printer controller mode
        `printf '\\eP0;1|17/dG91Y2g=\\e\\\\'`, // DECUDK: user-defined keys
        `printf '\\x9b6n\\x90$qm\\x9c\\e[?1049h\\e[?1000h\\e[?1004h\\e[?2004h\\e(0\\e#8'`, // C1 forms, alternate screen, mouse, focus, paste, line drawing
        'head -c 1048576 /dev/urandom',
        `printf '\\e(B\\e[?1049l\\e[?1000l\\e[?1004l\\e[?2004l\\e[0m\\ec\\n'`,
        'echo flood-done',
      ].join('\n');
      writeFileSync(`${alice.home}/flood.sh`, `${flood}\n`);
      sh(`chown ${alice.uid}:${alice.gid} ${alice.home}/flood.sh`);
      const term = new Terminal('/bin/bash', ['--norc', '--noprofile', '-i']);
      try {
        await term.expect(/# $/);
        term.write(`su -l ${alice.name}; echo "su-status=$?"\r`);
        await term.expect(/\$ $/, 20_000);
        let from = term.text.length;
        term.write('bash ~/flood.sh\r');
        await term.expect(/flood-done/, 60_000, from);
        await term.expect(/\$ $/, 20_000, term.text.lastIndexOf('flood-done'));
        assert.equal(await term.command('echo alive-$(hostname)'), `alive-${alice.name}-jail\n`);

        // A terminal's answer to a query is typed input: it goes to the jail, where the query came from.
        from = term.text.length;
        term.write('printf "\\e[6n"; IFS= read -rs -d R -t 10 answer; echo "answer:${answer#*[}"\r');
        await term.expect(/\x1b\[6n/, 10_000, from);
        term.write('\x1b[12;34R');
        await term.expect(/answer:12;34/, 10_000, from);

        from = term.text.length;
        term.write('exit 3\r');
        await term.expect(/su-status=3/, 20_000, from);
        await term.expect(/# $/, 10_000, from);
        // Root's terminal is back as it was: the login put its raw mode back.
        const modes = await term.command('stty -a');
        for (const mode of ['icanon', 'echo', 'isig', 'icrnl', 'opost', 'onlcr'])
          assert.match(modes, new RegExp(`(^|\\s)${mode}(\\s|$)`), `the host terminal lost ${mode}`);
        assert.equal(await term.command('echo root-shell-$(id -u)'), 'root-shell-0\n');
        assert.deepEqual(sh(`ls -d ${mark}* 2>/dev/null || true`), '', 'a sequence made the host run something');
      } finally {
        term.kill();
        rmSync(`${alice.home}/flood.sh`, { force: true });
      }
    });

    it('a systemd user unit, ~/.forward, crontab and at never run anything on the host (no systemd user manager, MTA, cron or atd here; nothing for the jail to reach)', () => {
      const mark = `/tmp/djt-hostrun-${tag}`;
      // The user plants them from inside the jail, where they are.
      loginOutput(
        alice,
        [
          'mkdir -p ~/.config/systemd/user/default.target.wants',
          `printf '[Service]\\nType=oneshot\\nExecStart=/bin/touch ${mark}-systemd\\n[Install]\\nWantedBy=default.target\\n' > ~/.config/systemd/user/djt.service`,
          'ln -sf ../djt.service ~/.config/systemd/user/default.target.wants/djt.service',
          `printf '"|/bin/touch ${mark}-forward"\\n' > ~/.forward`,
        ].join(' && '),
      );
      // In the jail: no way to schedule anything on the host.
      assert.equal(
        loginOutput(
          alice,
          'for c in crontab at batch atq systemctl sendmail; do command -v $c; done; mkdir -p /var/spool/cron/crontabs 2>/dev/null; echo spool=$?',
        ),
        'spool=1\n',
      );
      // Logins through both PAM stacks that carry pam_systemd (sshd's and su's), then time for anything started.
      assert.equal(ssh(sshd, alice, ['true']).status, 0);
      assert.equal(login(alice, 'true').status, 0);
      run('/usr/bin/sleep', ['2']);
      assert.equal(sh(`ls -d ${mark}* 2>/dev/null || true`), '');
      // Why nothing could: the host runs no systemd user manager, MTA, cron or atd, and holds no crontab of the user.
      assert.notEqual(
        readFileSync('/proc/1/comm', 'utf8').trim(),
        'systemd',
        'PID 1 is systemd here: pam_systemd would start `systemd --user` on the host for the user',
      );
      assert.equal(run('/usr/bin/pgrep', ['-u', String(alice.uid), '-x', 'systemd']).status, 1);
      for (const daemon of ['cron', 'crond', 'atd', 'exim4', 'postfix', 'sendmail'])
        assert.equal(run('/usr/bin/pgrep', ['-x', daemon]).status, 1, `${daemon} runs on the host`);
      for (const path of ['/usr/sbin/sendmail', '/usr/bin/crontab', '/usr/bin/at', `/var/spool/cron/crontabs/${alice.name}`])
        assert.ok(!existsSync(path), `${path} exists on the host`);
      // And no process of the user runs on the host outside their jail.
      const jail = labelledJail(alice.uid);
      const outside = run('/usr/bin/pgrep', ['-u', String(alice.uid)])
        .stdout.trim()
        .split('\n')
        .filter(Boolean)
        .filter((pid) => !readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(jail));
      assert.deepEqual(outside, []);
      sh(`rm -rf ${alice.home}/.config/systemd ${alice.home}/.forward`);
    });
  });

  describe('network from the jail, default mode (none)', function () {
    this.timeout(120_000);
    const abstractName = `djt-abstract-${tag}`;
    let servers: { server: Server; connections: () => number }[] = [];
    let abstractConnections = 0;
    let abstractServer: Server;
    const listenPort = 31000 + Math.floor(Math.random() * 2000);

    before(async () => {
      // Where a Docker API on TCP would listen: on every address (2375), on loopback (2376).
      servers = [await countingServer(2375, '0.0.0.0'), await countingServer(2376, '127.0.0.1')];
      abstractServer = createServer((socket) => {
        abstractConnections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => abstractServer.listen(`\0${abstractName}`, resolve));
      for (const user of [alice, bob]) {
        giveProgram(user, `${tools}/abstract-connect`, 'abstract-connect');
        giveProgram(user, `${tools}/listen`, 'listen');
      }
      // Bob serves a port in his jail, as a user might.
      loginOutput(bob, `setsid nohup ~/listen ${listenPort} bob-serves >/dev/null 2>&1 < /dev/null &`);
      await waitFor("bob's listener", () => login(bob, tcpAttempts([['127.0.0.1', listenPort]])).stdout.startsWith('reached'), 20_000);
    });
    after(async () => {
      for (const { server } of servers) await new Promise((resolve) => server.close(resolve));
      if (abstractServer) await new Promise((resolve) => abstractServer.close(resolve));
      run('/usr/bin/pkill', ['-KILL', '-u', String(bob.uid), '-x', 'listen']);
    });

    it('cannot reach a Docker API port (2375 on every address, 2376 on loopback) on any host address, while the host can', async () => {
      const targets: [string, number][] = ['127.0.0.1', ...hostAddresses()].flatMap(
        (ip) =>
          [
            [ip, 2375],
            [ip, 2376],
          ] as [string, number][],
      );
      const seen = loginOutput(alice, tcpAttempts(targets));
      assert.doesNotMatch(seen, /^reached/m);
      await sleep(300);
      assert.deepEqual(
        servers.map((s) => s.connections()),
        [0, 0],
      );
      // Control: from the host, both answer.
      run('/bin/bash', [
        '-c',
        tcpAttempts([
          ['127.0.0.1', 2375],
          ['127.0.0.1', 2376],
        ]),
      ]);
      await waitFor("the host's connections", () => servers.every((s) => s.connections() === 1));
    });

    it("cannot reach a unix socket of the host's abstract namespace (as containerd's shims used), while the host can", async () => {
      assert.equal(loginOutput(alice, `~/abstract-connect ${abstractName}`), `${abstractName} ECONNREFUSED\n`);
      assert.equal(abstractConnections, 0);
      assert.equal(sh(`${tools}/abstract-connect ${abstractName}`), `${abstractName} connected\n`);
      await waitFor("the host's connection", () => abstractConnections === 1);
    });

    it("cannot reach another user's jail: it has no address, and its loopback is its own", () => {
      const address = sh(`docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' ${labelledJail(bob.uid)}`).trim();
      assert.equal(address, '', "bob's jail has an address");
      assert.equal(loginOutput(alice, tcpAttempts([['127.0.0.1', listenPort]])), `unreached 127.0.0.1:${listenPort}\n`);
      assert.equal(loginOutput(bob, tcpAttempts([['127.0.0.1', listenPort]])), `reached 127.0.0.1:${listenPort}\n`);
    });
  });

  // A bridge network of its own rather than Docker's default one (network = bridge): the same driver and
  // defaults (containers talk to each other, the host is the gateway), without depending on docker0.
  describe('network from the jail on a bridge network (network = a network made with docker network create)', function () {
    this.timeout(120_000);
    const network = `djt-attacks-${tag}`;
    let carol: TestUser;
    let dave: TestUser;
    let loopback: { server: Server; connections: () => number };
    let everywhere: { server: Server; connections: () => number };
    const listenPort = 33000 + Math.floor(Math.random() * 2000);
    const onBridge = () => `[jail]\nnetwork = ${network}\n`;
    // Their logins run under that config too: the last logout of an idle jail the config no longer describes removes it.
    const bridgedOutput = (user: TestUser, command: string) => withConfig(onBridge(), () => loginOutput(user, command));

    before(async () => {
      sh(`docker network create --driver bridge ${network} >/dev/null`);
      carol = createUser();
      dave = createUser();
      // network shapes a jail when it is made: these two are made on the bridge.
      await withConfig(onBridge(), () => {
        for (const user of [carol, dave]) loginOutput(user, 'true');
      });
      loopback = await countingServer(0, '127.0.0.1');
      everywhere = await countingServer(2375, '0.0.0.0');
      for (const user of [carol, dave]) {
        giveProgram(user, `${tools}/listen`, 'listen');
        giveProgram(user, `${tools}/abstract-connect`, 'abstract-connect');
      }
      await bridgedOutput(dave, `setsid nohup ~/listen ${listenPort} dave-serves >/dev/null 2>&1 < /dev/null &`);
      await waitFor("dave's listener", () => login(dave, tcpAttempts([['127.0.0.1', listenPort]])).stdout.startsWith('reached'), 20_000);
    });
    after(async () => {
      for (const s of [loopback, everywhere]) if (s) await new Promise((resolve) => s.server.close(resolve));
      // The jails first: a network in use cannot be removed.
      for (const user of [carol, dave]) if (user) removeUser(user);
      run('docker', ['network', 'rm', network]);
    });

    const addressOf = (user: TestUser, field: 'IPAddress' | 'Gateway') =>
      sh(`docker inspect -f '{{(index .NetworkSettings.Networks "${network}").${field}}}' ${labelledJail(user.uid)}`).trim();

    it("cannot reach the host's loopback-only services (127.0.0.1 is the jail's own)", async () => {
      const port = (loopback.server.address() as { port: number }).port;
      assert.match(addressOf(carol, 'IPAddress'), /^\d+\.\d+\.\d+\.\d+$/, "carol's jail is not on the bridge");
      assert.equal(
        await bridgedOutput(
          carol,
          tcpAttempts([
            ['127.0.0.1', port],
            ['127.0.0.1', 2376],
          ]),
        ),
        `unreached 127.0.0.1:${port}\nunreached 127.0.0.1:2376\n`,
      );
      await sleep(300);
      assert.equal(loopback.connections(), 0);
    });

    it("as doctor warns: reaches a host service listening on every address (a Docker API on 0.0.0.0:2375 included) through the bridge's gateway and the host's addresses", async () => {
      const targets: [string, number][] = [addressOf(carol, 'Gateway'), ...hostAddresses().filter((ip) => ip !== addressOf(carol, 'Gateway'))].map((ip) => [
        ip,
        2375,
      ]);
      const seen = await bridgedOutput(carol, tcpAttempts(targets));
      assert.equal(seen, targets.map(([ip, port]) => `reached ${ip}:${port}\n`).join(''));
      await waitFor('the connections from the jail', () => everywhere.connections() === targets.length);
    });

    it("as doctor warns: reaches another user's bridged jail, and that jail's services", async () => {
      const daveAddress = addressOf(dave, 'IPAddress');
      assert.equal(
        await bridgedOutput(
          carol,
          `${tcpAttempts([[daveAddress, listenPort]])}; timeout 3 bash -c 'exec 3<>/dev/tcp/${daveAddress}/${listenPort}; head -c 11 <&3'`,
        ),
        `reached ${daveAddress}:${listenPort}\ndave-serves`,
      );
    });

    it("cannot reach a unix socket of the host's abstract namespace (its own network namespace)", async () => {
      const name = `djt-abstract-bridge-${tag}`;
      let connections = 0;
      const server = createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(`\0${name}`, resolve));
      try {
        assert.equal(await bridgedOutput(carol, `~/abstract-connect ${name}`), `${name} ECONNREFUSED\n`);
        assert.equal(connections, 0);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});
