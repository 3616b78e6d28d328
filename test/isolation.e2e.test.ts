import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { AGENT_DIR_IN_JAIL, AGENT_PROGRAM, SCRATCH_IMAGES, SCRATCH_MOUNTS, STAGING_ROOT } from '../src/host/paths';
import { withConfig } from './support/config';
import { jailedUsers, loginAs } from './support/fixtures';
import { type Ran, requireHost, run, sh, sleep, waitFor } from './support/host';
import { type Sshd, startSshd } from './support/sshd';
import { jailOf, type TestUser } from './support/users';

const IMAGE = 'docker-jail/base:bookworm';

let sshd: Sshd;

/** `ssh user@host COMMAND`: a real login through sshd, PAM and jailsh. */
function inJail(user: TestUser, command: string): Ran {
  return loginAs(user, command, { via: 'ssh', sshd });
}

/** Like inJail, for a command that must succeed; returns its stdout. */
function jailOutput(user: TestUser, command: string): string {
  const result = inJail(user, command);
  assert.equal(result.status, 0, `\`${command}\` failed in the jail of ${user.name} (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Runs each command in one login, output discarded, and returns the exit status of each by name. */
function exitStatuses(user: TestUser, commands: Record<string, string>): Record<string, number> {
  const script = Object.entries(commands)
    .map(([name, command]) => `(${command}) </dev/null >/dev/null 2>&1; echo "${name}=$?"`)
    .join('\n');
  const statuses: Record<string, number> = {};
  for (const line of jailOutput(user, script).trim().split('\n')) {
    const [name, status] = line.split('=');
    statuses[name] = Number(status);
  }
  assert.deepEqual(Object.keys(statuses), Object.keys(commands));
  return statuses;
}

/** Fails naming every command that succeeded. */
function assertAllFailed(statuses: Record<string, number>): void {
  assert.deepEqual(
    Object.keys(statuses).filter((name) => statuses[name] === 0),
    [],
    'these succeeded in the jail',
  );
}

/** The full id of the container the login's shell runs in, as the jail's own cgroup names it. */
function containerSeenBy(user: TestUser): string {
  const cgroup = jailOutput(user, 'cat /proc/self/cgroup');
  const ids = new Set(cgroup.match(/[0-9a-f]{64}/g) ?? []);
  assert.equal(ids.size, 1, `no single container id in the jail's cgroup:\n${cgroup}`);
  return [...ids][0];
}

/** The full id of the user's one jail, found by its labels on the host. */
function labelledJail(user: TestUser): string {
  const ids = jailOf(user).split('\n').filter(Boolean);
  assert.equal(ids.length, 1, `uid ${user.uid} should have exactly one labelled jail, has: ${ids.join(' ')}`);
  return sh(`docker inspect -f '{{.Id}}' ${ids[0]}`).trim();
}

/** The home as the jail mounts it carries nosuid and nodev. */
function assertHomeNosuidNodev(user: TestUser): void {
  const mount = jailOutput(user, 'grep " $HOME " /proc/self/mounts').trim();
  const options = mount.split(' ')[3]?.split(',') ?? [];
  for (const option of ['nosuid', 'nodev']) assert.ok(options.includes(option), `the home is mounted without ${option}: ${mount}`);
}

function containerState(container: string): string {
  return sh(`docker inspect -f '{{.State.Status}}' ${container}`).trim();
}

function hostAddresses(): string[] {
  const addresses = sh(`ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1`).trim().split('\n').filter(Boolean);
  if (addresses.length === 0) throw new Error('prerequisite missing: the host has no non-loopback IPv4 address');
  return addresses;
}

function unique(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

describe('isolation of jailed users from each other and from the host', function () {
  this.timeout(120_000);
  // First: its after hook removes the users before sshd stops, as before.
  const users = jailedUsers();
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'ip', 'setpriv', 'pgrep', 'pkill', 'mknod');
    sshd = await startSshd();
    alice = users.make();
    bob = users.make();
    // The jails are made under the built-in defaults (an empty config file), whatever this host's file says.
    await withConfig('', () => {
      for (const user of [alice, bob]) jailOutput(user, 'true');
    });
  });
  after(async () => {
    await sshd?.stop();
  });

  describe('between two users', function () {
    this.timeout(120_000);

    it('puts each user in their own container, the one labelled with their uid', () => {
      const aliceJail = labelledJail(alice);
      const bobJail = labelledJail(bob);
      assert.notEqual(aliceJail, bobJail);
      assert.equal(containerSeenBy(alice), aliceJail);
      assert.equal(containerSeenBy(bob), bobJail);
      assert.equal(jailOutput(alice, 'hostname'), `${alice.name}-jail\n`);
      assert.equal(jailOutput(bob, 'hostname'), `${bob.name}-jail\n`);
    });

    it("never shows one user the other's home or files", () => {
      const secret = unique('secret');
      jailOutput(bob, `umask 022; echo ${secret} > ~/secret`);
      assert.equal(sh(`cat ${bob.home}/secret`), `${secret}\n`, "bob's file is in his home on the host");
      assertAllFailed(
        exitStatuses(alice, {
          'ls-home': `ls ${bob.home}`,
          'cat-secret': `cat ${bob.home}/secret`,
          'stat-home': `stat ${bob.home}`,
        }),
      );
      assert.equal(jailOutput(alice, 'ls /home'), `${alice.name}\n`);
      assert.doesNotMatch(jailOutput(alice, `grep -rs ${secret} / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev; true`), new RegExp(secret));
    });

    it('keeps /tmp, /dev/shm and processes of one jail out of the other', () => {
      const marker = unique('tmp');
      for (const dir of ['/tmp', '/dev/shm']) {
        jailOutput(alice, `echo ${marker} > ${dir}/${marker}; chmod 644 ${dir}/${marker}`);
        assert.equal(jailOutput(alice, `cat ${dir}/${marker}`), `${marker}\n`);
        assert.equal(inJail(bob, `ls ${dir}/${marker}`).status, 2);
        assert.doesNotMatch(jailOutput(bob, `ls -A ${dir}`), new RegExp(marker));
      }

      const arg = `4242.${Date.now() % 100000}`;
      jailOutput(bob, `setsid nohup sleep ${arg} </dev/null >/dev/null 2>&1 &`);
      try {
        assert.match(sh('ps -eo args'), new RegExp(`^sleep ${arg}$`, 'm'), "bob's background job runs (seen from the host)");
        assert.doesNotMatch(jailOutput(alice, 'ps -eo args'), new RegExp(`sleep ${arg}`));
      } finally {
        sh(`pkill -u ${bob.uid} -x sleep || true`);
      }
    });
  });

  describe('from the host', function () {
    this.timeout(120_000);

    it('gives no way to the Docker socket', () => {
      assertAllFailed(
        exitStatuses(alice, {
          'var-run': 'ls -l /var/run/docker.sock',
          run: 'ls -l /run/docker.sock',
        }),
      );
      // Every socket anywhere the user can look, mounts included; none is Docker's or containerd's.
      const sockets = jailOutput(alice, 'find / \\( -path /proc -o -path /sys \\) -prune -o -type s -print 2>/dev/null; true');
      // The jail's own agent listens in the jail: the only socket named after us, and no way out.
      assert.doesNotMatch(
        sockets
          .split('\n')
          .filter((path) => path !== `${AGENT_DIR_IN_JAIL}/socket`)
          .join('\n'),
        /docker|containerd/,
      );
      assert.equal(jailOutput(alice, 'find / -xdev -name "docker*.sock" 2>/dev/null; true'), '');
    });

    it("mounts no host directory but the user's home, and its own /tmp and /var/tmp filesystem", () => {
      // Host file systems show up with a /dev source; Docker adds only its init and per-container files.
      // /tmp and /var/tmp are the jail's own ext4 (a loop device), made for it alone (test/scratch.e2e.test.ts).
      // The jail's init is our agent, read-only; its socket's directory is in the jail's own /tmp filesystem.
      const dockerOwn = new Set(['/usr/sbin/docker-init', '/sbin/docker-init', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf', AGENT_PROGRAM]);
      const mounts = jailOutput(alice, 'cat /proc/self/mounts')
        .split('\n')
        .map((line) => line.split(' '));
      const hostMounts = mounts.filter(([source, target]) => source?.startsWith('/dev/') && !dockerOwn.has(target)).map(([, target]) => target);
      assert.deepEqual(
        hostMounts.filter((target) => target !== '/tmp' && target !== '/var/tmp' && target !== AGENT_DIR_IN_JAIL),
        [alice.home],
      );
      const agent = mounts.find(([, target]) => target === AGENT_PROGRAM);
      assert.ok(agent?.[3].split(',').includes('ro'), 'the agent is not mounted read-only');
      const tmpSource = mounts.find(([, target]) => target === '/tmp')?.[0];
      assert.equal(mounts.find(([, target]) => target === AGENT_DIR_IN_JAIL)?.[0], tmpSource, "the agent's directory is not in the jail's /tmp filesystem");
      const scratch = jailOutput(alice, 'grep -E " /(var/)?tmp " /proc/self/mounts')
        .trim()
        .split('\n')
        .map((line) => line.split(' '))
        .sort((a, b) => a[1].localeCompare(b[1]));
      assert.deepEqual(
        scratch.map(([source, target, type]) => [/^\/dev\/loop\d+$/.test(source), target, type]),
        [
          [true, '/tmp', 'ext4'],
          [true, '/var/tmp', 'ext4'],
        ],
      );
      const image = sh(`losetup --list --noheadings --output BACK-FILE ${scratch[0][0]}`).trim();
      assert.equal(image, `${SCRATCH_IMAGES}/${alice.uid}.img`);
      assertAllFailed(
        exitStatuses(alice, {
          hostname: 'echo x >> /etc/hostname',
          agent: `echo x >> ${AGENT_PROGRAM}`,
        }),
      );
    });

    it("keeps the host's /etc/shadow and other accounts out of the jail", () => {
      const carol = users.make({ groups: [], shell: '/bin/bash' }); // a host account that is not jailed
      assert.match(sh('cat /etc/shadow'), new RegExp(`^${alice.name}:`, 'm'), "useradd put alice in the host's shadow");
      assert.match(sh('cat /etc/passwd'), new RegExp(`^${carol.name}:`, 'm'));

      assert.match(jailOutput(alice, `grep -c ${alice.name} /etc/shadow; echo "status=$?"`), /^(0\n)?status=[12]\n$/);
      const shadowSeen = jailOutput(alice, 'cat /etc/shadow 2>/dev/null; true');
      for (const name of [alice.name, carol.name]) assert.doesNotMatch(shadowSeen, new RegExp(name));

      assert.deepEqual(jailOutput(alice, 'cut -d: -f1 /etc/passwd').trim().split('\n').sort(), ['nobody', 'root', alice.name].sort());
      assertAllFailed(
        exitStatuses(alice, {
          'passwd-entry': `getent passwd ${carol.name}`,
          'group-entry': `getent group ${carol.name}`,
          'bob-entry': `getent passwd ${bob.name}`,
        }),
      );
    });

    it("hides the host's processes; the jail's pid 1 is its agent", async () => {
      const arg = `31337.${Date.now() % 100000}`;
      const hostSleep: ChildProcess = spawn('sleep', [arg], { stdio: 'ignore' });
      try {
        await waitFor("the host's sleep", () => sh('ps -eo args').includes(`sleep ${arg}`));
        assert.doesNotMatch(jailOutput(alice, 'ps -eo args'), new RegExp(`sleep ${arg}`));
        assert.doesNotMatch(jailOutput(alice, 'ps -eo comm'), /\b(dockerd|containerd|sshd|mocha|node)\b/);
        assert.equal(jailOutput(alice, 'ps -o comm= -p 1'), 'docker-jail-age\n'); // comm keeps 15 characters
      } finally {
        hostSleep.kill('SIGKILL');
      }
    });
  });

  describe('hardening, by its effects', function () {
    this.timeout(120_000);

    it('runs the jail with no capabilities and no-new-privileges', () => {
      const status = jailOutput(alice, 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status');
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.match(status, new RegExp(`^${set}:\\s+0{16}$`, 'm'));
      assert.match(status, /^NoNewPrivs:\s+1$/m);
    });

    it('runs nothing in the jail as root', () => {
      const uids = new Set(jailOutput(alice, 'ps -eo uid=').trim().split('\n').map(Number));
      assert.deepEqual(
        [...uids].filter((uid) => uid !== 65534 && uid !== alice.uid),
        [],
      );
    });

    it('has no setuid or setgid file in the image', () => {
      assert.equal(jailOutput(alice, 'find / -xdev -perm /6000 -type f 2>/dev/null; true'), '');
    });

    it('mounts the home nosuid,nodev: a setuid-root binary root put there runs as the user', () => {
      assertHomeNosuidNodev(alice);

      sh(`docker cp ${labelledJail(alice)}:/usr/bin/id ${alice.home}/id && chown root:root ${alice.home}/id && chmod 4755 ${alice.home}/id`);
      // On the host the same file does make alice root: it is a working setuid-root binary.
      assert.equal(sh(`setpriv --reuid=${alice.uid} --regid=${alice.gid} --clear-groups ${alice.home}/id -u`), '0\n');
      assert.equal(jailOutput(alice, '~/id -u'), `${alice.uid}\n`);
    });

    it('mounts the home nodev: a device node root put there cannot be opened', () => {
      sh(`mknod -m 666 ${alice.home}/null c 1 3 && echo x > ${alice.home}/null`);
      const result = inJail(alice, 'echo x > ~/null');
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /Permission denied/);
    });

    it('lets the user make no device, mount, chroot, new namespace, or root', () => {
      assertAllFailed(
        exitStatuses(alice, {
          passwd: 'echo "x::0:0::/:/bin/bash" >> /etc/passwd',
          group: `echo "root2:x:0:${alice.name}" >> /etc/group`,
          mknod: 'mknod ~/x c 1 3',
          mount: 'mkdir -p ~/mnt && mount -t tmpfs none ~/mnt',
          chroot: '/usr/sbin/chroot / /bin/true',
          unshare: 'unshare -r true',
          su: 'su -c true root',
          sudo: 'sudo true',
        }),
      );
      assert.equal(inJail(alice, 'test -e ~/x').status, 1, 'mknod left nothing behind');
    });
  });

  describe('limits, by their effects', function () {
    this.timeout(180_000);

    it('stops a fork bomb at the pids limit (512) inside the jail, and the host and other jails go on', async () => {
      try {
        // The jobs' output goes nowhere: as on any host, a job holding the session's stdout keeps ssh waiting.
        const result = inJail(alice, 'for i in $(seq 600); do sleep 300 >/dev/null 2>&1 & done; echo all-started');
        assert.notEqual(result.status, 0);
        assert.doesNotMatch(result.stdout, /all-started/);
        assert.match(result.stderr, /fork: .*Resource temporarily unavailable/);
        const running = Number(sh(`pgrep -c -u ${alice.uid} -x sleep || true`));
        assert.ok(running >= 400 && running <= 512, `${running} of alice's sleeps run`);
        assert.equal(sh('echo host-forks'), 'host-forks\n');
        assert.equal(jailOutput(bob, 'echo bob-forks'), 'bob-forks\n');
      } finally {
        sh(`pkill -KILL -u ${alice.uid} -x sleep || true`);
        await waitFor("alice's sleeps to end", () => run('pgrep', ['-u', String(alice.uid), '-x', 'sleep']).status === 1);
      }
      assert.equal(jailOutput(alice, 'echo alice-forks-again'), 'alice-forks-again\n');
    });

    it('kills a process that goes over the configured memory limit, and leaves a small one alone', async () => {
      const carl = users.make();
      // memory_limit shapes the container, so it must be in force at carl's first login; and at each logout, since a
      // jail whose limits are no longer the config's is made anew when its last session ends.
      await withConfig('[jail]\nmemory_limit = 64m\n', () => {
        assert.equal(jailOutput(carl, 'head -c 16m /dev/zero | tail -c 8m | wc -c'), `${8 * 1024 * 1024}\n`);
        // tail -c N on a pipe holds the last N bytes in memory.
        const big = inJail(carl, 'head -c 256m /dev/zero | tail -c 200m | wc -c; echo "tail=${PIPESTATUS[1]}"');
        assert.match(big.stdout, /^tail=137$/m, `tail was not killed: ${big.stdout}${big.stderr}`);
      });
      // The same command runs to its end in bob's jail (default limit, 1g): the 64m limit is what killed it.
      assert.match(jailOutput(bob, 'head -c 256m /dev/zero | tail -c 200m | wc -c; echo "tail=${PIPESTATUS[1]}"'), /^209715200\ntail=0$/m);
    });
  });

  describe('network (network = none)', function () {
    this.timeout(120_000);
    let server: Server;
    let connections = 0;

    before(async () => {
      server = createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    });
    after(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('gives the jail only a loopback interface', () => {
      const interfaces = jailOutput(alice, 'cat /proc/net/dev')
        .split('\n')
        .slice(2)
        .filter(Boolean)
        .map((line) => line.split(':')[0].trim());
      assert.deepEqual(interfaces, ['lo']);
    });

    it("cannot reach a TCP server on the host, on loopback or on the host's own addresses", async () => {
      const port = (server.address() as { port: number }).port;
      const targets = ['127.0.0.1', ...hostAddresses()];
      const attempts = targets.map((ip) => `timeout 3 bash -c 'echo > /dev/tcp/${ip}/${port}' 2>/dev/null && echo "reached ${ip}"`).join('; ');
      assert.equal(jailOutput(alice, `${attempts}; true`), '');
      await sleep(500); // spawnSync held the event loop: let the server take any connection that came in
      assert.equal(connections, 0, 'the server saw a connection from the jail');

      // The server does count connections: one from the host gets through.
      run('/bin/bash', ['-c', `echo > /dev/tcp/${targets[1]}/${port}`]);
      await waitFor("the host's connection", () => connections === 1);
    });
  });

  describe('a container that merely looks like the jail', function () {
    this.timeout(120_000);
    const planted: string[] = [];
    after(() => {
      for (const name of planted) run('docker', ['rm', '-f', name]);
    });

    const variants: { what: string; labels: (user: TestUser) => string; run: boolean }[] = [
      { what: "has the jail's name but no labels (running)", labels: () => '', run: true },
      {
        what: "has the managed label but another uid's (created, not started)",
        labels: (u) => `--label io.docker-jail.managed=true --label io.docker-jail.uid=${u.uid + 100000}`,
        run: false,
      },
    ];
    for (const variant of variants) {
      it(`is never used nor touched when it ${variant.what}: the user gets a jail of their own, under a free name`, () => {
        const user = users.make();
        const name = `jail-${user.name}`;
        planted.push(name);
        const id = sh(`docker ${variant.run ? 'run -d' : 'create'} --name ${name} ${variant.labels(user)} ${IMAGE} sleep infinity`).trim();
        const stateBefore = containerState(name);

        const result = inJail(user, 'echo hi');
        assert.equal(result.stderr, '');
        assert.equal(result.stdout, 'hi\n');
        assert.equal(containerSeenBy(user), labelledJail(user));
        assert.notEqual(labelledJail(user), id, 'the look-alike was used');
        assert.equal(sh(`docker inspect -f '{{.Name}}' ${labelledJail(user)}`).trim(), `/${name}-${user.uid}`);

        assert.match(sh(`docker inspect -f '{{.Id}} {{json .ExecIDs}}' ${name}`).trim(), new RegExp(`^${id} (null|\\[\\])$`), 'an exec ran in the look-alike');
        assert.equal(containerState(name), stateBefore);
        assert.doesNotMatch(sh(`docker cp ${name}:/etc/passwd - | tar -xO`), new RegExp(user.name), 'its /etc/passwd was rewritten');
      });
    }
  });

  describe('one long-lived jail per user', function () {
    this.timeout(120_000);

    it('uses the same container for consecutive logins', () => {
      const first = containerSeenBy(alice);
      const startedAt = sh(`docker inspect -f '{{.State.StartedAt}}' ${first}`);
      assert.equal(containerSeenBy(alice), first);
      assert.equal(sh(`docker inspect -f '{{.State.StartedAt}}' ${first}`), startedAt, 'the jail was not restarted');
      assert.equal(labelledJail(alice), first);
    });

    const stops: { how: string; also: (user: TestUser) => void }[] = [
      { how: 'a stopped jail', also: () => undefined },
      // /run is a tmpfs: after a reboot the jail is stopped, and the home's staging mount and its /tmp's mount are gone.
      {
        how: 'a stopped jail whose home staging mount and /tmp filesystem mount are gone (as after a reboot)',
        also: (user) =>
          sh(
            `umount -l ${STAGING_ROOT}/${user.uid} && rmdir ${STAGING_ROOT}/${user.uid} && umount ${SCRATCH_MOUNTS}/${user.uid} && rmdir ${SCRATCH_MOUNTS}/${user.uid}`,
          ),
      },
    ];
    for (const stop of stops) {
      it(`starts ${stop.how} again at the next login, with the user's files still there`, () => {
        const jail = labelledJail(alice);
        const marker = unique('persist');
        jailOutput(alice, `echo ${marker} > ~/persist; echo ${marker} > /tmp/persist; echo ${marker} > /var/tmp/persist`);
        sh(`docker stop -t 2 ${jail}`);
        assert.equal(containerState(jail), 'exited');
        stop.also(alice);

        assert.equal(jailOutput(alice, 'cat ~/persist /tmp/persist /var/tmp/persist'), `${marker}\n${marker}\n${marker}\n`);
        assert.equal(containerSeenBy(alice), jail);
        assert.equal(containerState(jail), 'running');
        assertHomeNosuidNodev(alice);
      });
    }
  });
});
