import { loadConfig } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { uidOfUser } from '../identity/nss';
import { engineFor } from '../jail/connect';
import { type JailStatus, listJails, statusOfUser } from '../jail/status';
import type { Command, CommandIo } from './command';
import { humanBytes, humanDuration, localTime, printable, printableJson } from './printable';

/** One line of the top-level usage for both: status is list narrowed to a user. */
const SHOWS = 'every jail: owner, state, image (outdated, and why), sessions, use against limits, OOM kills, CPU, last login';

const LIST_HELP =
  'usage: docker-jail list [--json]\n' +
  "Every jail with its owner, state, image (and whether it is outdated, and why: image, limits, network, seccomp, session kind), uptime, sessions open now and how they are served (through the jail's agent, or docker exec), CPU use and time, memory, pids and /tmp against their limits, OOM kills since it started, and last login; " +
  'then one row per session: where from, tty, since, idle, command. Times are local; --json gives bytes, seconds and ISO 8601 times.';
const STATUS_HELP =
  'usage: docker-jail status [USER] [--json]\n' +
  "Like list, for one user's jail (and the shared jail). Exits non-zero, saying why in one line, for root, an exempt user, a user outside the jail group, and a jailed user without a jail; a user outside the jail group who still has a jail (left for gc) has it shown, with that said.";

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
    const json = args.includes('--json');
    if (names[0] === undefined) {
      printJails(io, await listJails(engineFor(config), config, null), json);
      return 0;
    }
    const uid = uidOfUser(names[0]);
    if (uid === null) throw new JailError(`no such user: ${names[0]}`, ExitCode.usage);
    const { jails, note } = await statusOfUser(engineFor(config), config, uid);
    if (note !== null) io.stderr.write(`docker-jail: ${printable(note)}\n`);
    printJails(io, jails, json);
    return 0;
  },
};

function printJails(io: CommandIo, jails: JailStatus[], json: boolean): void {
  io.stdout.write(json ? `${printableJson(jails)}\n` : formatJailTable(jails));
}

/**
 * The tables `docker-jail list` prints on a terminal or in a pipe: one row per
 * jail, then one per session. Owners, commands and the like come from users,
 * so every cell is escaped.
 */
export function formatJailTable(jails: JailStatus[]): string {
  const rows = [['JAIL', 'OWNER', 'STATE', 'IMAGE', 'UPTIME', 'SESSIONS', 'VIA', 'CPU', 'CPU TIME', 'MEMORY', 'PIDS', '/TMP', 'OOM KILLS', 'LAST LOGIN']];
  const sessions = [['JAIL', 'FROM', 'TTY', 'SINCE', 'IDLE', 'COMMAND']];
  for (const j of jails) {
    rows.push([
      j.name,
      j.owner,
      j.state,
      `${j.image}${j.outdated ? ` (outdated: ${j.outdatedReasons.join(', ')})` : ''}`,
      orDash(j.uptimeSeconds, humanDuration),
      String(j.sessions),
      j.sessionsVia,
      orDash(j.cpuPercent, (p) => `${p}%`),
      orDash(j.cpuSeconds, humanDuration),
      against(j.memoryBytes, j.memoryLimitBytes, humanBytes),
      against(j.pids, j.pidsLimit, String),
      against(j.tmpUsedBytes, j.tmpLimitBytes, humanBytes),
      orDash(j.oomKills, String),
      localTime(j.lastLogin),
    ]);
    for (const s of j.sessionList) {
      sessions.push([j.name, s.rhost ?? '-', s.tty ?? '-', localTime(s.since), orDash(s.idleSeconds, humanDuration), s.command ?? '-']);
    }
  }
  return table(rows) + (sessions.length > 1 ? `\n${table(sessions)}` : '');
}

/** Columns padded to their widest cell, every cell escaped. */
function table(rows: string[][]): string {
  const cells = rows.map((r) => r.map((cell) => printable(cell)));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return (
    cells
      .map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function orDash<T>(value: T | null, show: (value: T) => string): string {
  return value === null ? '-' : show(value);
}

/** Use against a limit, `120M/512M`; `-` for either unknown or no limit. */
function against(used: number | null, limit: number | null, show: (n: number) => string): string {
  return `${orDash(used, show)}/${orDash(limit, show)}`;
}
