import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { SCRATCH_IMAGES, SCRATCH_MOUNTS } from '../src/host/paths';
import { withConfig } from './support/config';
import { jailedUsers, loginAs, spawnLogin } from './support/fixtures';
import { requireHost, run, sh, waitFor } from './support/host';
import { jailOf, type TestUser } from './support/users';

const CLI = '/usr/sbin/docker-jail';
const cli = (...args: string[]) => run(CLI, args);
const shellOf = (user: TestUser) => sh(`getent passwd ${user.name} | cut -d: -f7`).trim();
const groupsOf = (user: TestUser) => sh(`id -Gn ${user.name}`).trim().split(' ');

describe('the admin CLI: enable, disable, list, status, shell, config check', function () {
  this.timeout(120_000);
  const users = jailedUsers();

  before(() => requireHost('docker', 'su', 'gpasswd', 'usermod'));

  it('enables a user: jail group, jailsh as login shell, and with --now their home and jail at once', () => {
    const user = users.make({ groups: [], shell: '/bin/zsh-not-installed', home: false });
    const result = cli('enable', '--now', user.name);
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(
        `${user.name}: added to group jailed\\n${user.name}: login shell /usr/bin/jailsh\\n${user.name}: home ${user.home} created\\n${user.name}: jail jail-${user.name} running\\n${user.name}: enabled\\n`,
      ),
    );
    assert.ok(groupsOf(user).includes('jailed'));
    assert.equal(shellOf(user), '/usr/bin/jailsh');
    assert.equal(sh(`stat -c %U ${user.home}`).trim(), user.name);
    assert.equal(sh(`docker inspect -f '{{.State.Running}}' ${jailOf(user)}`).trim(), 'true');
    assert.equal(loginAs(user, 'hostname').stdout, `${user.name}-jail\n`);
  });

  it('disables a user: out of the group, the previous shell back, the jail stopped, the home kept', () => {
    const user = users.made[0];
    sh(`echo keep-me > ${user.home}/file`);
    const result = cli('disable', user.name);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!groupsOf(user).includes('jailed'));
    assert.equal(shellOf(user), '/bin/zsh-not-installed');
    assert.equal(sh(`docker inspect -f '{{.State.Running}}' ${jailOf(user)}`).trim(), 'false');
    assert.equal(readFileSync(`${user.home}/file`, 'utf8'), 'keep-me\n');
  });

  it('removes the jail only when asked, never the home; and enabling again works', () => {
    const user = users.made[0];
    assert.equal(cli('enable', user.name).status, 0);
    assert.equal(loginAs(user, 'true').status, 0);
    const result = cli('disable', '--remove-jail', user.name);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /removed with its \/tmp and \/var\/tmp \(the home is kept\)/);
    assert.equal(jailOf(user), '');
    assert.ok(!existsSync(`${SCRATCH_IMAGES}/${user.uid}.img`), "the jail's /tmp filesystem was kept");
    assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(`${SCRATCH_MOUNTS}/${user.uid} `));
    assert.equal(readFileSync(`${user.home}/file`, 'utf8'), 'keep-me\n');
    assert.equal(shellOf(user), '/bin/zsh-not-installed');
  });

  it('gives /bin/bash back when it never knew the previous shell', () => {
    const user = users.make({});
    const result = cli('disable', user.name);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(shellOf(user), '/bin/bash');
  });

  it('refuses root, administrators and unknown users with a clear error and changes nothing', () => {
    const admin = users.make({ groups: ['admins'], shell: '/bin/bash' });
    for (const [name, message] of [
      ['root', /^docker-jail: root is never jailed\n$/],
      [admin.name, /exempt group admins/],
      ['no-such-user-x', /^docker-jail: no such user: no-such-user-x\n$/],
    ] as const) {
      const result = cli('enable', name);
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, message);
    }
    assert.equal(shellOf(admin), '/bin/bash');
    assert.ok(!groupsOf(admin).includes('jailed'));
  });

  it('answers --help for each command and refuses bad usage', () => {
    for (const command of ['enable', 'disable', 'list', 'status', 'shell', 'config', 'doctor', 'image', 'gc', 'sshd-policy', 'user-manager']) {
      const help = cli(command, '--help');
      assert.equal(help.status, 0);
      assert.match(help.stdout, new RegExp(`^usage: docker-jail ${command}`));
    }
    assert.equal(cli('enable').status, 2);
    assert.match(cli('enable', '--bogus', 'x').stderr, /unknown option --bogus/);
    for (const bad of [
      ['gc', 'now'],
      ['image', 'update', '--rebuild'],
      ['image', 'pull'],
    ]) {
      const result = cli(...bad);
      assert.equal(result.status, 2, bad.join(' '));
      assert.match(result.stderr, new RegExp(`usage: docker-jail ${bad[0]}`));
    }
  });

  it('refuses anyone but root', () => {
    for (const command of [['enable', 'x'], ['gc'], ['image', 'update'], ['list'], ['doctor']]) {
      const result = run('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', CLI, ...command]);
      assert.notEqual(result.status, 0, command.join(' '));
      assert.match(result.stderr, /must be run as root/, command.join(' '));
    }
  });

  it('lists every jail with owner, state, image, uptime, sessions open now, CPU, memory and last login', async () => {
    const user = users.make({});
    assert.equal(loginAs(user, 'true').status, 0);
    const session = spawnLogin(user, 'sleep 4');
    await waitFor('the session to run', () => sh(`docker top ${jailOf(user)} -eo pid,args`).includes('sleep 4'));
    const jails = JSON.parse(cli('list', '--json').stdout) as {
      name: string;
      owner: string;
      uid: number;
      state: string;
      sessions: number;
      uptimeSeconds: number;
      memoryBytes: number;
      cpuPercent: number;
      lastLogin: string;
      outdated: boolean;
    }[];
    const mine = jails.find((j) => j.uid === user.uid);
    assert.ok(mine, 'the jail is not listed');
    assert.equal(mine.name, `jail-${user.name}`);
    assert.equal(mine.owner, user.name);
    assert.equal(mine.state, 'running');
    assert.equal(mine.sessions, 1);
    assert.equal(mine.outdated, false);
    assert.ok(mine.uptimeSeconds >= 0 && mine.memoryBytes > 0 && mine.cpuPercent >= 0);
    assert.ok(Math.abs(Date.parse(mine.lastLogin) - Date.now()) < 60_000);
    await new Promise((resolve) => session.on('close', resolve));
    const table = cli('list').stdout;
    assert.match(table, /^JAIL +OWNER +STATE +IMAGE +UPTIME +SESSIONS +VIA +CPU +CPU TIME +MEMORY +PIDS +\/TMP +OOM KILLS +LAST LOGIN$/m);
    assert.match(table, new RegExp(`^jail-${user.name} +${user.name} +running +docker-jail/base:bookworm +\\d+[dhms]( \\d+[dhms])? +0 +agent `, 'm'));
    const status = JSON.parse(cli('status', user.name, '--json').stdout) as { uid: number }[];
    assert.deepEqual(
      status.map((j) => j.uid),
      [user.uid],
    );
  });

  it('marks a jail whose image has been rebuilt as outdated', async () => {
    const user = users.make({});
    sh('docker tag docker-jail/base:bookworm djtest/outdated:1');
    try {
      await withConfig('[jail]\nimage = djtest/outdated:1\n', () => {
        assert.equal(loginAs(user, 'true').status, 0);
        sh(`docker commit --change 'LABEL djtest=rebuilt' ${jailOf(user)} djtest/outdated:1 >/dev/null`);
        const jails = JSON.parse(cli('status', user.name, '--json').stdout) as { outdated: boolean; outdatedReasons: string[] }[];
        assert.equal(jails[0].outdated, true);
        assert.deepEqual(jails[0].outdatedReasons, ['image']);
        assert.match(cli('status', user.name).stdout, /djtest\/outdated:1 \(outdated: image\)/);
      });
    } finally {
      sh(`docker rm -f ${jailOf(user)} >/dev/null; docker rmi -f djtest/outdated:1 >/dev/null 2>&1 || true`);
    }
  });

  it("opens an audited root shell without capabilities inside a user's running jail", () => {
    const user = users.make({});
    assert.equal(loginAs(user, 'echo mine > ~/f; chmod 600 ~/f').status, 0);
    const result = run(CLI, ['shell', user.name], {
      input: 'id -u; hostname; grep CapEff /proc/self/status; cat ~' + user.name + '/f 2>&1 >/dev/null | grep -c denied; exit 3\n',
    });
    assert.equal(result.status, 3, result.stderr);
    assert.equal(result.stdout, `0\n${user.name}-jail\nCapEff:\t0000000000000000\n1\n`);
    assert.ok(readFileSync('/var/log/auth.log', 'utf8').includes(`command="admin shell in the jail of ${user.name}"`));
    const none = cli('shell', 'no-such-user-x');
    assert.match(none.stderr, /^docker-jail: no such user: no-such-user-x\n$/);
  });

  it('checks the config: prints the effective values as ini, or the error with file and line', async () => {
    const ok = cli('config', 'check');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^\[access\]\njail_group = jailed\n/m);
    await withConfig('[jail]\npids_limit = 100\n', () => {
      const result = cli('config', 'check');
      assert.match(result.stdout, /^pids_limit = 100$/m);
      assert.match(result.stderr, /\/etc\/docker-jail.ini is valid/);
    });
    await withConfig('[jail]\n\npids_limit = lots\n', () => {
      const result = cli('config', 'check');
      assert.equal(result.status, 78);
      assert.match(result.stderr, /^docker-jail: \/etc\/docker-jail.ini:3: \[jail\] pids_limit: /);
    });
    assert.ok(existsSync('/etc/docker-jail.ini'));
  });
});
