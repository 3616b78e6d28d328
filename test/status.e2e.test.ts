import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { JailStatus } from '../src/jail/status';
import { withConfig } from './support/config';
import { jailedUsers, loginAs } from './support/fixtures';
import { requireHost, run, sh, waitFor } from './support/host';
import { Terminal } from './support/pty';
import { type Sshd, sshOptions, startSshd } from './support/sshd';
import { jailOf, type TestUser } from './support/users';

const CLI = '/usr/sbin/docker-jail';
const cli = (...args: string[]) => run(CLI, args);
const statusOf = (user: TestUser): JailStatus => {
  const result = cli('status', user.name, '--json');
  assert.equal(result.status, 0, result.stderr);
  const jails = (JSON.parse(result.stdout) as JailStatus[]).filter((j) => j.uid === user.uid);
  assert.equal(jails.length, 1, result.stdout);
  return jails[0];
};
const rowOf = (user: TestUser, table: string): string => {
  const row = table.split('\n').find((line) => line.startsWith(`jail-${user.name} `));
  assert.ok(row, table);
  return row;
};

describe('list and status: sessions, use against limits, OOM kills, and why a jail is outdated', function () {
  this.timeout(180_000);
  const users = jailedUsers();
  let sshd: Sshd;

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'su');
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });

  it('shows one row per session (its agent, and docker exec): terminal, since, idle, command; with memory, pids and /tmp against their limits', async () => {
    const user = users.make();
    assert.equal(loginAs(user, 'true').status, 0);
    // Through sshd, on a terminal: the jail's agent serves it. Under root's terminal, su goes through docker exec.
    const viaSsh = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, user), '-tt', `${user.name}@127.0.0.1`]);
    const viaSu = new Terminal('/bin/su', ['-l', user.name]);
    try {
      await viaSsh.expect(/\$ $/m);
      await viaSu.expect(/\$ $/m);
      await viaSsh.command('echo typed');
      const jail = statusOf(user);
      assert.equal(jail.sessions, 2);
      assert.equal(jail.sessionList.length, 2);
      for (const session of jail.sessionList) {
        assert.match(session.tty ?? '', /^(\/dev\/)?pts\/\d+$|^ssh$/, JSON.stringify(session));
        assert.ok(Math.abs(Date.parse(session.since) - Date.now()) < 120_000, JSON.stringify(session));
        assert.equal(typeof session.idleSeconds, 'number', JSON.stringify(session));
        assert.match(session.command ?? '', /^-\w+$/, 'a login shell, as w shows one');
        assert.ok(session.rhost === null || session.rhost === '127.0.0.1', JSON.stringify(session));
      }
      // Where from: sshd told PAM the client's address; su names no remote host.
      assert.deepEqual(jail.sessionList.map((s) => s.rhost).sort(), ['127.0.0.1', null], JSON.stringify(jail.sessionList));
      const limits = sh(`docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}' ${jailOf(user)}`)
        .trim()
        .split(' ');
      assert.equal(jail.memoryLimitBytes, Number(limits[0]) || null);
      assert.equal(jail.pidsLimit, Number(limits[1]) > 0 ? Number(limits[1]) : null);
      assert.ok(jail.pids !== null && jail.pids >= 2, `pids ${jail.pids}`);
      assert.ok(jail.memoryBytes !== null && jail.memoryBytes > 0);
      assert.ok(jail.cpuSeconds !== null && jail.cpuSeconds >= 0);
      assert.equal(jail.oomKills, 0);
      // /tmp: what df says inside the jail, against its size.
      const before = jail.tmpUsedBytes ?? -1;
      assert.ok(jail.tmpLimitBytes !== null && jail.tmpLimitBytes > 0 && before >= 0, JSON.stringify(jail));
      await viaSsh.command('head -c 20000000 /dev/urandom > /tmp/fill; sync');
      const filled = statusOf(user).tmpUsedBytes ?? 0;
      assert.ok(filled - before >= 19_000_000, `/tmp use went from ${before} to ${filled} after writing 20 MB`);

      const table = cli('list').stdout;
      assert.match(table, /^JAIL +OWNER +STATE +IMAGE +UPTIME +SESSIONS +VIA +CPU +CPU TIME +MEMORY +PIDS +\/TMP +OOM KILLS +LAST LOGIN$/m);
      const row = rowOf(user, table);
      assert.match(row, / 2 +agent +\S+% +\S+( \S+)? +\S+\/\S+ +\d+\/\S+ +\S+\/\S+ +0 +\d{4}-\d\d-\d\d \d\d:\d\d$/, row);
      assert.doesNotMatch(row, /outdated/);
      assert.match(table, /^JAIL +FROM +TTY +SINCE +IDLE +COMMAND$/m);
      const sessionRows = table
        .split('\n')
        .filter((line) => line.startsWith(`jail-${user.name} `))
        .slice(1);
      assert.equal(sessionRows.length, 2, table);
      for (const line of sessionRows) assert.match(line, /\d{4}-\d\d-\d\d \d\d:\d\d +(\d+[dhms]( \d+[dhms])?|-) +-\w+$/, line);
      assert.equal(sessionRows.filter((line) => /^\S+ +127\.0\.0\.1 /.test(line)).length, 1, table);
    } finally {
      viaSsh.kill();
      viaSu.kill();
    }
  });

  it('says in one line why status has no jail to show, and exits non-zero: root, exempt, outside the jail group, no jail yet', () => {
    const admin = users.make({ groups: ['admins'], shell: '/bin/bash' });
    const outsider = users.make({ groups: [], shell: '/bin/bash' });
    const fresh = users.make();
    for (const [name, message] of [
      ['root', /^docker-jail: root is never jailed\n$/],
      [admin.name, /^docker-jail: \S+ is in the exempt group admins and is never jailed\n$/],
      [outsider.name, /^docker-jail: \S+ is not in the group jailed and is not jailed\n$/],
      [fresh.name, /^docker-jail: \S+ is jailed but has no jail now; their next login makes it\n$/],
    ] as const) {
      const result = cli('status', name);
      assert.equal(result.status, 1, `${name}: ${result.stdout}`);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
    }
  });

  it('counts OOM kills; a changed memory limit makes the jail outdated because of its limits; image update --config moves it, home kept', async () => {
    const user = users.make();
    await withConfig('[jail]\nmemory_limit = 64m\n', async () => {
      // A pipe that keeps one endless line in memory: the kernel's OOM killer ends it, not the jail.
      const oom = loginAs(user, 'echo kept > ~/file; head -c 400000000 /dev/zero | tail -n 1 > /dev/null; echo "status $?"');
      assert.equal(oom.stdout, 'status 137\n', oom.stderr);
      const before = statusOf(user);
      assert.ok(before.oomKills !== null && before.oomKills >= 1, `oomKills ${before.oomKills}`);
      assert.equal(before.memoryLimitBytes, 64 * 1048576);
      assert.deepEqual(before.outdatedReasons, []);
      const oldJail = jailOf(user);

      await withConfig('[jail]\nmemory_limit = 96m\n', async () => {
        const drifted = statusOf(user);
        assert.equal(drifted.outdated, true);
        assert.deepEqual(drifted.outdatedReasons, ['limits']);
        assert.match(rowOf(user, cli('status', user.name).stdout), / \(outdated: limits\) /);

        const update = cli('image', 'update', '--config');
        assert.equal(update.status, 0, update.stderr + update.stdout);
        assert.match(update.stdout, new RegExp(`^jail-${user.name}: recreated on `, 'm'));
        await waitFor('the new jail', () => jailOf(user) !== '' && jailOf(user) !== oldJail);
        assert.equal(sh(`docker inspect -f '{{.HostConfig.Memory}}' ${jailOf(user)}`).trim(), String(96 * 1048576));
        const after = statusOf(user);
        assert.deepEqual([after.outdated, after.memoryLimitBytes, after.oomKills], [false, 96 * 1048576, 0]);
        assert.equal(readFileSync(`${user.home}/file`, 'utf8'), 'kept\n');
        assert.equal(loginAs(user, 'cat ~/file').stdout, 'kept\n');
      });
    });
  });
});
