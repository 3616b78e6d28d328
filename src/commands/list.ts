import { loadConfig } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { uidOfUser } from '../identity/nss';
import { engineFor } from '../jail/connect';
import { type JailStatus, listJails } from '../jail/status';
import type { Command, CommandIo } from './command';
import { printable, printableJson } from './printable';

/** One line of the top-level usage for both: status is list narrowed to a user. */
const SHOWS = 'every jail: owner, state, image (outdated?), uptime, sessions, CPU, memory, last login';

const LIST_HELP =
  "usage: docker-jail list [--json]\nEvery jail with its owner, state, image (and whether it is outdated), uptime, sessions open now and how they are served (through the jail's agent, or docker exec), CPU and memory use, and last login.";
const STATUS_HELP = "usage: docker-jail status [USER] [--json]\nLike list, for one user's jail (and the shared jail).";

export const listCommand: Command = {
  name: 'list',
  usage: [{ synopsis: 'list [--json]', summary: SHOWS }],
  help: LIST_HELP,
  rootOnly: true,
  audited: false,
  async run(args, io) {
    const names = args.filter((a) => a !== '--json');
    if (names.length > 0) throw new JailError(LIST_HELP, ExitCode.usage);
    const config = loadConfig();
    printJails(io, await listJails(engineFor(config), config, null), args.includes('--json'));
    return 0;
  },
};

export const statusCommand: Command = {
  name: 'status',
  usage: [{ synopsis: 'status [USER] [--json]', summary: SHOWS }],
  help: STATUS_HELP,
  rootOnly: true,
  audited: false,
  async run(args, io) {
    const names = args.filter((a) => a !== '--json');
    if (names.some((a) => a.startsWith('-')) || names.length > 1) throw new JailError(STATUS_HELP, ExitCode.usage);
    const config = loadConfig();
    let uid: number | null = null;
    if (names[0] !== undefined) {
      uid = uidOfUser(names[0]);
      if (uid === null) throw new JailError(`no such user: ${names[0]}`, ExitCode.usage);
    }
    printJails(io, await listJails(engineFor(config), config, uid), args.includes('--json'));
    return 0;
  },
};

function printJails(io: CommandIo, jails: JailStatus[], json: boolean): void {
  io.stdout.write(json ? `${printableJson(jails)}\n` : formatJailTable(jails));
}

/** The table `docker-jail list` prints on a terminal or in a pipe; owners come from the user database, so every cell is escaped. */
export function formatJailTable(jails: JailStatus[]): string {
  const rows = [['JAIL', 'OWNER', 'STATE', 'IMAGE', 'UPTIME', 'SESSIONS', 'VIA', 'CPU', 'MEMORY', 'LAST LOGIN']];
  for (const j of jails) {
    rows.push(
      [
        j.name,
        j.owner,
        j.state,
        `${j.image}${j.outdated ? ' (outdated)' : ''}`,
        j.uptimeSeconds === null ? '-' : duration(j.uptimeSeconds),
        String(j.sessions),
        j.sessionsVia,
        j.cpuPercent === null ? '-' : `${j.cpuPercent}%`,
        j.memoryBytes === null ? '-' : `${Math.round(j.memoryBytes / 1048576)}M`,
        j.lastLogin ?? '-',
      ].map((cell) => printable(cell)),
    );
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}
