import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { type Ran, run, sh, sleep } from './host';
import type { TestUser } from './users';

/** Where root keeps the public keys of test users who have no home yet. */
export const ROOT_KEYS = '/etc/ssh/docker-jail-test-keys';

export interface Sshd {
  port: number;
  /** The listener's pid (it stays across a SIGHUP, which re-execs sshd). */
  pid: number;
  stop(): Promise<void>;
}

/**
 * A real sshd on a loopback port with UsePAM=yes and the host's PAM stack, and
 * the sshd policy docker-jail installs. It accepts every environment variable
 * a client sends, the worst case for jailsh.
 */
export async function startSshd(extraConfig = ''): Promise<Sshd> {
  const dir = mkdtempSync('/run/docker-jail-test-sshd-');
  const port = 20000 + Math.floor(Math.random() * 20000);
  sh(`ssh-keygen -q -t ed25519 -N '' -f ${dir}/host_key && mkdir -p /run/sshd && chmod 0755 /run/sshd`);
  writeFileSync(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host_key`,
      `PidFile ${dir}/sshd.pid`,
      'UsePAM yes',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // Users without a home yet (first login) authenticate with a key root keeps for them.
      `AuthorizedKeysFile ${ROOT_KEYS}/%u .ssh/authorized_keys`,
      'AcceptEnv *',
      // sshd keeps the first value it reads: a test may want another.
      ...(/PermitUserEnvironment/i.test(extraConfig) ? [] : ['PermitUserEnvironment no']),
      'Subsystem sftp /usr/lib/openssh/sftp-server',
      'LogLevel ERROR',
      extraConfig,
      // The policy docker-jail installs for the jailed group (a Match block: it must come last).
      'Include /etc/ssh/sshd_config.d/docker-jail.conf',
    ].join('\n') + '\n',
  );
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', `${dir}/sshd_config`], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    if (await canConnect(port)) break;
    if (i > 100 || child.exitCode !== null) throw new Error(`sshd did not start on port ${port}`);
    await sleep(100);
  }
  return {
    port,
    pid: child.pid ?? 0,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The first bytes a TCP server on loopback sends within a second and a half, or '' when the connection gives nothing. */
export function banner(port: number): Promise<string> {
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

/** The options every ssh client here uses: the user's key, no host key prompts, no agent. */
export function sshOptions(sshd: Sshd, user: TestUser): string[] {
  return [
    '-p',
    String(sshd.port),
    '-i',
    user.key,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'IdentitiesOnly=yes',
    '-a',
  ];
}

/** `ssh user@127.0.0.1 ...args` with the given stdin; waits for it to end. */
export function ssh(sshd: Sshd, user: TestUser, args: string[], input?: string | Buffer, extra: string[] = []): Ran {
  return run('/usr/bin/ssh', [...sshOptions(sshd, user), ...extra, `${user.name}@127.0.0.1`, ...args], {
    input,
    maxBuffer: 64 * 1024 * 1024,
  });
}
