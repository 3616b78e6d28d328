import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { jailedUser } from './support/fixtures';
import { requireHost, run, sh, sleep } from './support/host';
import { buildPreloadWitness } from './support/preload';
import { banner, type Sshd, sshOptions, startSshd } from './support/sshd';
import type { TestUser } from './support/users';

/** The banner of a TCP service reached through a SOCKS5 proxy, or '' when the proxy refuses. */
function socksBanner(proxyPort: number, targetPort: number): Promise<string> {
  return new Promise((resolve) => {
    let stage = 0;
    let data = Buffer.alloc(0);
    const socket = connect(proxyPort, '127.0.0.1');
    const done = (banner: string) => {
      socket.destroy();
      resolve(banner);
    };
    socket.on('connect', () => socket.write(Buffer.from([5, 1, 0])));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (stage === 0 && data.length >= 2) {
        stage = 1;
        data = data.subarray(2);
        socket.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, targetPort >> 8, targetPort & 255]));
      }
      if (stage === 1 && data.length >= 10) {
        if (data[1] !== 0) return done('');
        stage = 2;
        data = data.subarray(10);
      }
      if (stage === 2 && data.length > 0) done(data.toString());
    });
    socket.on('error', () => done(''));
    socket.on('close', () => done(''));
    setTimeout(() => done(''), 3000);
  });
}

/**
 * sshd runs some things on the host itself, beside the login shell: port and
 * socket forwarding, ~/.ssh/rc and xauth through the host's /bin/sh. The
 * policy docker-jail installs forbids them for the jailed group; an administrator
 * on the same sshd shows each probe really detects them.
 */
describe('sshd policy for the jailed group: nothing runs or connects on the host beside the jail', function () {
  this.timeout(60_000);
  let sshd: Sshd;

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'gcc');
    if (!existsSync('/etc/ssh/sshd_config.d/docker-jail.conf')) throw new Error('the sshd policy is not installed (./build.sh install installs it)');
    sshd = await startSshd();
  });
  const jailed = jailedUser();
  const admin = jailedUser({ groups: ['admins'], shell: '/bin/bash', prefix: 'dja' });
  // Registered after the users' own: they go first, then sshd.
  after(() => sshd.stop());

  const ssh = (user: TestUser, args: string[]) => run('/usr/bin/ssh', [...sshOptions(sshd, user), ...args], { timeout: 20_000 });

  for (const [who, allowed] of [
    ['an administrator', true],
    ['a jailed user', false],
  ] as const) {
    const user = () => (allowed ? admin : jailed);

    it(`${allowed ? 'lets' : 'refuses'} ${who} stdio forwarding (-W) to a host service`, () => {
      const result = ssh(user(), ['-W', `127.0.0.1:${sshd.port}`, `${user().name}@127.0.0.1`]);
      if (allowed) assert.match(result.stdout, /^SSH-2.0-/);
      else {
        assert.equal(result.stdout, '');
        assert.match(result.stderr, /administratively prohibited|stdio forwarding failed/);
      }
    });

    it(`${allowed ? 'lets' : 'refuses'} ${who} local port forwarding (-L) to a host service`, async () => {
      const port = 40000 + Math.floor(Math.random() * 20000);
      const client = spawn('/usr/bin/ssh', [...sshOptions(sshd, user()), '-N', '-L', `${port}:127.0.0.1:${sshd.port}`, `${user().name}@127.0.0.1`], {
        stdio: 'ignore',
      });
      try {
        let seen = '';
        for (let i = 0; i < 30 && seen === ''; i++) {
          await sleep(200);
          seen = await banner(port);
        }
        if (allowed) assert.match(seen, /^SSH-2.0-/);
        else assert.equal(seen, '');
      } finally {
        client.kill();
      }
    });

    it(`${allowed ? 'lets' : 'refuses'} ${who} dynamic forwarding (-D, SOCKS) to a host service`, async () => {
      const port = 40000 + Math.floor(Math.random() * 20000);
      const client = spawn('/usr/bin/ssh', [...sshOptions(sshd, user()), '-N', '-D', `127.0.0.1:${port}`, `${user().name}@127.0.0.1`], { stdio: 'ignore' });
      try {
        let listening = false;
        for (let i = 0; i < 30 && !listening; i++) {
          await sleep(200);
          listening = run('/bin/sh', ['-c', `ss -ltn | grep -q '127.0.0.1:${port} '`]).status === 0;
        }
        assert.ok(listening, 'ssh -D never listened');
        const seen = await socksBanner(port, sshd.port);
        if (allowed) assert.match(seen, /^SSH-2.0-/);
        else assert.equal(seen, '');
      } finally {
        client.kill();
      }
    });

    it(`${allowed ? 'lets' : 'refuses'} ${who} agent forwarding (-A): ${allowed ? 'an' : 'no'} agent socket on the host`, async () => {
      const agentDir = sh('mktemp -d /tmp/djt-agent-XXXXXX').trim();
      const agent = spawn('/usr/bin/ssh-agent', ['-D', '-a', `${agentDir}/sock`], { stdio: 'ignore' });
      try {
        await sleep(300);
        const client = spawn('/usr/bin/ssh', [...sshOptions(sshd, user()).filter((o) => o !== '-a'), '-A', `${user().name}@127.0.0.1`, 'sleep 3'], {
          stdio: 'ignore',
          env: { ...process.env, SSH_AUTH_SOCK: `${agentDir}/sock` },
        });
        await sleep(1500);
        const sockets = sh(`find /tmp -maxdepth 2 -type s -name 'agent.*' -user ${user().uid}`).trim();
        client.kill();
        if (allowed) assert.notEqual(sockets, '', 'no forwarded agent socket appeared for the administrator');
        else assert.equal(sockets, '');
      } finally {
        agent.kill();
        rmSync(agentDir, { recursive: true, force: true });
      }
    });

    it(`${allowed ? 'lets' : 'refuses'} ${who} remote port forwarding (-R)`, () => {
      const port = 40000 + Math.floor(Math.random() * 20000);
      const result = ssh(user(), ['-o', 'ExitOnForwardFailure=yes', '-R', `${port}:127.0.0.1:${sshd.port}`, `${user().name}@127.0.0.1`, 'echo connected']);
      if (allowed) assert.equal(result.status, 0, result.stderr);
      else {
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /remote port forwarding failed/);
      }
    });

    it(`${allowed ? 'runs' : 'never runs'} ~/.ssh/rc of ${who} on the host, even with LD_PRELOAD from ~/.pam_environment`, () => {
      const u = user();
      const witness = `/tmp/djt-rc-${u.name}`;
      const lib = `${u.home}/x.so`;
      rmSync(`${witness}-rc`, { force: true });
      rmSync(`${witness}-preload`, { force: true });
      buildPreloadWitness(`${witness}-preload`, lib);
      writeFileSync(`${u.home}/.ssh/rc`, `touch ${witness}-rc\n`);
      writeFileSync(`${u.home}/.pam_environment`, `LD_PRELOAD DEFAULT=${lib}\n`);
      sh(`chown ${u.uid}:${u.gid} ${lib} ${u.home}/.ssh/rc ${u.home}/.pam_environment`);
      const result = ssh(u, [`${u.name}@127.0.0.1`, 'echo logged-in']);
      assert.equal(result.stdout, 'logged-in\n', result.stderr);
      assert.equal(existsSync(`${witness}-rc`), allowed, '~/.ssh/rc');
      assert.equal(existsSync(`${witness}-preload`), allowed, 'the LD_PRELOAD library');
      rmSync(`${witness}-rc`, { force: true });
      rmSync(`${witness}-preload`, { force: true });
      rmSync(`${u.home}/.pam_environment`, { force: true });
      rmSync(`${u.home}/.ssh/rc`, { force: true });
    });
  }
});
