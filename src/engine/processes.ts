import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { constants } from 'node:os';
import { bounded } from '../deadline';
import { JailError } from '../errors';

/**
 * The host's view of a jail's processes, read from /proc as root. A pid is only
 * ever signalled after /proc says, at that moment, that it belongs to the jail's
 * container, so a pid reused by a host process is never hit.
 */
export interface JailProcess {
  pid: number;
  ppid: number;
  /** Real uid, as the host sees it. */
  uid: number;
  /** Whether its environment carries the session's mark. */
  marked: boolean;
}

/** The uid a jail's own processes (its init and placeholder) run as: any other is a session's or a job's. */
export const JAIL_NOBODY = 65534;

/** What the user controls in /proc/PID/environ can be huge (an unlimited stack): read at most this much, in small pieces. */
const ENVIRON_LIMIT = 1 << 20;
const CHUNK = 64 * 1024;

export function jailProcesses(containerId: string, marker: string | null, proc = '/proc'): JailProcess[] {
  const found: JailProcess[] = [];
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      if (!belongsTo(pid, containerId, proc)) continue;
      const stat = readFileSync(`${proc}/${pid}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: fields start after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const uid = credentialsOf(pid, proc)?.uids[0] ?? -1;
      found.push({ pid, ppid, uid, marked: marker !== null && environHas(`${proc}/${pid}/environ`, marker) });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Whether the NUL-separated environment file holds exactly the entry `entry`, read in bounded chunks. */
export function environHas(path: string, entry: string): boolean {
  const needle = Buffer.from(`\0${entry}\0`, 'latin1');
  const fd = openSync(path, 'r');
  try {
    // Start with a NUL so the first entry matches like the others; keep a needle's length of overlap between chunks.
    let window = Buffer.from([0]);
    for (let total = 0; total < ENVIRON_LIMIT; ) {
      const chunk = Buffer.alloc(CHUNK);
      const n = readSync(fd, chunk, 0, CHUNK, null);
      const data = Buffer.concat([window, chunk.subarray(0, n), n === 0 ? Buffer.from([0]) : Buffer.alloc(0)]);
      if (data.includes(needle)) return true;
      if (n === 0) return false;
      total += n;
      window = data.subarray(Math.max(0, data.length - needle.length));
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** A process is in the container when one of its cgroup paths ends in the container's own cgroup (cgroupfs or systemd driver). */
function belongsTo(pid: number, containerId: string, proc: string): boolean {
  try {
    return readFileSync(`${proc}/${pid}/cgroup`, 'utf8')
      .split('\n')
      .some((line) => line.endsWith(`/docker/${containerId}`) || line.endsWith(`/docker-${containerId}.scope`));
  } catch {
    return false;
  }
}

/** When a process started (clock ticks since boot), which tells a pid apart from a later process reusing it; null when gone. */
export function startTimeOf(pid: number, proc = '/proc'): number | null {
  try {
    const stat = readFileSync(`${proc}/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return null;
  }
}

export interface Credentials {
  /** Real, effective, saved and filesystem uid. */
  uids: number[];
  gids: number[];
  groups: number[];
}

/** A process's credentials from /proc/PID/status, or null when it has ended. */
export function credentialsOf(pid: number, proc = '/proc'): Credentials | null {
  let status: string;
  try {
    status = readFileSync(`${proc}/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string) => (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  return { uids: field('Uid'), gids: field('Gid'), groups: field('Groups') };
}

/** The session's own process, everything descending from it, and whatever still carries the session's mark. */
export function sessionProcesses(all: JailProcess[], rootPid: number | null): number[] {
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const chosen = new Set<number>();
  const walk = (pid: number) => {
    if (chosen.has(pid)) return;
    chosen.add(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  if (rootPid !== null && all.some((p) => p.pid === rootPid)) walk(rootPid);
  for (const p of all) if (p.marked) walk(p.pid);
  return [...chosen];
}

/** Pins each pid with a pidfd, checks it is still the jail's, and only then signals it (launcher/signal.c). */
export const SIGNALLER = '/usr/lib/docker-jail/jail-signal';

/**
 * Signals processes of the jail. A pid read from /proc may end and be reused by
 * a host process before kill(2) reached it; the signaller closes that window
 * with pidfds (SECURITY.md, invariant 10).
 */
export function signalJailProcesses(containerId: string, pids: number[], signal: NodeJS.Signals): void {
  if (pids.length === 0) return;
  const result = spawnSync(SIGNALLER, [String(constants.signals[signal]), containerId, ...pids.map(String)], { env: {}, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', ...bounded(10_000) });
  if (result.error || result.status !== 0) {
    throw new JailError(`${SIGNALLER} failed: ${(result.error?.message ?? String(result.stderr).trim()).split('\n')[0]}`);
  }
}
