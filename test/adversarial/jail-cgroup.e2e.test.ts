/**
 * Which host processes are a jail's: exactly those in its init's cgroups. A
 * cgroup that merely ends in `/docker/<id>` (any local account with a
 * delegated systemd manager can make `…/app.slice/docker/<id>`) must neither
 * keep a jail busy nor be signalled by root; and under the engine's
 * cgroup-parent, where no path ends in `/docker/<id>`, a jail's nohup'd job
 * must still keep it busy.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SHARED_ROOT, SHARED_USERS_DIR } from '../../src/host/paths';
import { withConfig } from '../support/config';
import { requireHost, run, sh, sleep, waitFor } from '../support/host';
import { createUser, removeScratchOf, removeUser, type TestUser } from '../support/users';
import { SmallEngine } from './faults-small-engine';

const gc = () => run('/usr/sbin/docker-jail', ['gc']);
const su = (user: TestUser, command: string) => run('/bin/su', ['-l', user.name, '-c', command], { timeout: 60_000 });
const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host). */
function cgroup2Root(): string {
  const root = run('/usr/bin/findmnt', ['-n', '-t', 'cgroup2', '-o', 'TARGET']).stdout.trim().split('\n')[0];
  if (!root) throw new Error('no cgroup2 hierarchy is mounted: the test cannot make a look-alike cgroup');
  return root;
}

describe("a jail's processes are those in exactly its cgroups", function () {
  this.timeout(240_000);
  before(() => requireHost('docker', 'su', 'setpriv', 'findmnt'));

  describe("a look-alike cgroup named …/docker/<the shared jail's id>", function () {
    const SHARED = '[jail]\nmode = shared\nname_template = djt-cgroup-shared\nhostname_template = shared-jail\n';
    const tag = String(Math.floor(Math.random() * 1e6));
    let ann: TestUser;
    let spoofed: ChildProcess | null = null;
    let spoofDir = '';

    before(() => {
      sh('docker rm -f djt-cgroup-shared >/dev/null 2>&1 || true');
      ann = createUser();
    });
    after(async () => {
      spoofed?.kill('SIGKILL');
      if (spoofDir !== '') {
        await waitFor('the look-alike cgroup to empty', () => readFileSync(`${spoofDir}/cgroup.procs`, 'utf8').trim() === '', 10_000).catch(() => undefined);
        // Innermost first: cgroup directories go with rmdir only.
        sh(`rmdir ${spoofDir} ${dirname(spoofDir)} ${dirname(dirname(spoofDir))} 2>/dev/null || true`);
      }
      sh('docker rm -f djt-cgroup-shared >/dev/null 2>&1 || true');
      removeScratchOf('shared');
      if (ann) {
        removeUser(ann);
        sh(
          `umount -l ${SHARED_ROOT}/${ann.uid} 2>/dev/null || true; rmdir ${SHARED_ROOT}/${ann.uid} 2>/dev/null || true; rm -f ${SHARED_USERS_DIR}/${ann.uid}.json`,
        );
      }
    });

    it('neither keeps the jail busy (gc stops it once idle) nor is killed by a kill_on_logout logout', async () => {
      await withConfig(`${SHARED}[session]\nkill_on_logout = yes\n`, async () => {
        assert.equal(su(ann, 'true').status, 0);
        const id = sh('docker inspect -f {{.Id}} djt-cgroup-shared').trim();
        // What a user's own systemd manager could make: a cgroup whose path ends like the jail's.
        spoofDir = `${cgroup2Root()}/djt-spoof-${tag}.slice/docker/${id}`;
        sh(`mkdir -p ${spoofDir}`);
        spoofed = spawn('/usr/bin/setpriv', [`--reuid=${ann.uid}`, `--regid=${ann.gid}`, '--init-groups', '/bin/sleep', `907.${tag}`], { stdio: 'ignore' });
        const pid = spoofed.pid as number;
        await waitFor('the look-alike process', () => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/bin/sleep'), 10_000);
        writeFileSync(`${spoofDir}/cgroup.procs`, String(pid));
        assert.match(
          readFileSync(`/proc/${pid}/cgroup`, 'utf8'),
          new RegExp(`^0::/djt-spoof-${tag}\\.slice/docker/${id}$`, 'm'),
          'the look-alike is not set up',
        );

        // The user's last session ends with kill_on_logout: every process of theirs in the jail is killed, and only those.
        assert.equal(su(ann, 'true').status, 0);
        await sleep(1000);
        assert.ok(alive(spoofed), "root killed a host process that merely sits in a cgroup named like the jail's");

        await sleep(2200);
        await withConfig(`${SHARED}[session]\nidle_stop = 2\n`, () => {
          const result = gc();
          assert.equal(result.status, 0, result.stderr);
          assert.match(result.stdout, /djt-cgroup-shared: stopped \(idle for \d+ s\)/, 'the look-alike process kept the shared jail busy');
        });
        assert.equal(sh('docker inspect -f {{.State.Running}} djt-cgroup-shared').trim(), 'false');
        assert.ok(alive(spoofed), 'stopping the jail hit the look-alike process');
      });
    });
  });

  describe("under the engine's cgroup-parent (a second, test-owned engine; the shared one is never reconfigured)", function () {
    const parent = `djt-cgparent-${Math.random().toString(16).slice(2, 8)}`;
    let engine: SmallEngine;
    let config: string;
    let user: TestUser;

    before(async () => {
      engine = await SmallEngine.start(64, [`--cgroup-parent=${parent}`]);
      config = `[engine]\nsocket = ${engine.socket}\n[jail]\nimage = ${engine.image}\ntmp_size = 16m\n[session]\nshell = /bin/sh\n`;
      user = createUser();
    });
    after(async () => {
      if (user) engine?.docker(`ps -aq --filter label=io.docker-jail.uid=${user.uid} | xargs -r docker -H unix://${engine.socket} rm -f`);
      await engine?.stop();
      if (user) removeUser(user);
      // The engine leaves its parent cgroup in each hierarchy.
      sh(`for d in /sys/fs/cgroup/${parent} /sys/fs/cgroup/*/${parent}; do [ -d "$d" ] && rmdir "$d"; done 2>/dev/null || true`);
    });

    it("a nohup'd job keeps the jail busy, so gc leaves it running; once the job is gone gc stops it (control)", async () => {
      await withConfig(config, async () => {
        // nohup, as busybox (which has no nohup applet here) does it: the job ignores the hangup.
        assert.equal(su(user, `(trap '' HUP; exec sleep 301) </dev/null >/dev/null 2>&1 &`).status, 0);
        const job = () => run('/usr/bin/pgrep', ['-u', String(user.uid), '-x', '-f', 'sleep 301']).stdout.trim();
        await waitFor('the job in the jail', () => job() !== '', 20_000);
        const id = engine.docker(`ps -q --no-trunc --filter label=io.docker-jail.uid=${user.uid}`).stdout.trim();
        assert.match(readFileSync(`/proc/${job()}/cgroup`, 'utf8'), new RegExp(`/${parent}/${id}$`, 'm'), 'the jail is not under the cgroup-parent');
        const runningJail = () => engine.docker(`inspect -f {{.State.Running}} ${id}`).stdout.trim() === 'true';

        await sleep(2200);
        await withConfig(`${config}idle_stop = 2\n`, () => {
          const result = gc();
          assert.equal(result.status, 0, result.stderr);
          assert.doesNotMatch(result.stdout, /stopped/, 'gc took the jail of a running job for idle');
        });
        assert.ok(runningJail(), "the jail was stopped with its nohup'd job");
        assert.notEqual(job(), '', "the nohup'd job is gone");

        sh(`pkill -KILL -u ${user.uid} -x -f 'sleep 301' || true`);
        await waitFor('the job to end', () => job() === '', 10_000);
        await withConfig(`${config}idle_stop = 2\n`, () => {
          assert.match(gc().stdout, /: stopped \(idle for \d+ s\)/);
        });
        assert.ok(!runningJail(), 'control: gc did not stop the idle jail of this engine');
      });
    });
  });
});
