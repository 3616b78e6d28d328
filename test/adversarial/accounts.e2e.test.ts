// Recreated accounts (issue 13, item 7): an administrator removes and makes
// again an account, or restores its home, while its jail runs. The next login
// must land at once in a jail serving the home as it is now, never a stale
// one, and never a removed account's jail; no engine error reaches the user
// raw. Judged by what a login really sees and which container it runs in.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { requireHost, run, sh } from '../support/host';
import type { TestUser } from '../support/users';
import { CONTAINER_PROBE, createNamedUser, login, removeNamedUser } from './attacks-support';

/** The one jail labelled with this uid and name. */
function jailOf(uid: number, name: string): string {
  const ids = sh(`docker ps -aq --no-trunc --filter label=io.docker-jail.uid=${uid} --filter label=io.docker-jail.user=${name}`)
    .trim()
    .split('\n')
    .filter(Boolean);
  assert.equal(ids.length, 1, `uid ${uid} (${name}) should have exactly one jail, has: ${ids.join(' ') || 'none'}`);
  return ids[0];
}

function mark(user: TestUser, text: string): void {
  writeFileSync(`${user.home}/.which-home`, `${text}\n`);
  sh(`chown ${user.uid}:${user.gid} ${user.home}/.which-home`);
}

describe('recreated accounts and restored homes log in at once, to the home as it is now', function () {
  this.timeout(180_000);
  const tag = randomBytes(3).toString('hex');
  const made: TestUser[] = [];
  const extraJails: string[] = [];

  before(() => requireHost('docker', 'su', 'useradd', 'userdel'));
  after(() => {
    for (const jail of extraJails) run('/usr/bin/docker', ['rm', '-f', jail]);
    for (const user of made) removeNamedUser(user);
  });

  function named(name: string, options: Parameters<typeof createNamedUser>[1] = {}): TestUser {
    const user = createNamedUser(name, options);
    made.push(user);
    return user;
  }

  it('same name, same uid, home recreated while the jail runs (userdel -r; useradd): the next login is in the new home, in the restarted jail', () => {
    const first = named(`dja${tag}`);
    mark(first, 'old home');
    assert.equal(login(first, 'cat ~/.which-home').stdout, 'old home\n');
    const jail = jailOf(first.uid, first.name);
    assert.equal(run('/usr/sbin/userdel', ['--remove', first.name]).status, 0);
    const again = named(first.name, { uid: first.uid });
    mark(again, 'new home');
    const result = login(again, `cat ~/.which-home; pwd; ${CONTAINER_PROBE}`);
    assert.equal(result.stderr, '', 'the login said something');
    assert.equal(result.status, 0);
    assert.equal(result.stdout, `new home\n${again.home}\n${jail}\n`, 'not the new home, or not the same jail');
  });

  it('a home restored by moving the old one aside (mv; mkdir; restore): the same, for a command over su', () => {
    const user = named(`djm${tag}`);
    mark(user, 'before the restore');
    assert.equal(login(user, 'cat ~/.which-home').stdout, 'before the restore\n');
    renameSync(user.home, `${user.home}.aside`);
    sh(`install -d -o ${user.uid} -g ${user.gid} -m 0700 ${user.home}`);
    mark(user, 'restored');
    try {
      const result = login(user, 'cat ~/.which-home');
      assert.equal(result.stderr, '');
      assert.equal(result.stdout, 'restored\n');
    } finally {
      rmSync(`${user.home}.aside`, { recursive: true, force: true });
    }
  });

  it('a home replaced while a job of the user still runs in the jail: one line saying why, non-zero, audited; never the stale home; the next login after the job works', () => {
    const user = named(`djb${tag}`);
    mark(user, 'old');
    assert.equal(login(user, 'nohup sleep 600 >/dev/null 2>&1 & echo started').status, 0);
    rmSync(user.home, { recursive: true, force: true });
    sh(`install -d -o ${user.uid} -g ${user.gid} -m 0700 ${user.home}`);
    mark(user, 'new');
    const refused = login(user, 'cat ~/.which-home; echo ran');
    assert.notEqual(refused.status, 0);
    assert.equal(refused.stdout, '', 'the login ran');
    assert.match(refused.stderr, /^jailsh: your home directory was replaced since your jail started, and a session or job of yours still runs there/);
    assert.equal(refused.stderr.trim().split('\n').length, 1, `more than one line: ${refused.stderr}`);
    assert.match(
      sh('tail -n 200 /var/log/auth.log /var/log/syslog 2>/dev/null || true'),
      new RegExp(`session=refused .*uid=${user.uid} .*home directory was replaced`),
    );
    run('/usr/bin/pkill', ['-KILL', '-u', String(user.uid), '-x', 'sleep']);
    const after = login(user, 'cat ~/.which-home');
    assert.equal(after.stderr, '');
    assert.equal(after.stdout, 'new\n');
  });

  it('same name, new uid (userdel; useradd with another uid): a jail of its own at once, under a free name; the old jail untouched', () => {
    const first = named(`djn${tag}`);
    assert.equal(login(first, 'true').status, 0);
    const oldJail = jailOf(first.uid, first.name);
    extraJails.push(oldJail);
    assert.equal(run('/usr/sbin/userdel', [first.name]).status, 0); // the home stays, as after a directory change
    let uid = first.uid + 5000;
    while (run('/usr/bin/getent', ['passwd', String(uid)]).status === 0) uid++;
    const again = named(first.name, { home: false, uid });
    assert.notEqual(again.uid, first.uid);
    sh(`chown -R ${again.uid}:${again.gid} ${again.home}`);
    const result = login(again, `id -u; ${CONTAINER_PROBE}`);
    assert.equal(result.stderr, '');
    assert.equal(result.status, 0);
    const newJail = jailOf(again.uid, again.name);
    assert.equal(result.stdout, `${again.uid}\n${newJail}\n`);
    assert.notEqual(newJail, oldJail);
    assert.equal(sh(`docker inspect -f '{{.Name}}' ${newJail}`).trim(), `/jail-${again.name}-${again.uid}`);
    assert.equal(sh(`docker inspect -f '{{index .Config.Labels "io.docker-jail.uid"}}' ${oldJail}`).trim(), String(first.uid));
  });
});
