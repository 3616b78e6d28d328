// Sessions through the jail's own agent (src/session/agent.ts, agent/): the
// jail's init is docker-jail-agent as the user, the pty is made inside the
// jail, and the only host process of a running session is the user's
// docker-jail-attach. Attacked by effect: what runs on the host, what the
// agent's socket reaches when the user points it elsewhere, descriptors handed
// through the door, an agent that is stopped, a jail killed, groups changed.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { AGENT_PROGRAM, ATTACH_PROGRAM, MAIN_PROGRAM } from '../src/host/paths';
import { withConfig } from './support/config';
import { requireHost, run, sh, sleep, waitFor } from './support/host';
import { Terminal } from './support/pty';
import { type Sshd, ssh, sshOptions, startSshd } from './support/sshd';
import { createUser, jailOf, removeUser, type TestUser } from './support/users';

/** Every host process whose executable is `exe`, with its real uid. */
function processesOf(exe: string): { pid: number; uid: number; ppid: number }[] {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) !== exe) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const uid = Number(/^Uid:\s*(\d+)/m.exec(status)?.[1]);
      const ppid = Number(/^PPid:\s*(\d+)/m.exec(status)?.[1]);
      found.push({ pid: Number(entry), uid, ppid });
    } catch {
      // gone, or a kernel thread
    }
  }
  return found;
}

function statusField(pid: number, name: string): string {
  return new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim() ?? '';
}

function initPid(user: TestUser): number {
  return Number(sh(`docker inspect -f '{{.State.Pid}}' ${jailOf(user)}`).trim());
}

describe("sessions through the jail's agent", function () {
  this.timeout(90_000);
  let sshd: Sshd;
  let alice: TestUser;
  let scratch: string;

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'su', 'python3', 'setpriv');
    sshd = await startSshd();
    alice = createUser({ groups: ['jailed', 'users'] });
    scratch = mkdtempSync('/tmp/djt-agent-');
    sh(`chmod 1777 ${scratch}`); // the user's own listener binds here too
  });
  after(async () => {
    removeUser(alice);
    await sshd.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("runs the jail's init as the agent, with the user's uid and groups and every confinement", () => {
    assert.equal(ssh(sshd, alice, ['true']).status, 0);
    const pid = initPid(alice);
    assert.equal(readlinkSync(`/proc/${pid}/exe`), AGENT_PROGRAM);
    assert.deepEqual(statusField(pid, 'Uid').split(/\s+/).map(Number), [alice.uid, alice.uid, alice.uid, alice.uid]);
    assert.deepEqual(statusField(pid, 'Gid').split(/\s+/).map(Number), [alice.gid, alice.gid, alice.gid, alice.gid]);
    const groups = statusField(pid, 'Groups')
      .split(/\s+/)
      .map(Number)
      .sort((a, b) => a - b);
    const expected = sh(`id -G ${alice.name}`)
      .trim()
      .split(/\s+/)
      .map(Number)
      .filter((g) => g !== alice.gid)
      .sort((a, b) => a - b);
    assert.deepEqual(
      groups.filter((g) => g !== alice.gid),
      expected,
    );
    assert.match(statusField(pid, 'CapEff'), /^0+$/);
    assert.match(statusField(pid, 'CapPrm'), /^0+$/);
    assert.equal(statusField(pid, 'NoNewPrivs'), '1');
    assert.equal(statusField(pid, 'Seccomp'), '2');
    assert.match(sh('docker-jail list'), new RegExp(`\\b${alice.name}\\b.*\\bagent\\b`));
  });

  it("leaves only the user's docker-jail-attach on the host while a session runs: no root process, no Node process, under 2 MiB", async () => {
    const term = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, alice), '-tt', `${alice.name}@127.0.0.1`], { cols: 90, rows: 33 });
    await term.expect(/\$ $/m);
    assert.match(await term.command('tty'), /^\/dev\/pts\/\d+\n$/);
    assert.equal(await term.command('stty size'), '33 90\n');
    assert.deepEqual(processesOf(MAIN_PROGRAM), [], 'a docker-jail process stayed on the host while the session ran');
    const attach = processesOf(ATTACH_PROGRAM).filter((p) => p.uid === alice.uid);
    assert.equal(attach.length, 1);
    const [a] = attach;
    assert.deepEqual(statusField(a.pid, 'Uid').split(/\s+/).map(Number), [alice.uid, alice.uid, alice.uid, alice.uid]);
    assert.match(statusField(a.pid, 'CapEff'), /^0+$/);
    const rssKiB = Number(statusField(a.pid, 'VmRSS').split(/\s+/)[0]);
    assert.ok(rssKiB < 2048, `attach holds ${rssKiB} KiB`);
    // The shell in the jail is the agent's child: its pty is the jail's own, made by the agent.
    const shellPid = Number(await term.command('echo $$'));
    assert.ok(shellPid > 1);
    term.write('exit 3\r');
    assert.equal(await term.exited, 3);
  });

  it('leaves nothing on the host 12 s after 20 clients of sessions ignoring SIGHUP were killed; the jobs run on in the jail', async () => {
    const tag = String(100000 + Math.floor(Math.random() * 900000));
    const marks = Array.from({ length: 20 }, (_, i) => `sleep 9${i}0.${tag}`);
    const clients: ChildProcess[] = [];
    try {
      for (const [i, mark] of marks.entries()) {
        clients.push(
          spawn('/usr/bin/ssh', [...sshOptions(sshd, alice), i % 2 === 0 ? '-tt' : '-T', `${alice.name}@127.0.0.1`, `trap '' HUP; exec ${mark}`], {
            stdio: ['pipe', 'ignore', 'ignore'],
          }),
        );
        // Five at a time: sshd's MaxStartups drops connections beyond ten still authenticating.
        if (i % 5 === 4)
          await waitFor(
            `${i + 1} jailed commands`,
            () => marks.slice(0, i + 1).every((m) => run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${m}$`]).status === 0),
            60_000,
          );
      }
      await waitFor(
        '20 jailed commands',
        () => marks.every((mark) => run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${mark}$`]).status === 0),
        90_000,
      );
      assert.equal(processesOf(ATTACH_PROGRAM).filter((p) => p.uid === alice.uid).length, 20);
      for (const client of clients) client.kill('SIGKILL');
      await sleep(12_000);
      assert.deepEqual(
        processesOf(ATTACH_PROGRAM).filter((p) => p.uid === alice.uid),
        [],
        'an attach outlived its client',
      );
      assert.deepEqual(processesOf(MAIN_PROGRAM), []);
      assert.equal(run('/usr/bin/pgrep', ['-u', String(alice.uid), '-f', `^${marks[0]}$`]).status, 0, 'the job that ignores SIGHUP was killed');
    } finally {
      for (const client of clients) client.kill('SIGKILL');
      for (const mark of marks) run('/usr/bin/pkill', ['-KILL', '-u', String(alice.uid), '-f', mark]);
    }
  });

  it('ends at the last window size after 2000 quick changes', async () => {
    const term = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, alice), '-tt', `${alice.name}@127.0.0.1`]);
    await term.expect(/\$ $/m);
    for (let i = 0; i < 2000; i++) term.resize(60 + (i % 100), 20 + (i % 40));
    term.resize(133, 51);
    let size = '';
    for (let i = 0; i < 20 && size !== '51 133\n'; i++) size = await term.command('stty size');
    assert.equal(size, '51 133\n');
    term.write('exit\r');
    assert.equal(await term.exited, 0);
  });

  it("takes a warm login without asking the engine: it works with the engine's socket configured away, and a cold one does not", async () => {
    assert.equal(ssh(sshd, alice, ['true']).status, 0); // warm now
    const elsewhere = `[engine]\nsocket = ${scratch}/no-engine.sock\n`;
    await withConfig(elsewhere, () => {
      const warm = ssh(sshd, alice, ['echo warm-$(id -u)']);
      assert.equal(warm.status, 0, warm.stderr);
      assert.equal(warm.stdout, `warm-${alice.uid}\n`);
    });
    sh(`docker stop -t 5 ${jailOf(alice)} >/dev/null`);
    await withConfig(elsewhere, () => {
      const cold = ssh(sshd, alice, ['echo cold']);
      assert.notEqual(cold.status, 0);
      assert.doesNotMatch(cold.stdout, /cold/);
    });
    assert.equal(ssh(sshd, alice, ['echo back']).stdout, 'back\n');
  });

  it("ends the agent on docker stop by itself (SIGTERM handled), not by the engine's SIGKILL", () => {
    assert.equal(ssh(sshd, alice, ['true']).status, 0);
    sh(`docker stop -t 30 ${jailOf(alice)} >/dev/null`);
    assert.equal(sh(`docker inspect -f '{{.State.ExitCode}}' ${jailOf(alice)}`).trim(), '0');
    assert.equal(ssh(sshd, alice, ['echo again']).stdout, 'again\n');
  });

  it("never lets a socket the user pointed at a host socket (root's, or their own outside the jail) be sent a byte", async () => {
    assert.equal(ssh(sshd, alice, ['true']).status, 0);
    const cgroup = readFileSync(`/proc/${initPid(alice)}/cgroup`, 'utf8');
    for (const owner of ['root', alice.name]) {
      const socketPath = `${scratch}/${owner}.sock`;
      const received = `${scratch}/${owner}.received`;
      writeFileSync(received, '');
      sh(`chmod 0666 ${received}`);
      // A listener that records every byte it is sent.
      const listener = spawn(
        '/usr/bin/setpriv',
        [
          ...(owner === 'root' ? ['--reuid=0'] : [`--reuid=${alice.uid}`, `--regid=${alice.gid}`, '--clear-groups']),
          '/usr/bin/python3',
          '-c',
          'import socket,sys,os\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1]); os.chmod(sys.argv[1],0o777); s.listen(8)\n' +
            'while True:\n c,_=s.accept()\n c.settimeout(3)\n try:\n  d=c.recv(65536)\n except Exception:\n  d=b""\n open(sys.argv[2],"ab").write(d); c.close()\n',
          socketPath,
          received,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let failed = '';
      listener.stderr.on('data', (chunk: Buffer) => (failed += chunk.toString()));
      try {
        await waitFor(`the listener${failed}`, () => failed !== '' || run('/usr/bin/test', ['-S', socketPath]).status === 0);
        assert.equal(failed, '');
        // The user, in their jail, points their agent's socket at it: the next login is still theirs, in their jail.
        assert.equal(ssh(sshd, alice, [`rm -f /run/docker-jail-agent/socket && ln -s ${socketPath} /run/docker-jail-agent/socket`]).status, 0);
        const login = ssh(sshd, alice, ['echo in-$(hostname)']);
        assert.equal(login.status, 0, login.stderr);
        assert.equal(login.stdout, `in-${alice.name}-jail\n`);
        // attach itself, as the user, given that socket (as if it were swapped after root looked): refused, nothing sent.
        const attach = run('/bin/bash', [
          '-c',
          'setpriv --reuid="$1" --regid="$2" --init-groups "$4" "$5" "$6" $$ - / "" "" -- /bin/echo leaked; echo "status=$?"',
          'attach',
          String(alice.uid),
          String(alice.gid),
          '',
          ATTACH_PROGRAM,
          socketPath,
          cgroup,
        ]);
        assert.match(attach.stdout, /^status=77$/m, attach.stderr);
        assert.match(attach.stderr, /not your jail's agent/);
        assert.doesNotMatch(attach.stdout, /leaked/);
        await sleep(500);
        assert.equal(readFileSync(received).length, 0, `${owner}'s listener was sent bytes`);
      } finally {
        listener.kill('SIGKILL');
      }
    }
  });

  it("never hands root's own terminal into the jail: root's `su - USER` goes through docker exec", async () => {
    assert.equal(ssh(sshd, alice, ['true']).status, 0); // the jail and its agent are warm
    // node-pty makes the terminal as root: it is root's, as root's own login terminal would be.
    const term = new Terminal('/bin/su', ['-l', alice.name]);
    await term.expect(/\$ $/m);
    assert.match(await term.command('tty'), /^\/dev\/pts\/\d+\n$/);
    const rootPty = statSync(`/proc/${term.pid}/fd/0`);
    assert.equal(rootPty.uid, 0);
    assert.deepEqual(
      processesOf(ATTACH_PROGRAM).filter((p) => p.uid === alice.uid),
      [],
      "root's terminal went to the agent",
    );
    assert.ok(processesOf(MAIN_PROGRAM).length > 0, 'no docker exec relay serves the session');
    // No process of the jail holds root's terminal.
    const jailCgroup = readFileSync(`/proc/${initPid(alice)}/cgroup`, 'utf8');
    for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        if (readFileSync(`/proc/${entry}/cgroup`, 'utf8') !== jailCgroup) continue;
        for (const fd of readdirSync(`/proc/${entry}/fd`)) {
          const target = statSync(`/proc/${entry}/fd/${fd}`, { throwIfNoEntry: false });
          assert.ok(!(target && target.dev === rootPty.dev && target.rdev === rootPty.rdev), `jail process ${entry} holds root's terminal`);
        }
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
      }
    }
    term.write('exit 4\r');
    assert.equal(await term.exited, 4);
  });

  it("refuses at the door a directory or an O_PATH handle as fd 0, 1 or 2 (it would give the jail the host's root)", () => {
    for (const fd of [0, 1, 2]) {
      const dir = run('/bin/bash', ['-c', `su -l ${alice.name} -c 'cat /proc/self/fd/${fd}/etc/hostname' ${fd}< /`]);
      assert.equal(dir.status, 126);
      // With fd 2 the directory, the refusal has nowhere to be written.
      if (fd !== 2) assert.match(dir.stderr, /refusing a directory or O_PATH handle/);
      assert.doesNotMatch(dir.stdout, new RegExp(sh('hostname').trim()));
    }
    const opath = run('/usr/bin/python3', [
      '-c',
      `import os; fd=os.open('/', os.O_PATH); os.dup2(fd, 0); os.execv('/bin/su', ['su', '-l', '${alice.name}', '-c', 'cat /proc/self/fd/0/etc/hostname'])`,
    ]);
    assert.equal(opath.status, 126);
    assert.match(opath.stderr, /refusing a directory or O_PATH handle/);
    assert.doesNotMatch(opath.stdout, new RegExp(sh('hostname').trim()));
  });

  it('serves a login when the agent is stopped (as its user may stop or trace it): docker exec while the jail is busy, a new agent when idle', () => {
    assert.equal(ssh(sshd, alice, ['nohup sleep 600 >/dev/null 2>&1 &']).status, 0);
    const pid = initPid(alice);
    process.kill(pid, 'SIGSTOP');
    try {
      const fallback = ssh(sshd, alice, ['echo fallback-$(id -u)']);
      assert.equal(fallback.status, 0, fallback.stderr);
      assert.equal(fallback.stdout, `fallback-${alice.uid}\n`);
      assert.equal(initPid(alice), pid, 'a busy jail was restarted');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.equal(ssh(sshd, alice, ['echo warm']).stdout, 'warm\n');
    assert.equal(ssh(sshd, alice, ['pkill -x sleep; true']).status, 0);
    process.kill(pid, 'SIGSTOP');
    const idle = ssh(sshd, alice, ['echo restarted']);
    assert.equal(idle.status, 0, idle.stderr);
    assert.equal(idle.stdout, 'restarted\n');
    assert.notEqual(initPid(alice), pid);
  });

  it('starts a killed jail again (its stale socket answers nothing) and serves the login through its new agent', () => {
    assert.equal(ssh(sshd, alice, ['true']).status, 0);
    sh(`docker kill ${jailOf(alice)} >/dev/null`);
    const after = ssh(sshd, alice, ['echo revived']);
    assert.equal(after.status, 0, after.stderr);
    assert.equal(after.stdout, 'revived\n');
    assert.equal(readlinkSync(`/proc/${initPid(alice)}/exe`), AGENT_PROGRAM);
  });

  it('gives a login with new groups docker exec while the jail runs, and an agent with them once the jail starts anew', () => {
    assert.equal(ssh(sshd, alice, ['true']).status, 0);
    const group = `djtg${process.pid}`;
    assert.equal(ssh(sshd, alice, ['nohup sleep 600 >/dev/null 2>&1 &']).status, 0); // busy: not restarted under the job
    sh(`groupadd ${group} && usermod -aG ${group} ${alice.name}`);
    try {
      const gid = sh(`getent group ${group} | cut -d: -f3`).trim();
      const now = ssh(sshd, alice, ['id -G']);
      assert.equal(now.status, 0, now.stderr);
      assert.ok(now.stdout.trim().split(' ').includes(gid), `the new group is missing: ${now.stdout}`);
      assert.ok(!statusField(initPid(alice), 'Groups').split(/\s+/).includes(gid), 'the running agent changed groups');
      // Idle now: the next login makes the jail anew, its agent with the new groups.
      assert.equal(ssh(sshd, alice, ['pkill -x sleep; true']).status, 0);
      const restarted = ssh(sshd, alice, ['id -G']);
      assert.ok(restarted.stdout.trim().split(' ').includes(gid));
      const pid = initPid(alice);
      assert.equal(readlinkSync(`/proc/${pid}/exe`), AGENT_PROGRAM);
      assert.ok(statusField(pid, 'Groups').split(/\s+/).includes(gid), "the new jail's agent lacks the new group");
    } finally {
      sh(`gpasswd -d ${alice.name} ${group} >/dev/null; groupdel ${group}`);
    }
  });

  it('serves sessions by docker exec in a jail made without the agent, until the jail starts anew', async () => {
    sh(`docker rm -f ${jailOf(alice)} >/dev/null`);
    await withConfig('[jail]\ntmp_size = 0\n', () => {
      // A job keeps it busy, so the logout does not move it at once (an outdated idle jail goes at its last logout).
      assert.equal(ssh(sshd, alice, ['nohup sleep 600 >/dev/null 2>&1 &']).status, 0);
    });
    assert.notEqual(readlinkSync(`/proc/${initPid(alice)}/exe`), AGENT_PROGRAM);
    assert.match(sh('docker-jail list'), new RegExp(`\\b${alice.name}\\b.*\\(outdated: session kind\\).*\\bexec\\b`));
    const exec = ssh(sshd, alice, ['echo exec-$(id -u)']);
    assert.equal(exec.stdout, `exec-${alice.uid}\n`);
    sh(`docker exec ${jailOf(alice)} pkill -x sleep`);
    // Idle now: the last logout's close_session may have removed it already (outdated and idle), else it stops here.
    sh(`docker stop -t 5 ${jailOf(alice) || 'none'} >/dev/null 2>&1 || true`);
    assert.equal(ssh(sshd, alice, ['echo moved']).stdout, 'moved\n');
    assert.equal(readlinkSync(`/proc/${initPid(alice)}/exe`), AGENT_PROGRAM);
  });
});
