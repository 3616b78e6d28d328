import { loadConfig } from '../config/load';
import { connectEngine } from '../engine/client';
import { buildImage } from '../engine/image';
import { ExitCode, JailError } from '../errors';
import { runPamHook } from './pamHook';
import { runShell } from './shell';
import { renderSshdPolicy } from './sshdPolicy';

const USAGE = `usage: docker-jail COMMAND
  shell --login|--no-login -- [-c CMD]   (started by /usr/bin/jailsh only)
  pam-hook                               (started by pam_exec through the launcher only)
  image build [--rebuild]                build the jail image named in /etc/docker-jail.ini
  sshd-policy                            print the sshd drop-in for the configured jail group
  --version`;

declare const DOCKER_JAIL_VERSION: string;

/** Entry point of /usr/lib/docker-jail/docker-jail; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'shell':
      return runShell(rest, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    case 'pam-hook':
      return runPamHook(process.env);
    case 'image':
      return runImage(rest);
    case 'sshd-policy':
      requireRoot();
      if (rest.length > 0) throw new JailError('usage: docker-jail sshd-policy', ExitCode.usage);
      process.stdout.write(renderSshdPolicy(loadConfig().access.jailGroup));
      return 0;
    case '--version':
      process.stdout.write(`docker-jail ${typeof DOCKER_JAIL_VERSION === 'string' ? DOCKER_JAIL_VERSION : 'dev'}\n`);
      return 0;
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new JailError(command === undefined ? USAGE : `unknown command ${JSON.stringify(command)}\n${USAGE}`, ExitCode.usage);
  }
}

async function runImage(args: string[]): Promise<number> {
  requireRoot();
  const [sub, ...flags] = args;
  if (sub !== 'build' || flags.some((f) => f !== '--rebuild')) throw new JailError('usage: docker-jail image build [--rebuild]', ExitCode.usage);
  const config = loadConfig();
  const engine = connectEngine(config.engine.socket);
  await buildImage(engine, config, { rebuild: flags.includes('--rebuild'), progress: (line) => process.stdout.write(`${line}\n`) });
  return 0;
}

function requireRoot(): void {
  if (process.geteuid?.() !== 0) throw new JailError('docker-jail administration commands must be run as root', ExitCode.refused);
}
