import { readdirSync, readFileSync } from 'node:fs';

/**
 * The host's view of a jail's processes, read from /proc as root. A pid is only
 * ever signalled after /proc says, at that moment, that it belongs to the jail's
 * container, so a pid reused by a host process is never hit.
 */
export interface JailProcess {
  pid: number;
  ppid: number;
  environ: string[];
}

export function jailProcesses(containerId: string, proc = '/proc'): JailProcess[] {
  const found: JailProcess[] = [];
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      if (!belongsTo(pid, containerId, proc)) continue;
      const stat = readFileSync(`${proc}/${pid}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: fields start after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const environ = readFileSync(`${proc}/${pid}/environ`, 'latin1').split('\0');
      found.push({ pid, ppid, environ });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

function belongsTo(pid: number, containerId: string, proc: string): boolean {
  try {
    return readFileSync(`${proc}/${pid}/cgroup`, 'utf8').includes(containerId);
  } catch {
    return false;
  }
}

/** The session's own process, everything descending from it, and whatever still carries the session's mark. */
export function sessionProcesses(all: JailProcess[], rootPid: number | null, marker: string | null): number[] {
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const chosen = new Set<number>();
  const walk = (pid: number) => {
    if (chosen.has(pid)) return;
    chosen.add(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  if (rootPid !== null && all.some((p) => p.pid === rootPid)) walk(rootPid);
  if (marker !== null) for (const p of all) if (p.environ.includes(marker)) walk(p.pid);
  return [...chosen];
}

export function signalJailProcesses(containerId: string, pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    if (!belongsTo(pid, containerId, '/proc')) continue;
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}
