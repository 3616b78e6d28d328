import assert from 'node:assert/strict';
import { withConfig } from './support/config';
import { jailedUser, loginAs, spawnLogin } from './support/fixtures';
import { requireHost, sh, sleep, waitFor } from './support/host';
import { Terminal } from './support/pty';
import { type Sshd, sshOptions, startSshd } from './support/sshd';
import { jailOf, type TestUser } from './support/users';

/** Command lines of the jail's processes, as root sees them from the engine's side. */
function jailProcessArgs(user: TestUser): string[] {
  return sh(`docker exec ${jailOf(user)} ps -eo args=`)
    .split('\n')
    .map((line) => line.trim());
}

function hasProcess(user: TestUser, args: string): boolean {
  return jailProcessArgs(user).includes(args);
}

describe('disconnect: the jailed session gets a hangup when the client goes away', function () {
  this.timeout(90_000);
  let sshd: Sshd;

  before(async () => {
    requireHost('docker', 'sshd', 'ssh');
    sshd = await startSshd();
  });
  const user = jailedUser();
  // Registered after the user's own: the user goes first, then sshd.
  after(() => sshd.stop());

  async function interactiveLoginStarting(commands: string[]): Promise<Terminal> {
    const term = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, user), '-tt', `${user.name}@127.0.0.1`]);
    await term.expect(/\$ $/m);
    for (const command of commands) await term.command(command);
    return term;
  }

  it("delivers SIGHUP to the shell and its jobs within 5 s of the ssh client being killed; nohup'd jobs survive", async () => {
    const term = await interactiveLoginStarting(['sleep 4242 & :', 'nohup sleep 4343 >/dev/null 2>&1 & :', '(trap "" HUP; exec sleep 4444) & :']);
    assert.ok(hasProcess(user, 'sleep 4242') && hasProcess(user, 'sleep 4343'));
    term.kill('SIGKILL');
    const started = Date.now();
    await waitFor(
      'the shell and its job to end',
      () => !hasProcess(user, 'sleep 4242') && !jailProcessArgs(user).some((a) => a.startsWith('-bash') || a === 'bash' || a.includes('bash -l')),
      5_000,
    );
    assert.ok(Date.now() - started <= 5_000);
    // As on any host: what ignores the hangup carries on.
    assert.ok(hasProcess(user, 'sleep 4343'), "the nohup'd job was killed");
    assert.ok(hasProcess(user, 'sleep 4444'), 'the job ignoring SIGHUP was killed');
    sh(`docker exec -u ${user.uid} ${jailOf(user)} pkill -f 'sleep 4[34]4[34]'`);
  });

  it('hangs up a non-interactive `ssh host cmd` when the client is killed', async () => {
    const client = spawnLogin(user, 'sleep 4545; echo after', { via: 'ssh', sshd });
    await waitFor('the command to run in the jail', () => hasProcess(user, 'sleep 4545'), 15_000);
    client.kill('SIGKILL');
    await waitFor(
      'the command to end',
      () => !hasProcess(user, 'sleep 4545') && !jailProcessArgs(user).some((a) => a.includes('sleep 4545; echo after')),
      5_000,
    );
  });

  it("with kill_on_logout = yes, kills everything the session started, nohup'd and detached jobs included", async () => {
    await withConfig('[session]\nkill_on_logout = yes\n', async () => {
      const term = await interactiveLoginStarting(['nohup sleep 4646 >/dev/null 2>&1 & :', 'setsid sleep 4747 & :', '(trap "" HUP; exec sleep 4848) & :']);
      await waitFor('the jobs to start', () => hasProcess(user, 'sleep 4646') && hasProcess(user, 'sleep 4747') && hasProcess(user, 'sleep 4848'));
      term.kill('SIGKILL');
      await waitFor('every process of the session to end', () => !jailProcessArgs(user).some((a) => /sleep 4[678][478][678]|bash/.test(a)), 5_000);
    });
  });

  it("at a normal logout, lets nohup'd and detached jobs run on, as any host does", async () => {
    const term = await interactiveLoginStarting(['nohup sleep 5151 >/dev/null 2>&1 & :', 'setsid sleep 5252 & :']);
    term.write('exit\r');
    assert.equal(await term.exited, 0);
    await sleep(1000);
    assert.ok(hasProcess(user, 'sleep 5151') && hasProcess(user, 'sleep 5252'));
    sh(`docker exec -u ${user.uid} ${jailOf(user)} pkill -f 'sleep 5[12]5[12]'`);
  });

  it('with kill_on_logout = yes, kills what the session left behind at a normal logout too', async () => {
    await withConfig('[session]\nkill_on_logout = yes\n', async () => {
      const term = await interactiveLoginStarting(['nohup sleep 5353 >/dev/null 2>&1 & :', 'setsid sleep 5454 & :']);
      const other = await interactiveLoginStarting(['sleep 5555 & :']);
      term.write('exit\r');
      assert.equal(await term.exited, 0);
      await waitFor("the session's jobs to be killed", () => !hasProcess(user, 'sleep 5353') && !hasProcess(user, 'sleep 5454'), 5_000);
      assert.ok(hasProcess(user, 'sleep 5555'), "another session's job was killed");
      other.write('kill %1; exit\r');
      assert.equal(await other.exited, 0);
    });
  });

  it("with kill_on_logout = yes, kills at the last session's end even what dropped the session's mark", async () => {
    await withConfig('[session]\nkill_on_logout = yes\n', async () => {
      const term = await interactiveLoginStarting(['(env -u DOCKER_JAIL_SESSION setsid sleep 5757 >/dev/null 2>&1 & ) ; :']);
      await waitFor('the unmarked job to start', () => hasProcess(user, 'sleep 5757'));
      term.write('exit\r');
      assert.equal(await term.exited, 0);
      await waitFor('the unmarked job to be killed', () => !hasProcess(user, 'sleep 5757'), 5_000);
    });
  });

  it('leaves other sessions of the same user alone when one session hangs up', async () => {
    const keeper = await interactiveLoginStarting(['sleep 4949 & :']);
    const leaver = await interactiveLoginStarting(['sleep 5050 & :']);
    leaver.kill('SIGKILL');
    await waitFor("the leaving session's job to end", () => !hasProcess(user, 'sleep 5050'), 5_000);
    await sleep(500);
    assert.ok(hasProcess(user, 'sleep 4949'), "the other session's job was hit");
    assert.equal(await keeper.command('echo still-here'), 'still-here\n');
    keeper.write('kill %1; exit\r');
    assert.equal(await keeper.exited, 0);
  });
});

describe('concurrent first logins of one user end with one jail and working sessions', function () {
  this.timeout(90_000);

  before(() => requireHost('docker', 'su'));
  const user = jailedUser();

  it('creates exactly one jail when several logins race to create it', async () => {
    const logins = Array.from(
      { length: 6 },
      () =>
        new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawnLogin(user, 'hostname', { via: 'su' }, { stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout?.on('data', (d) => (stdout += d));
          child.stderr?.on('data', (d) => (stderr += d));
          child.on('close', (status) => resolve({ status, stdout, stderr }));
        }),
    );
    for (const result of await Promise.all(logins)) {
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, `${user.name}-jail\n`);
    }
    assert.equal(jailOf(user).split('\n').length, 1);
    assert.equal(loginAs(user, 'true').status, 0);
  });

  it('delivers the output and status of commands that end before the login has even looked (regression)', () => {
    for (let i = 0; i < 15; i++) {
      const result = loginAs(user, `echo quick-${i}; exit ${i}`, { via: 'su' }, { timeout: 20_000 });
      assert.deepEqual([result.status, result.stdout], [i, `quick-${i}\n`]);
    }
  });
});
