import { chmodSync, chownSync, closeSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, rmSync } from 'node:fs';
import { ExitCode, JailError } from '../errors';
import { AGENT_DIR_IN_JAIL, AGENT_SOCKET_NAME, AGENT_STATE_DIR, ATTACH_PROGRAM, agentDirOf } from '../host/paths';
import type { JailCgroup } from '../host/procfs';
import { cgroupsOf, credentialsAre, credentialsOf, startTimeOf, statFieldsOf, statusOf } from '../host/procfs';
import { readStateFile, writeStateFile } from '../host/stateFiles';
import type { Identity } from '../identity/nss';

/**
 * Sessions through the jail's own agent (agent/agent.c): a static program
 * bind-mounted read-only into every per-user jail, run there as its init with
 * the owner's uid and groups and all of the jail's confinement. It makes the
 * session's pty inside the jail and takes the caller's fds 0-2 over a unix
 * socket from docker-jail-attach (agent/attach.c), which this program becomes,
 * as the user, once everything privileged is done. No root process, and no
 * Node process, of a session stays on the host (SECURITY.md, invariant 10).
 *
 * Root never connects to the agent's socket, nor opens anything in its
 * directory (which the user owns): whether the agent listens is read from
 * /proc (its own socket table and fds), and only attach, running as the user,
 * connects; attach checks its peer is a process of this jail's cgroup with
 * the user's uid before it sends a byte.
 */

/** How long a jail just started is given for its agent to listen. */
const AGENT_LISTEN_MS = 5000;

/**
 * Makes the agent's directory in the scratch filesystem (whose root is root's
 * and 0755, so the entry cannot have been replaced by the user) and gives it
 * to the user, 0700. Callers hold the jail's lock.
 */
export function ensureAgentDir(scratchMount: string, uid: number, gid: number): void {
  const dir = agentDirOf(scratchMount);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const seen = lstatSync(dir);
  if (!seen.isDirectory()) throw new JailError(`${dir} is not a directory; an administrator must remove it`);
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
}

/** What a slow path recorded about a running agent jail (root-only, per uid). */
export interface AgentState {
  /** The account it was made for: a uid may be given to a new account while the old one's jail runs. */
  user: string;
  jailId: string;
  jailName: string;
  /** The agent (the jail's init) as the host sees it. */
  pid: number;
  start: number;
  cgroup: JailCgroup;
  /** Where the jail's scratch filesystem is mounted; the agent's directory is in it. */
  scratch: string;
}

export function saveAgentState(uid: number, state: AgentState, dir = AGENT_STATE_DIR): void {
  const path = `${dir}/${uid}.json`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeStateFile(path, JSON.stringify(state), { sync: false }); // /run: gone at a reboot anyway
  } catch {
    rmSync(path, { force: true }); // the next login takes the slow path again
  }
}

/** Forgets the agents of jails that no longer exist (gc, knowing every jail's id). */
export function pruneAgentStates(existing: Set<string>, dir = AGENT_STATE_DIR): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return; // none recorded yet
  }
  for (const entry of entries) {
    const uid = /^(\d+)\.json$/.exec(entry)?.[1];
    if (uid === undefined) continue;
    const state = loadAgentState(Number(uid), dir);
    if (state === null || !existing.has(state.jailId)) rmSync(`${dir}/${entry}`, { force: true });
  }
}

export function loadAgentState(uid: number, dir = AGENT_STATE_DIR): AgentState | null {
  try {
    const state = JSON.parse(readStateFile(`${dir}/${uid}.json`)) as AgentState;
    const ok =
      typeof state.user === 'string' &&
      typeof state.jailId === 'string' &&
      typeof state.jailName === 'string' &&
      Number.isInteger(state.pid) &&
      Number.isInteger(state.start) &&
      typeof state.cgroup?.cgroups === 'string' &&
      typeof state.scratch === 'string';
    return ok ? state : null;
  } catch {
    return null;
  }
}

/** Why an agent cannot take a session now, or null when it can. */
export type AgentProblem = 'gone' | 'stopped' | 'credentials' | 'not listening' | 'no socket';

/**
 * Whether the agent recorded in `state` can take a session of `identity` now,
 * read from /proc alone: it is the same process (pid and start time), in the
 * jail's exact cgroups, running (not stopped or traced: the user may do that
 * to their own agent), with exactly the user's uid, primary gid and groups
 * (sessions inherit them), and listening on its socket.
 */
export function agentProblem(state: AgentState, identity: Identity, proc = '/proc'): AgentProblem | null {
  if (state.user !== identity.user) return 'gone';
  if (startTimeOf(state.pid, proc) !== state.start || cgroupsOf(state.pid, proc) !== state.cgroup.cgroups) return 'gone';
  // Running or sleeping: not stopped (T), traced (t) or a zombie (Z).
  if (!/^[RSD]$/.test(statFieldsOf(state.pid, proc)?.[0] ?? '')) return 'stopped';
  if (!hasCredentials(state.pid, identity, proc)) return 'credentials';
  if (!listening(state.pid, proc)) return 'not listening';
  // The user may remove or replace the socket's name (the directory is theirs): then their agent is out of reach
  // until it starts anew. Only looked at, never followed or opened: attach, as the user, checks what it reaches.
  const name = lstatSync(`${agentDirOf(state.scratch)}/${AGENT_SOCKET_NAME}`, { throwIfNoEntry: false });
  if (name === undefined || !name.isSocket() || name.uid !== identity.uid) return 'no socket';
  // Read again: the pid the checks above read is still the agent.
  return startTimeOf(state.pid, proc) === state.start ? null : 'gone';
}

/** Waits (bounded) for a just started agent to listen; its problem if it does not. */
export async function agentListening(state: AgentState, identity: Identity, proc = '/proc'): Promise<AgentProblem | null> {
  const until = Date.now() + AGENT_LISTEN_MS;
  for (;;) {
    const problem = agentProblem(state, identity, proc);
    if (problem !== 'not listening' || Date.now() >= until) return problem;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Exactly the user's uids, gids and groups (credentialsAre). */
export function hasCredentials(pid: number, identity: Identity, proc = '/proc'): boolean {
  const actual = credentialsOf(pid, proc);
  return actual !== null && credentialsAre(actual, { uid: identity.uid, gid: identity.gid, gids: identity.groups.map((g) => g.gid) });
}

/**
 * Whether the agent listens on its socket: an entry of its network namespace's
 * unix socket table bound at the agent's path, accepting connections, whose
 * inode is one of the agent's own fds. Read from /proc: nothing is connected to.
 */
export function listening(pid: number, proc = '/proc'): boolean {
  let table: string;
  let fds: string[];
  try {
    table = readBounded(`${proc}/${pid}/net/unix`, SOCKET_TABLE_LIMIT);
    fds = readdirSync(`${proc}/${pid}/fd`);
  } catch {
    return false; // gone, or a table the user has made huge: their login takes the slow path
  }
  const path = `${AGENT_DIR_IN_JAIL}/${AGENT_SOCKET_NAME}`;
  const inodes = new Set<string>();
  const seen = new Map<string, number>();
  // The kernel prints socket paths raw, so the user can forge whole lines with a newline in a path: a line must
  // have exactly the table's shape, and an inode printed twice counts for nothing.
  for (const line of table.split('\n').slice(1)) {
    const match = /^[0-9a-f]+: [0-9A-F]{8} [0-9A-F]{8} ([0-9A-F]{8}) ([0-9A-F]{4}) [0-9A-F]{2} (\d+)(?: (.*))?$/.exec(line);
    if (match === null) continue;
    seen.set(match[3], (seen.get(match[3]) ?? 0) + 1);
    const accepting = (Number.parseInt(match[1], 16) & 0x10000) !== 0; // __SO_ACCEPTCON: listen(2) was called
    if (match[4] === path && accepting && match[2] === '0001') inodes.add(match[3]); // SOCK_STREAM
  }
  for (const inode of inodes) if (seen.get(inode) !== 1) inodes.delete(inode);
  if (inodes.size === 0) return false;
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${proc}/${pid}/fd/${fd}`));
      if (match !== null && inodes.has(match[1])) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** The most of a jail's socket table root reads: the user can make it as long as their memory allows. */
const SOCKET_TABLE_LIMIT = 1 << 20;

/** A /proc file read whole, or an error when it is longer than `limit`. */
function readBounded(path: string, limit: number): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    while (length <= limit) {
      const n = readSync(fd, buffer, length, limit + 1 - length, null);
      if (n <= 0) break;
      length += n;
    }
    if (length > limit) throw new Error(`${path} is longer than ${limit} bytes`);
    return buffer.subarray(0, length).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether fds 0-2 may be handed into the user's jail: each must be the user's
 * own (sshd gives the user the pty and the pipes it made as them) or
 * /dev/null. A descriptor of someone else's (root's terminal, when root runs
 * `su - USER`; a pipe root made) would stay in the jail, readable by anything
 * the user runs there, after the session ends: such a session goes through
 * docker exec, whose relay hands the jail no host descriptor.
 */
export function descriptorsTheirs(uid: number, fds = [0, 1, 2]): boolean {
  return fds.every((fd) => {
    try {
      const st = fstatSync(fd);
      const devNull = st.isCharacterDevice() && st.rdev === makedev(1, 3);
      return devNull || st.uid === uid;
    } catch {
      return false;
    }
  });
}

/** Linux's dev_t of major:minor, as fstat reports it. */
function makedev(major: number, minor: number): number {
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
}

/** What attach is given: the session as the jail would have run it, and the words of its audit end record. */
export interface HandOver {
  state: AgentState;
  identity: Identity;
  /** The login's process (sshd, su): attach hangs up when it goes. */
  parent: number;
  tty: boolean;
  killOnLogout: boolean;
  workdir: string;
  argv: string[];
  env: string[];
  /** The end record's fields before the exit status, and after it (the command comes last, as in every record). */
  audit: { head: string; tail: string };
}

/** attach's command line (agent/attach.c): `SOCKET CGROUP PARENT OPTIONS CWD AUDIT AUDIT_TAIL -- ARGV...`. */
export function attachArgs(h: HandOver): string[] {
  const options = [...(h.tty ? ['tty'] : []), ...(h.killOnLogout ? ['kill-on-logout'] : [])];
  return [
    ATTACH_PROGRAM,
    AGENT_SOCKET_NAME,
    h.state.cgroup.cgroups,
    String(h.parent),
    options.length > 0 ? options.join(',') : '-',
    h.workdir,
    h.audit.head,
    h.audit.tail,
    '--',
    ...h.argv,
  ];
}

/**
 * Becomes docker-jail-attach as the user, for good: into the agent's directory
 * (the path up to it is root's; only the user may search the directory
 * itself), every group, gid and uid dropped to the user's and checked, then
 * execve. Never returns; throws if anything did not take.
 */
export function handOverSession(h: HandOver): never {
  const dir = agentDirOf(h.state.scratch);
  process.chdir(dir);
  const here = lstatSync('.');
  if (!here.isDirectory() || here.uid !== h.identity.uid) {
    throw new JailError(`${dir} is not the agent's directory of ${h.identity.user}; refused`);
  }
  if (process.setgroups === undefined || process.setgid === undefined || process.setuid === undefined) {
    throw new JailError('this Node cannot drop privileges (no setgroups, setgid or setuid); refused');
  }
  process.setgroups(h.identity.groups.map((g) => g.gid));
  process.setgid(h.identity.gid);
  process.setuid(h.identity.uid);
  const status = statusOf('self');
  const refused = new JailError('could not drop root privileges before handing the session over; refused', ExitCode.refused);
  if (status === null) throw refused;
  const dropped =
    status('Uid').every((u) => Number(u) === h.identity.uid) &&
    status('Gid').every((g) => Number(g) === h.identity.gid) &&
    ['CapPrm', 'CapEff', 'CapAmb'].every((set) => /^0+$/.test(status(set)[0] ?? ''));
  if (!dropped) throw refused;
  const env: Record<string, string> = {};
  for (const entry of h.env) {
    const at = entry.indexOf('=');
    env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  const args = attachArgs(h);
  // Node 22's process.execve (the bundled runtime has it; @types/node does not know it yet).
  (process as unknown as { execve(file: string, args: string[], env: Record<string, string>): never }).execve(args[0], args, env);
  throw new JailError(`cannot run ${ATTACH_PROGRAM}`);
}
