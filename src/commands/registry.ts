import type { Command } from './command';
import { configCommand } from './config';
import { disableCommand } from './disable';
import { doctorCommand } from './doctor';
import { enableCommand } from './enable';
import { gcCommand } from './gc';
import { imageCommand } from './image';
import { recreateCommand, restartCommand, startCommand, stopCommand } from './lifecycle';
import { listCommand, statusCommand } from './list';
import { metricsCommand } from './metrics';
import { pamHookCommand } from './pamHook';
import { adminShellCommand, loginShellCommand } from './shell';
import { sshdPolicyCommand } from './sshdPolicy';
import { topCommand } from './top';
import { userManagerCommand } from './userManager';

/** Every command, in the order of the top-level usage: an administrator's first, then those the system starts. */
export const COMMANDS: readonly Command[] = [
  enableCommand,
  disableCommand,
  listCommand,
  statusCommand,
  topCommand,
  // The jail lifecycle (issue 17, item 4).
  stopCommand,
  startCommand,
  restartCommand,
  recreateCommand,
  adminShellCommand,
  configCommand,
  doctorCommand,
  imageCommand,
  gcCommand,
  metricsCommand,
  sshdPolicyCommand,
  userManagerCommand,
  loginShellCommand,
  pamHookCommand,
];

/** The command these arguments (name first) run, if any. */
export function commandFor(args: readonly string[]): Command | undefined {
  const rest = args.slice(1);
  return COMMANDS.find((c) => c.name === args[0] && (c.takes?.(rest) ?? true));
}

/** What the launcher execs: `shell --login|--no-login -- ...`; `shell USER` is the administrators' command. */
export function isLauncherShell(args: string[]): boolean {
  return commandFor(args) === loginShellCommand;
}

/** What `docker-jail NAME --help` prints: by name alone, so `shell --login --help` has the admin shell's, as it always had. */
export function helpFor(name: string): string | undefined {
  return COMMANDS.find((c) => c.name === name && c.help !== null)?.help ?? undefined;
}

/** The top-level usage: one line per usage line of each command, commands that show the same thing (list, status) on one. */
export function topLevelUsage(): string {
  const lines: { synopsis: string; summary: string }[] = [];
  for (const { synopsis, summary } of COMMANDS.flatMap((c) => c.usage)) {
    const previous = lines.at(-1);
    if (previous?.summary === summary) previous.synopsis = `${previous.synopsis} / ${synopsis}`;
    else lines.push({ synopsis, summary });
  }
  const width = Math.max(...lines.map((l) => l.synopsis.length)) + 1;
  return ['usage: docker-jail COMMAND', ...lines.map((l) => `  ${l.synopsis.padEnd(width)}${l.summary}`), '  --version', 'Every command takes --help.'].join(
    '\n',
  );
}
