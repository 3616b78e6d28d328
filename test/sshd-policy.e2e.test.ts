import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { requireHost, run, sh, sleep } from './support/host';
import { type Sshd, sshOptions, startSshd } from './support/sshd';
import { createUser, removeUser, type TestUser } from './support/users';

/** The first bytes a TCP server sends within a second, or '' when the connection gives nothing. */
function banner(port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const socket = connect(port, '127.0.0.1');
    const done = () => {
      socket.destroy();
      resolve(data);
    };
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('error', done);
    socket.on('close', done);
    setTimeout(done, 1500);
  });
}

/**
 * sshd runs some things on the host itself, beside the login shell: port and
 * socket forwarding, ~/.ssh/rc and xauth through the host's /bin/sh. The
 * policy docker-jail installs forbids them for the jailed group; an ordinary
 * user on the same sshd shows each probe really detects them.
 */
describe('sshd policy for the jailed group: nothing runs or connects on the host beside the jail @docker @sshd @root', function () {
  this.timeout(60_000);
  let sshd: Sshd;
  let jailed: TestUser;
  let ordinary: TestUser;

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'gcc');
    if (!existsSync('/etc/ssh/sshd_config.d/docker-jail.conf')) throw new Error('the sshd policy is not installed (./build.sh install installs it)');
    sshd = await startSshd();
    jailed = createUser();
    ordinary = createUser({ groups: [], shell: '/bin/bash', prefix: 'djo' });
  });
  after(async () => {
    removeUser(jailed);
    removeUser(ordinary);
    await sshd.stop();
  });

  const ssh = (user: TestUser, args: string[]) => run('/usr/bin/ssh', [...sshOptions(sshd, user), ...args], { timeout: 20_000 });

  for (const [who, allowed] of [['an ordinary user', true], ['a jailed user', false]] as const) {
    const user = () => (allowed ? ordinary : jailed);

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
      const client = spawn('/usr/bin/ssh', [...sshOptions(sshd, user()), '-N', '-L', `${port}:127.0.0.1:${sshd.port}`, `${user().name}@127.0.0.1`], { stdio: 'ignore' });
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
      writeFileSync(`${u.home}/x.c`, `#include <stdio.h>\n__attribute__((constructor)) static void f(void) { FILE *f = fopen("${witness}-preload", "w"); if (f) fclose(f); }\n`);
      sh(`gcc -shared -fPIC -o ${lib} ${u.home}/x.c`);
      writeFileSync(`${u.home}/.ssh/rc`, `touch ${witness}-rc\n`);
      writeFileSync(`${u.home}/.pam_environment`, `LD_PRELOAD DEFAULT=${lib}\n`);
      sh(`chown ${u.uid}:${u.gid} ${lib} ${u.home}/x.c ${u.home}/.ssh/rc ${u.home}/.pam_environment`);
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
