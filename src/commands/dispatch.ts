import { runAudited } from '../audit/admin';
import { ExitCode, JailError } from '../errors';
import { actingHuman } from '../identity/actor';
import type { Command, CommandIo } from './command';
import { printable } from './printable';
import { commandFor, helpFor, topLevelUsage } from './registry';

declare const DOCKER_JAIL_VERSION: string;

/** Both ask for help, at the top level and after a command's name. */
const HELP_OPTIONS = ['--help', '-h'];

/** Runs the command args name (after --help, --version and the root check); returns the exit status. */
export async function dispatch(args: string[], io: CommandIo, caller: Caller = {}): Promise<number> {
  const [name, ...rest] = args;
  const help = name === undefined ? undefined : helpFor(name);
  if (help !== undefined && optionsOf(rest).some((a) => HELP_OPTIONS.includes(a))) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  if (name === '--version') {
    io.stdout.write(`docker-jail ${typeof DOCKER_JAIL_VERSION === 'string' ? DOCKER_JAIL_VERSION : 'dev'}\n`);
    return 0;
  }
  if (name === 'help' || HELP_OPTIONS.includes(name)) {
    io.stdout.write(`${topLevelUsage()}\n`);
    return 0;
  }
  const command = commandFor(args);
  if (command === undefined) {
    const what = name?.startsWith('-') ? 'option' : 'command';
    throw new JailError(name === undefined ? topLevelUsage() : `unknown ${what} ${JSON.stringify(name)}\n${topLevelUsage()}`, ExitCode.usage);
  }
  if (command.rootOnly && process.geteuid?.() !== 0) throw new JailError('docker-jail administration commands must be run as root', ExitCode.refused);
  const unknown = unknownOption(command, rest);
  if (unknown !== undefined) {
    io.stderr.write(`docker-jail ${command.name}: unknown option ${printable(unknown)}\n${command.help}\n`);
    return ExitCode.usage;
  }
  const audited = typeof command.audited === 'function' ? command.audited(rest) : command.audited;
  if (!audited) return command.run(rest, io);
  // Recorded here, once, for every command that changes something: no command can forget it.
  return runAudited(command.name, rest, actingHuman(caller.sudoUser), () => command.run(rest, io));
}

/** What main.ts read of the caller before it scrubbed the environment: recorded only, never trusted. */
export interface Caller {
  sudoUser?: string;
}

/** The first argument that looks like an option (before a `--`) and is none of the command's; for a command with a help. */
export function unknownOption(command: Command, args: readonly string[]): string | undefined {
  if (command.help === null) return undefined;
  const declared = declaredOptions(command);
  return optionsOf(args).find((a) => a.startsWith('-') && a !== '-' && !declared.has(a.split('=')[0]));
}

/** The arguments that may be options: those before a `--` (after it, a command's own words, as jailsh's -c CMD). */
function optionsOf(args: readonly string[]): readonly string[] {
  const end = args.indexOf('--');
  return end === -1 ? args : args.slice(0, end);
}

/**
 * The options a command takes, as its usage and help name them (declared once: registry.ts). A command only
 * the system starts (no help) reads its own arguments.
 */
function declaredOptions(command: Command): Set<string> {
  const text = [...command.usage.map((u) => u.synopsis), command.help ?? ''].join('\n');
  return new Set([...text.matchAll(/(?<![\w-])--?[A-Za-z][\w-]*/g)].map((m) => m[0]));
}
