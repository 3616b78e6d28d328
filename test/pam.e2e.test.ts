import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { withConfig } from './support/config';
import { engineAnswers, startEngine, stopEngine } from './support/engine';
import { jailedUsers, loginAs } from './support/fixtures';
import { requireHost, run, sh, sleep, waitFor } from './support/host';
import { buildPreloadWitness } from './support/preload';
import { Terminal } from './support/pty';
import { ROOT_KEYS, type Sshd, ssh, sshOptions, startSshd } from './support/sshd';
import { jailOf, type TestUser } from './support/users';

/** Every file under /etc/pam.d with a digest of its bytes. */
function pamSnapshot(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync('/etc/pam.d').sort()) {
    files[name] = createHash('sha256')
      .update(readFileSync(`/etc/pam.d/${name}`))
      .digest('hex');
  }
  return files;
}

function pamAuthUpdate(...args: string[]): void {
  sh(`DEBIAN_FRONTEND=noninteractive pam-auth-update ${args.join(' ')}`);
}

/** The mode, owner and group of a path, without following a final symlink. */
function ownership(path: string): string {
  const s = lstatSync(path);
  return `${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid}`;
}

function jailProcessArgs(user: TestUser): string[] {
  return sh(`docker exec ${jailOf(user)} ps -eo args=`)
    .split('\n')
    .map((line) => line.trim());
}

describe('first login through PAM: the hook makes the home and the jail', function () {
  this.timeout(120_000);
  let sshd: Sshd;

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'su', 'pam-auth-update', 'pamtester');
    if (!readFileSync('/etc/pam.d/common-session', 'utf8').includes('docker-jail-pam-hook')) {
      throw new Error('the docker-jail PAM profile is not enabled (./build.sh install enables it)');
    }
    sshd = await startSshd();
  });
  // Registered before the users' teardown: the engine back (a test stops it), the homes the hook made, sshd; then the users.
  after(async () => {
    await startEngine();
    for (const user of users.made) rmSync(user.home, { recursive: true, force: true });
    await sshd.stop();
  });
  const users = jailedUsers();

  it('turns on and off with pam-auth-update only, leaving /etc/pam.d byte-identical', () => {
    const enabled = pamSnapshot();
    pamAuthUpdate('--remove', 'docker-jail');
    const removed = pamSnapshot();
    assert.notDeepEqual(removed, enabled);
    assert.ok(!readdirSync('/etc/pam.d').some((f) => readFileSync(`/etc/pam.d/${f}`, 'utf8').includes('docker-jail')));
    pamAuthUpdate('--enable', 'docker-jail');
    assert.deepEqual(pamSnapshot(), enabled);
    pamAuthUpdate('--remove', 'docker-jail');
    assert.deepEqual(pamSnapshot(), removed);
    pamAuthUpdate('--enable', 'docker-jail');
    assert.deepEqual(pamSnapshot(), enabled);
  });

  it("creates the home (owner, mode, skeleton, ~/.ssh) and the jail at a brand-new user's first `ssh -tt` login", async () => {
    const user = users.make({ home: false });
    assert.equal(existsSync(user.home), false);
    assert.equal(jailOf(user), '');
    const term = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, user), '-tt', `${user.name}@127.0.0.1`]);
    await term.expect(/\$ $/m, 30_000);
    assert.equal(await term.command('pwd; hostname'), `${user.home}\n${user.name}-jail\n`);
    term.write('exit\r');
    assert.equal(await term.exited, 0);

    assert.equal(ownership(user.home), `700 ${user.uid}:${user.gid}`);
    assert.equal(ownership(`${user.home}/.ssh`), `700 ${user.uid}:${user.gid}`);
    assert.equal(ownership(`${user.home}/.ssh/authorized_keys`), `600 ${user.uid}:${user.gid}`);
    for (const file of readdirSync('/etc/skel')) {
      assert.equal(readFileSync(`${user.home}/${file}`, 'utf8'), readFileSync(`/etc/skel/${file}`, 'utf8'));
      assert.equal(statSync(`${user.home}/${file}`).uid, user.uid);
      assert.equal(statSync(`${user.home}/${file}`).mode & 0o077, 0, `${file} is open to others (umask 077)`);
    }
    assert.notEqual(jailOf(user), '');
    const record =
      readFileSync('/var/log/auth.log', 'utf8')
        .split('\n')
        .find((l) => l.includes(`pam=open_session user="${user.name}"`)) ?? '';
    const took = /homeCreated=true durationMs=(\d+)/.exec(record);
    assert.ok(took, `no open_session record with the hook's time: ${record}`);
    console.log(`      (the hook took ${took[1]} ms to create the home and the jail)`);
  });

  it('never changes an existing home beyond adding a missing ~/.ssh', () => {
    const user = users.make({});
    sh(`rm -rf ${user.home}/.ssh; chmod 0751 ${user.home}; echo mine > ${user.home}/.bashrc`);
    assert.equal(loginAs(user, 'true').status, 0);
    assert.equal(ownership(user.home), `751 ${user.uid}:${user.gid}`);
    assert.equal(readFileSync(`${user.home}/.bashrc`, 'utf8'), 'mine\n');
    assert.equal(ownership(`${user.home}/.ssh`), `700 ${user.uid}:${user.gid}`);
  });

  for (const target of ['/etc', '/root', "another user's home"]) {
    it(`never follows a home planted as a symlink to ${target}, and fails the login closed`, () => {
      const victim = target.startsWith('/') ? target : users.make({ groups: [] }).home;
      const user = users.make({ home: false });
      symlinkSync(victim, user.home);
      const before = ownership(victim);
      const result = loginAs(user, 'echo inside');
      assert.notEqual(result.status, 0);
      assert.equal(result.stdout, '');
      // pam_docker_jail.so opens the home without following it before jailsh runs: the session is refused there,
      // with the reason in the auth log; nothing of docker-jail ran as the user.
      assert.match(result.stderr, /su: cannot open session/);
      assert.equal(result.stderr.split('\n').filter((l) => l.startsWith('jailsh: ')).length, 0);
      assert.match(
        sh('tail -n 50 /var/log/auth.log'),
        new RegExp(`pam_docker_jail\\(su-l:session\\): refusing the session of ${user.name}: ${user.home}: Not a directory`),
      );
      assert.equal(ownership(victim), before);
      assert.equal(lstatSync(user.home).isSymbolicLink(), true);
      rmSync(user.home);
    });
  }

  it('changes no owner or mode of anything a symlink swapped in while the hook runs could point at', async () => {
    const victim = sh('mktemp -d /tmp/djt-victim-XXXXXX').trim();
    sh(`chmod 0755 ${victim}`);
    const before = ownership(victim);
    for (let round = 0; round < 8; round++) {
      const user = users.make({ home: false });
      // Root plays an attacker who could write the homes' parent: the home path flips between nothing and a symlink.
      const flipper = spawn('/bin/sh', ['-c', `while :; do ln -sfn ${victim} ${user.home}; rm -f ${user.home}; done`], { stdio: 'ignore' });
      run('/usr/bin/pamtester', ['login', user.name, 'open_session'], { timeout: 30_000 });
      flipper.kill('SIGKILL');
      await waitFor('the flipper to stop', () => flipper.exitCode !== null || flipper.signalCode !== null);
      assert.equal(ownership(victim), before, `round ${round}`);
      if (lstatSync(user.home, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(user.home);
    }
    rmSync(victim, { recursive: true, force: true });
  });

  it('registers jailsh in /etc/shells', () => {
    assert.ok(readFileSync('/etc/shells', 'utf8').split('\n').includes('/usr/bin/jailsh'));
  });

  it('refuses to create a home in a directory others can write, where a symlink could be swapped in', async () => {
    const parent = sh('mktemp -d /tmp/djt-homes-XXXXXX').trim();
    sh(`chmod 1777 ${parent}`);
    const user = users.make({ home: false });
    sh(`usermod -d ${parent}/${user.name} ${user.name}`);
    user.home = `${parent}/${user.name}`;
    // A configured base, so that the parent's own check is what refuses (a base may hold a shared directory).
    await withConfig(`[home]\nbases = /home ${parent}\n`, () => {
      run('/usr/bin/pamtester', ['login', user.name, 'open_session'], { timeout: 30_000 });
      assert.notEqual(loginAs(user, 'echo inside').status, 0);
      const enable = run('/usr/sbin/docker-jail', ['enable', '--now', user.name]);
      assert.notEqual(enable.status, 0);
      assert.equal(enable.stderr, `docker-jail: refusing to create ${user.home}: ${parent} must be owned by root and writable by root only\n`);
    });
    assert.equal(existsSync(user.home), false);
    rmSync(parent, { recursive: true, force: true });
  });

  it('behaves exactly as with a clean environment when ~/.pam_environment is hostile', () => {
    const user = users.make({});
    const evil = sh('mktemp -d /tmp/djt-pamenv-XXXXXX').trim();
    sh(`chmod 0755 ${evil}`);
    buildPreloadWitness(`${evil}/pwned`, `${evil}/x.so`);
    writeFileSync(`${evil}/x.js`, `require('fs').writeFileSync('${evil}/pwned-node', 'x');\n`);
    writeFileSync(
      `${user.home}/.pam_environment`,
      `LD_PRELOAD DEFAULT=${evil}/x.so\nNODE_OPTIONS DEFAULT="--require ${evil}/x.js"\nPKG_EXECPATH DEFAULT=PKG_INVOKE_NODEJS\nDOCKER_HOST DEFAULT=tcp://127.0.0.1:1\n`,
    );
    sh(`chown ${user.uid}:${user.gid} ${user.home}/.pam_environment`);
    rmSync(user.home + '/.ssh', { recursive: true, force: true });
    sh(`install -d -m 0755 ${ROOT_KEYS} && install -m 0644 ${user.key}.pub ${ROOT_KEYS}/${user.name}`);
    const result = ssh(sshd, user, ['hostname']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${user.name}-jail\n`);
    assert.equal(existsSync(`${evil}/pwned`), false, 'the LD_PRELOAD library ran');
    assert.equal(existsSync(`${evil}/pwned-node`), false, 'NODE_OPTIONS was obeyed');
    assert.equal(ownership(`${user.home}/.ssh`), `700 ${user.uid}:${user.gid}`, 'the hook did not do its job');
    rmSync(evil, { recursive: true, force: true });
  });

  it('acts only for the real PAM user and type, whatever ~/.pam_environment says they are', async () => {
    const attacker = users.make({});
    const victim = users.make({ home: false });
    writeFileSync(`${attacker.home}/.pam_environment`, `PAM_USER DEFAULT=${victim.name}\nPAM_TYPE DEFAULT=open_session\n`);
    sh(`chown ${attacker.uid}:${attacker.gid} ${attacker.home}/.pam_environment`);
    const result = ssh(sshd, attacker, ['echo in']);
    assert.equal(result.stdout, 'in\n', result.stderr);
    // sshd closes the PAM session after the client has gone: wait for it, and for the hook after it.
    await waitFor('sshd to close the session', () => readFileSync('/var/log/auth.log', 'utf8').includes(`session closed for user ${attacker.name}`), 10_000);
    await sleep(2000);
    assert.equal(existsSync(victim.home), false, "the hook made the victim's home");
    assert.equal(jailOf(victim), '', "the hook made the victim's jail");
  });

  /**
   * An interactive login that starts a job, then loses its host process (killed,
   * no chance to hang up: the user's attach, through the jail's agent, which
   * then hangs the session up itself; root's relay, through docker exec) and
   * then its client: only the agent and close_session are left to deal with
   * the job. Resolves once the jail holds no process of it.
   */
  async function orphanedSession(job: string, args: string): Promise<void> {
    const user = users.make({});
    const term = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, user), '-tt', `${user.name}@127.0.0.1`]);
    await term.expect(/\$ $/m);
    await term.command(`${job} & :`);
    // The prompt can come back before the background job has exec'd (nohup, then sleep).
    await waitFor('the job to start', () => jailProcessArgs(user).includes(args), 5_000);
    const relay = sh(`pgrep -f '^(docker-jail shell|/usr/lib/docker-jail/docker-jail-attach )' -P $(pgrep -d, -f 'sshd: ${user.name}') || true`).trim();
    assert.ok(relay !== '', "the session's docker-jail process was not found");
    sh(`kill -KILL ${relay}`);
    term.kill('SIGKILL');
    await waitFor('close_session to end the session', () => !jailProcessArgs(user).some((a) => a === args || a.includes('bash')), 5_000);
  }

  it("hangs up the session at close_session even when the shell's own process was killed", async () => {
    await orphanedSession('sleep 6161', 'sleep 6161');
  });

  it('with kill_on_logout, kills at close_session everything a session whose relay was killed left', async () => {
    await withConfig('[session]\nkill_on_logout = yes\n', () => orphanedSession('nohup sleep 6262 >/dev/null 2>&1', 'sleep 6262'));
  });

  it('with idle_stop = 0, stops the jail when its last session closes, and the next login starts it again', async () => {
    const user = users.make({});
    await withConfig('[session]\nidle_stop = 0\n', () => {
      const first = loginAs(user, 'echo one');
      assert.equal(first.stdout, 'one\n', first.stderr);
      assert.equal(sh(`docker inspect -f '{{.State.Running}}' ${jailOf(user)}`).trim(), 'false');
      const second = loginAs(user, 'echo two');
      assert.equal(second.stdout, 'two\n', second.stderr);
    });
  });

  it('lets root and an administrator log in while the engine is stopped; a jailed user gets one clean line', async () => {
    const admin = users.make({ groups: ['admins'], shell: '/bin/bash' });
    const jailed = users.make({});
    sh(`install -d -m 0755 ${ROOT_KEYS} && cp ${admin.key}.pub ${ROOT_KEYS}/root`);
    await stopEngine();
    try {
      const started = Date.now();
      assert.equal(ssh(sshd, admin, ['echo admin-in']).stdout, 'admin-in\n');
      const root = run('/usr/bin/ssh', [...sshOptions(sshd, admin), 'root@127.0.0.1', 'echo root-in']);
      assert.equal(root.stdout, 'root-in\n', root.stderr);
      assert.equal(loginAs(admin, 'echo su-in').stdout, 'su-in\n');
      assert.ok(Date.now() - started < 10_000, 'the logins were held up');
      const refused = ssh(sshd, jailed, ['echo inside']);
      assert.notEqual(refused.status, 0);
      assert.equal(refused.stdout, '');
      assert.match(refused.stderr, /^jailsh: the Docker engine at \/var\/run\/docker.sock is not reachable \((ENOENT|ECONNREFUSED)\)\n$/);
    } finally {
      rmSync(`${ROOT_KEYS}/root`, { force: true });
      await startEngine();
    }
    assert.ok(engineAnswers());
  });
});
