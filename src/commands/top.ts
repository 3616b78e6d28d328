import { loadConfig } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { engineFor } from '../jail/connect';
import { type JailStatus, listJails } from '../jail/status';
import type { Command } from './command';
import { showLive } from './liveScreen';
import { humanBytes, humanDuration, printable } from './printable';

const HELP = `usage: docker-jail top [-b] [-n N] [-d SECONDS]
Every jail, as list shows it, with its use against its limits, refreshed in place every 2 seconds (-d): m sorts by
memory, c by CPU, q quits. Piped, or with -b, it prints the table once (-n N: N times, -d apart) and exits.`;

/** The keys that sort, as top's: by memory or by CPU, busiest first. */
const ORDERS = { m: 'memory', c: 'cpu' } as const;
type Order = (typeof ORDERS)[keyof typeof ORDERS];

export const topCommand: Command = {
  name: 'top',
  usage: [{ synopsis: 'top [-b] [-n N] [-d SECONDS]', summary: 'the jails live, refreshed in place; m/c sort by memory/CPU, q quits' }],
  help: HELP,
  rootOnly: true,
  audited: false,
  async run(args, io) {
    const options = topOptions(args);
    const config = loadConfig();
    const engine = engineFor(config);
    try {
      return await showLive(
        { fetch: () => listJails(engine, config, null), render: (jails, order, live) => topLines(jails, order as Order, live), orders: ORDERS, order: 'cpu' },
        io,
        options,
      );
    } finally {
      engine.control.close(); // q must not wait for a refresh still asking the engine
    }
  },
};

function topOptions(args: string[]): { batch: boolean; iterations: number | null; intervalMs: number } {
  const options = { batch: false, iterations: null as number | null, intervalMs: 2000 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-b') options.batch = true;
    else if ((arg === '-n' || arg === '-d') && /^\d+(\.\d+)?$/.test(args[i + 1] ?? '')) {
      const value = Number(args[++i]);
      if (arg === '-n' && Number.isInteger(value) && value > 0) options.iterations = value;
      else if (arg === '-d' && value >= 0.5 && value <= 3600) options.intervalMs = value * 1000;
      else throw new JailError(`${arg} ${args[i]}: out of range\n${HELP}`, ExitCode.usage);
    } else throw new JailError(`${arg.startsWith('-') ? `bad option ${arg}` : `unexpected argument ${arg}`}\n${HELP}`, ExitCode.usage);
  }
  return options;
}

/** The view: on the live screen a summary line first; then one row per jail, busiest first in the chosen order. */
export function topLines(jails: JailStatus[], order: Order, live: boolean, now = new Date()): string[] {
  const key = (j: JailStatus) => (order === 'memory' ? j.memoryBytes : j.cpuPercent) ?? -1;
  const sorted = [...jails].sort((a, b) => key(b) - key(a) || a.name.localeCompare(b.name));
  const rows = [['JAIL', 'OWNER', 'STATE', 'SESS', 'CPU%', 'MEM', 'MEM%', 'PIDS', 'TMP', 'OOM', 'UPTIME']];
  for (const j of sorted) {
    rows.push(
      [
        j.name,
        j.owner,
        j.state,
        String(j.sessions),
        j.cpuPercent === null ? '-' : j.cpuPercent.toFixed(1),
        j.memoryBytes === null ? '-' : humanBytes(j.memoryBytes),
        j.memoryBytes !== null && j.memoryLimitBytes ? ((j.memoryBytes / j.memoryLimitBytes) * 100).toFixed(1) : '-',
        j.pids === null ? '-' : `${j.pids}${j.pidsLimit ? `/${j.pidsLimit}` : ''}`,
        j.tmpUsedBytes === null ? '-' : `${humanBytes(j.tmpUsedBytes)}${j.tmpLimitBytes ? `/${humanBytes(j.tmpLimitBytes)}` : ''}`,
        j.oomKills === null ? '-' : String(j.oomKills),
        j.uptimeSeconds === null ? '-' : humanDuration(j.uptimeSeconds),
      ].map((cell) => printable(cell)),
    );
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  // Names left, numbers right, as top aligns them.
  const table = rows.map((r) =>
    r
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd(),
  );
  if (!live) return table;
  const running = jails.filter((j) => j.state === 'running').length;
  const sessions = jails.reduce((n, j) => n + j.sessions, 0);
  const summary = `docker-jail top - ${now.toTimeString().slice(0, 8)}  jails: ${jails.length} (${running} running)  sessions: ${sessions}  sorted by ${order}  [m]emory [c]pu [q]uit`;
  return [summary, '', ...table];
}
