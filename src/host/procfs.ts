import { closeSync, constants as fsConstants, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { bounded } from './deadline';
import { CGROUP_FS, SIGNALLER } from './paths';
import { run } from './run';

/**
 * The host's view of a jail's processes, read from /proc as root. A pid is only
 * ever signalled after /proc says, at that moment, that it belongs to the jail's
 * container, so a pid reused by a host process is never hit.
 *
 * A process belongs to the jail when its /proc/PID/cgroup is exactly the jail
 * init's, every hierarchy and whole path: a cgroup merely named like the
 * container's (a user's systemd manager can make `…/docker/<id>` under its own
 * slice) is someone else's, and under the engine's cgroup-parent the path is
 * not `/docker/<id>` at all.
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

/** The exact text of a jail init's /proc/PID/cgroup, as jailCgroupOf read it. */
export interface JailCgroup {
  readonly cgroups: string;
  /** The jail's init (the agent, in an agent jail), as the host sees it: never one of its sessions' processes. */
  readonly init?: number;
}

/** The jail's processes; none when it is not running (cgroup null). */
export function jailProcesses(cgroup: JailCgroup | null, marker: string | null, proc = '/proc'): JailProcess[] {
  const found: JailProcess[] = [];
  if (cgroup === null) return found;
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === cgroup.init) continue;
    try {
      if (cgroupsOf(pid, proc) !== cgroup.cgroups) continue;
      const status = statusOf(pid, proc);
      const stat = statFieldsOf(pid, proc);
      if (status === null || stat === null) continue; // ended while we looked
      // The init of the jail's pid namespace (after a restart, under another host pid than a record knows): never a session's.
      const nsPids = status('NSpid');
      if (nsPids.length > 1 && nsPids[nsPids.length - 1] === '1') continue;
      found.push({ pid, ppid: Number(stat[1]), uid: Number(status('Uid')[0] ?? -1), marked: marker !== null && environHas(`${proc}/${pid}/environ`, marker) });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/**
 * The fields of /proc/PID/stat after the command name (which may hold spaces
 * and parentheses, so they start after the last ')'): [0] the state, [1] the
 * parent, [19] the start time. Null when the process has ended.
 */
export function statFieldsOf(pid: number, proc = '/proc'): string[] | null {
  try {
    const stat = readFileSync(`${proc}/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The words of one field of /proc/PID/status ('Uid', 'Groups', 'CapEff'...), read once; null when the process has ended. */
export function statusOf(pid: number | 'self', proc = '/proc'): ((name: string) => string[]) | null {
  let status: string;
  try {
    status = readFileSync(`${proc}/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  return (name) => (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
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

/** The text of /proc/PID/cgroup, or null when the process has ended. */
export function cgroupsOf(pid: number, proc = '/proc'): string | null {
  try {
    return readFileSync(`${proc}/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The cgroups of the container's init, given the pid the engine named: read
 * between two looks at its start time (so it is one process throughout), and
 * only if they are the container's own (the last component names the id, with
 * the cgroupfs or the systemd driver, under any cgroup-parent). Null otherwise.
 */
export function initCgroupOf(containerId: string, pid: number, proc = '/proc'): JailCgroup | null {
  const start = startTimeOf(pid, proc);
  const cgroups = cgroupsOf(pid, proc);
  if (start === null || cgroups === null || startTimeOf(pid, proc) !== start) return null;
  const own = cgroups.split('\n').some((line) => line.endsWith(`/${containerId}`) || line.endsWith(`/docker-${containerId}.scope`));
  return own ? { cgroups, init: pid } : null;
}

/** When a process started (clock ticks since boot), which tells a pid apart from a later process reusing it; null when gone. */
export function startTimeOf(pid: number, proc = '/proc'): number | null {
  const stat = statFieldsOf(pid, proc);
  return stat === null ? null : Number(stat[19]);
}

/** The audit login uid the kernel keeps for this process (who logged in, whatever su or sudo did since); null when unset. */
export function loginUidOfSelf(proc = '/proc'): number | null {
  try {
    const text = readFileSync(`${proc}/self/loginuid`, 'utf8').trim();
    // 4294967295 ((uid_t)-1): no login session set it (a daemon, a timer, a kernel without audit).
    return /^\d{1,10}$/.test(text) && Number(text) !== 4294967295 ? Number(text) : null;
  } catch {
    return null;
  }
}

/** What the kernel names the terminal open on fd of this process (`/dev/pts/3`); null when it cannot say. */
export function terminalOfSelf(fd: number, proc = '/proc'): string | null {
  try {
    return readlinkSync(`${proc}/self/fd/${fd}`);
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
  const status = statusOf(pid, proc);
  if (status === null) return null;
  const ids = (name: string) => status(name).map(Number);
  return { uids: ids('Uid'), gids: ids('Gid'), groups: ids('Groups') };
}

/**
 * Whether a process runs as exactly this user: all four uids and gids theirs,
 * and exactly their groups (the primary one may or may not be listed among the
 * supplementary), never gid 0 from a name the jail cannot resolve.
 */
export function credentialsAre(actual: Credentials, user: { uid: number; gid: number; gids: number[] }): boolean {
  const sorted = (ids: Iterable<number>) => [...new Set(ids)].sort((a, b) => a - b).join(',');
  return (
    actual.uids.length === 4 &&
    actual.uids.every((u) => u === user.uid) &&
    actual.gids.length === 4 &&
    actual.gids.every((g) => g === user.gid) &&
    sorted([user.gid, ...actual.groups]) === sorted(user.gids)
  );
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

export { SIGNALLER };

/**
 * Signals processes of the jail. A pid read from /proc may end and be reused by
 * a host process before kill(2) reached it; the signaller closes that window
 * with pidfds (SECURITY.md, invariant 10).
 */
export function signalJailProcesses(cgroup: JailCgroup | null, pids: number[], signal: NodeJS.Signals): void {
  if (pids.length === 0 || cgroup === null) return;
  run(SIGNALLER, [String(constants.signals[signal]), cgroup.cgroups, ...pids.map(String)], { failure: `${SIGNALLER} failed`, ...bounded(10_000) });
}

/** Whether process `pid` sees, at `path` under its root, exactly this directory (device and inode): the home a jail binds. */
export function seesDirectory(pid: number, path: string, directory: { dev: number; ino: number }): boolean {
  const seen = lstatSync(`/proc/${pid}/root${path}`, { throwIfNoEntry: false });
  return seen !== undefined && seen.dev === directory.dev && seen.ino === directory.ino;
}

/** The clock ticks /proc counts start times in: USER_HZ, 100 on every architecture Linux runs Debian on. */
const CLOCK_TICKS = 100;

/** When a process started, given its start time in clock ticks since boot (startTimeOf); null when /proc/stat has no boot time. */
export function startedAtOf(startTicks: number, proc = '/proc'): Date | null {
  try {
    const boot = /^btime (\d+)$/m.exec(readFileSync(`${proc}/stat`, 'utf8'))?.[1];
    return boot === undefined ? null : new Date((Number(boot) + startTicks / CLOCK_TICKS) * 1000);
  } catch {
    return null;
  }
}

/** A terminal as `w` reads it: its name and when it last had input (its atime, ms since the epoch). */
export interface TerminalSeen {
  tty: string;
  lastInputMs: number;
}

/**
 * The pseudo-terminal on fd 0 of a login's host process (root's relay, or the
 * attach process, which no jailed process can reach), or null when it has none
 * (a pipe, a socket) or has ended. stat(2) of /proc/PID/fd/0 reaches the open
 * file itself, and only a pty's device numbers are believed. Never for a
 * process in a jail, whose fd 0 its user chooses: see ttyNameOf.
 */
export function terminalOf(pid: number, proc = '/proc'): TerminalSeen | null {
  try {
    const seen = statSync(`${proc}/${pid}/fd/0`, { bigint: true });
    const tty = seen.isCharacterDevice() ? ptyName(seen.rdev) : null;
    return tty === null ? null : { tty, lastInputMs: Number(seen.atimeMs) };
  } catch {
    return null;
  }
}

/**
 * The name of the pty on fd 0 of a process in a jail (`pts/N`), read as the
 * link's text alone: nothing the user may have put there (SECURITY.md,
 * invariant 10) is stat'ed, opened or followed. Null for anything else.
 */
export function ttyNameOf(pid: number, proc = '/proc'): string | null {
  try {
    const pts = /^\/dev\/pts\/(\d+)$/.exec(readlinkSync(`${proc}/${pid}/fd/0`))?.[1];
    return pts === undefined ? null : `pts/${pts}`;
  } catch {
    return null;
  }
}

/** The name of a Unix 98 pty slave (majors 136-143) from its device number, as glibc encodes it; null for any other device. */
export function ptyName(rdev: bigint): string | null {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n));
  return major >= 136 && major <= 143 ? `pts/${(major - 136) * 256 + minor}` : null;
}

/**
 * How many times the kernel's OOM killer has killed a process of the jail
 * since it started (its cgroup is made at each start), from the cgroup the
 * kernel itself named in the jail init's /proc/PID/cgroup (jailCgroupOf checked
 * it is the container's): `oom_kill` of memory.events on cgroup v2, or of
 * memory.oom_control in the memory hierarchy of cgroup v1. Null when neither
 * can be read.
 */
export function oomKillsOf(cgroup: JailCgroup, root = CGROUP_FS): number | null {
  const lines = cgroup.cgroups.split('\n').map((line) => /^\d+:([^:]*):(.*)$/.exec(line));
  const v2 = lines.find((line) => line?.[1] === '')?.[2];
  const v1 = lines.find((line) => line?.[1].split(',').includes('memory'))?.[2];
  return (v2 === undefined ? null : oomKillIn(root, v2, 'memory.events')) ?? (v1 === undefined ? null : oomKillIn(`${root}/memory`, v1, 'memory.oom_control'));
}

/** The `oom_kill N` line of one cgroup file below `root`, never outside it; null when there is none. */
function oomKillIn(root: string, path: string, file: string): number | null {
  if (!path.startsWith('/') || path.split('/').some((part) => part === '.' || part === '..')) return null;
  let fd: number | null = null;
  try {
    fd = openSync(`${root}${path === '/' ? '' : path}/${file}`, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    const kills = /^oom_kill (\d+)$/m.exec(readFileSync(fd, 'utf8'))?.[1];
    return kills === undefined ? null : Number(kills);
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
