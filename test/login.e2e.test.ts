import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { jailedUsers, loginAs } from './support/fixtures';
import { requireHost, run, runBinary, sh, waitFor } from './support/host';
import { Terminal } from './support/pty';
import { type Sshd, ssh, sshOptions, startSshd } from './support/sshd';
import { jailOf, type TestUser } from './support/users';

describe('jailed login through sshd and PAM', function () {
  this.timeout(60_000);
  // First: its teardown removes alice before sshd stops, as before.
  const users = jailedUsers();
  let sshd: Sshd;
  let alice: TestUser;
  let scratch: string;

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'scp', 'sftp', 'su', 'logger', 'rsync', 'git');
    sshd = await startSshd();
    alice = users.make({ groups: ['jailed', 'users'] });
    scratch = mkdtempSync('/tmp/djt-login-');
  });
  after(async () => {
    await sshd.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("lands an interactive `ssh -tt` login in the user's own container, with a pty inside it", async () => {
    const term = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, alice), '-tt', `${alice.name}@127.0.0.1`], { cols: 101, rows: 37 });
    await term.expect(/\$ $/m);
    assert.match(await term.command('tty'), /^\/dev\/pts\/\d+\n$/);
    assert.equal(await term.command('hostname'), `${alice.name}-jail\n`);
    const id = await term.command('id');
    assert.match(id, new RegExp(`^uid=${alice.uid}\\(${alice.name}\\) gid=${alice.gid}\\(${alice.name}\\) groups=.*\\b100\\(users\\)`));
    assert.match(id, /\(jailed\)/);
    // It is the container labelled with alice's uid: a file made in the session appears there.
    const marker = randomBytes(8).toString('hex');
    await term.command(`echo ${marker} > /tmp/marker`);
    assert.equal(sh(`docker exec ${jailOf(alice)} cat /tmp/marker`).trim(), marker);
    assert.equal(await term.command('echo $HOME; pwd'), `${alice.home}\n${alice.home}\n`);
    term.write('exit 5\r');
    assert.equal(await term.exited, 5);
  });

  it("gives the jailed terminal the client's window size and follows resizes", async () => {
    const term = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, alice), '-tt', `${alice.name}@127.0.0.1`], { cols: 101, rows: 37 });
    await term.expect(/\$ $/m);
    assert.equal(await term.command('stty size'), '37 101\n');
    term.resize(132, 43);
    let size = '';
    for (let i = 0; i < 20 && size !== '43 132\n'; i++) size = await term.command('stty size');
    assert.equal(size, '43 132\n');
    term.write('exit\r');
    assert.equal(await term.exited, 0);
  });

  it('runs tmux inside the jail', async () => {
    const term = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, alice), '-tt', `${alice.name}@127.0.0.1`]);
    await term.expect(/\$ $/m);
    term.write('tmux new-session "echo TMUX-IN-\\$(hostname); sleep 3"\r');
    await term.expect(new RegExp(`TMUX-IN-${alice.name}-jail`));
    await term.expect(/\$ $/m, 15_000, term.text.lastIndexOf('TMUX-IN'));
    term.write('exit\r');
    assert.equal(await term.exited, 0);
  });

  it('gives Ctrl-C, Ctrl-Z and job control to the jailed program, and starts screen', async () => {
    const term = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, alice), '-tt', `${alice.name}@127.0.0.1`]);
    await term.expect(/\$ $/m);
    assert.equal(await term.command('shopt -q login_shell && echo login'), 'login\n');
    let from = term.text.length;
    term.write('sleep 600\r');
    await waitFor('sleep to run', () => jailArgs().includes('sleep 600'));
    term.write('\x03');
    await term.expect(/\^C[\s\S]*\$ $/, 10_000, from);
    assert.ok(!jailArgs().includes('sleep 600'), 'Ctrl-C did not stop the jailed program');
    from = term.text.length;
    term.write('sleep 601\r');
    await waitFor('sleep to run', () => jailArgs().includes('sleep 601'));
    term.write('\x1a');
    await term.expect(/Stopped\s+sleep 601/, 10_000, from);
    assert.match(await term.command('jobs'), /\[1\]\+\s+Stopped\s+sleep 601/);
    await term.command('kill -KILL %1');
    await waitFor('the stopped job to be killed', () => !jailArgs().includes('sleep 601'));
    from = term.text.length;
    term.write('screen -q sh -c "echo SCREEN-\\$STY-OK; sleep 2"\r');
    await term.expect(/SCREEN-\d+\.[^\s]+-OK/, 15_000, from);
    await term.expect(/\$ $/m, 15_000, term.text.lastIndexOf('-OK'));
    term.write('exit\r');
    assert.equal(await term.exited, 0);

    function jailArgs(): string[] {
      return sh(`docker exec ${jailOf(alice)} ps -eo args=`)
        .split('\n')
        .map((line) => line.trim());
    }
  });

  it('runs `ssh host cmd` in a non-login shell, and an interactive login in a login shell', () => {
    assert.equal(ssh(sshd, alice, ['shopt -q login_shell && echo login || echo not-login']).stdout, 'not-login\n');
  });

  it('serves rsync and git over ssh from inside the jail', () => {
    const rsh = `ssh ${sshOptions(sshd, alice).join(' ')}`;
    sh(`mkdir -p ${scratch}/tree/sub && head -c 100000 /dev/urandom > ${scratch}/tree/sub/blob && echo hi > ${scratch}/tree/note`);
    const up = run('/usr/bin/rsync', ['-a', '-e', rsh, `${scratch}/tree/`, `${alice.name}@127.0.0.1:tree/`]);
    assert.equal(up.status, 0, up.stderr);
    assert.equal(sh(`cd ${alice.home}/tree && sha256sum note sub/blob`), sh(`cd ${scratch}/tree && sha256sum note sub/blob`));
    assert.equal(sh(`stat -c %U ${alice.home}/tree/sub/blob`).trim(), alice.name);

    assert.equal(ssh(sshd, alice, ['git init -q --bare repo.git && echo made']).stdout, 'made\n');
    const git = (args: string) =>
      sh(`cd ${scratch} && GIT_SSH_COMMAND='${rsh}' git ${args}`, {
        env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
      });
    git(`clone -q ${alice.name}@127.0.0.1:repo.git work`);
    sh(`cd ${scratch}/work && echo content > file && git add file && git -c user.name=t -c user.email=t@t commit -qm first`);
    git(`-C work push -q origin HEAD:main`);
    git(`clone -q -b main ${alice.name}@127.0.0.1:repo.git again`);
    assert.equal(readFileSync(`${scratch}/again/file`, 'utf8'), 'content\n');
  });

  it('passes the exit status of `ssh host cmd` through', () => {
    assert.equal(ssh(sshd, alice, ['exit 7']).status, 7);
    assert.equal(ssh(sshd, alice, ['true']).status, 0);
  });

  it('carries 20 MiB of random bytes through `ssh host cat` unchanged, stdin EOF included', () => {
    const data = randomBytes(20 * 1024 * 1024);
    const result = runBinary('/usr/bin/ssh', [...sshOptions(sshd, alice), `${alice.name}@127.0.0.1`, 'cat'], data);
    assert.equal(result.status, 0, result.stderr.toString());
    assert.equal(result.stdout.length, data.length);
    assert.ok(result.stdout.equals(data), 'the bytes that came back differ');
  });

  it('keeps stderr separate from stdout', () => {
    const result = ssh(sshd, alice, ['echo to-out; echo to-err >&2; echo more-out']);
    assert.equal(result.stdout, 'to-out\nmore-out\n');
    assert.equal(result.stderr, 'to-err\n');
  });

  it('puts and gets a file with scp and with sftp, in the home', () => {
    const payload = randomBytes(300_000);
    writeFileSync(`${scratch}/up.bin`, payload);
    const scpOpts = sshOptions(sshd, alice)
      .map((o) => (o === '-p' ? '-P' : o))
      .filter((o) => o !== '-a');
    assert.equal(run('/usr/bin/scp', [...scpOpts, `${scratch}/up.bin`, `${alice.name}@127.0.0.1:up.bin`]).status, 0);
    assert.equal(Buffer.compare(readFileSync(`${alice.home}/up.bin`), payload), 0);
    assert.equal(run('/usr/bin/scp', [...scpOpts, `${alice.name}@127.0.0.1:up.bin`, `${scratch}/down.bin`]).status, 0);
    assert.equal(Buffer.compare(readFileSync(`${scratch}/down.bin`), payload), 0);

    const batch = `${scratch}/batch`;
    writeFileSync(batch, `put ${scratch}/up.bin sftp-up.bin\nget sftp-up.bin ${scratch}/sftp-down.bin\nls -l\n`);
    const sftp = run('/usr/bin/sftp', [...scpOpts, '-b', batch, `${alice.name}@127.0.0.1`]);
    assert.equal(sftp.status, 0, sftp.stderr);
    assert.equal(Buffer.compare(readFileSync(`${alice.home}/sftp-up.bin`), payload), 0);
    assert.equal(Buffer.compare(readFileSync(`${scratch}/sftp-down.bin`), payload), 0);
    assert.equal(sh(`stat -c %U ${alice.home}/sftp-up.bin`).trim(), alice.name);
  });

  it('works the same through `su -l user -c CMD`', () => {
    const result = loginAs(alice, 'echo $HOME; hostname; id -u; echo oops >&2; exit 9');
    assert.equal(result.status, 9);
    assert.equal(result.stdout, `${alice.home}\n${alice.name}-jail\n${alice.uid}\n`);
    assert.equal(result.stderr, 'oops\n');
  });

  it('records the start and end of each session in syslog (authpriv)', async () => {
    const tag = randomBytes(6).toString('hex');
    assert.equal(ssh(sshd, alice, [`echo ${tag}; exit 4`]).status, 4);
    await waitFor('the audit records', () => /session=end/.test(authLogLines(tag)));
    const lines = authLogLines(tag);
    assert.match(
      lines,
      new RegExp(
        `docker-jail\\[\\d+\\]: session=start user="${alice.name}" uid=${alice.uid} jail="jail-${alice.name}" tty=false service="sshd" rhost="127\\.0\\.0\\.1" .*command="echo ${tag}; exit 4"`,
      ),
    );
    assert.match(
      lines,
      new RegExp(
        `session=end user="${alice.name}" uid=${alice.uid} jail="jail-${alice.name}" tty=false .*exitStatus=4 durationMs=\\d+ hangup=false command="echo ${tag}; exit 4"`,
      ),
    );
  });
});

describe('audit of refused logins', function () {
  this.timeout(30_000);
  it('records root trying jailsh, with the reason', async () => {
    const tag = randomBytes(6).toString('hex');
    const result = run('/usr/bin/jailsh', ['-c', `echo ${tag}`]);
    assert.notEqual(result.status, 0);
    await waitFor('the audit record', () => /session=refused/.test(authLogLines(tag)));
    assert.match(authLogLines(tag), new RegExp(`docker-jail\\[\\d+\\]: session=refused uid=0 (.* )?reason="root is never jailed[^"]*" command="echo ${tag}"`));
  });
});

function authLogLines(tag: string): string {
  try {
    return readFileSync('/var/log/auth.log', 'utf8')
      .split('\n')
      .filter((line) => line.includes(tag))
      .join('\n');
  } catch {
    return '';
  }
}
