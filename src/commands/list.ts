import type { JailStatus } from '../jail/status';
import { printable } from './printable';

/** The table `docker-jail list` prints on a terminal or in a pipe; owners come from the user database, so every cell is escaped. */
export function formatJailTable(jails: JailStatus[]): string {
  const rows = [['JAIL', 'OWNER', 'STATE', 'IMAGE', 'UPTIME', 'SESSIONS', 'VIA', 'CPU', 'MEMORY', 'LAST LOGIN']];
  for (const j of jails) {
    rows.push([
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
    ].map((cell) => printable(cell)));
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}
