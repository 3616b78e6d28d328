import { runAudited } from '../audit/admin';
import { ExitCode, JailError } from '../errors';
import { actingHuman } from '../identity/actor';
import type { CommandIo } from './command';
import { commandFor, helpFor, topLevelUsage } from './registry';

declare const DOCKER_JAIL_VERSION: string;

/** Runs the command args name (after --help, --version and the root check); returns the exit status. */
export async function dispatch(args: string[], io: CommandIo, caller: Caller = {}): Promise<number> {
  const [name, ...rest] = args;
  const help = name === undefined ? undefined : helpFor(name);
  if (help !== undefined && rest.includes('--help')) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  if (name === '--version') {
    io.stdout.write(`docker-jail ${typeof DOCKER_JAIL_VERSION === 'string' ? DOCKER_JAIL_VERSION : 'dev'}\n`);
    return 0;
  }
  if (name === '--help' || name === 'help') {
    io.stdout.write(`${topLevelUsage()}\n`);
    return 0;
  }
  const command = commandFor(args);
  if (command === undefined)
    throw new JailError(name === undefined ? topLevelUsage() : `unknown command ${JSON.stringify(name)}\n${topLevelUsage()}`, ExitCode.usage);
  if (command.rootOnly && process.geteuid?.() !== 0) throw new JailError('docker-jail administration commands must be run as root', ExitCode.refused);
  const audited = typeof command.audited === 'function' ? command.audited(rest) : command.audited;
  if (!audited) return command.run(rest, io);
  // Recorded here, once, for every command that changes something: no command can forget it.
  return runAudited(command.name, rest, actingHuman(caller.sudoUser), () => command.run(rest, io));
}

/** What main.ts read of the caller before it scrubbed the environment: recorded only, never trusted. */
export interface Caller {
  sudoUser?: string;
}
