import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { JailError } from '../errors';
import { LAST_LOGIN_DIR, LAST_LOGOUT_DIR, PAM_SESSIONS_DIR, SESSIONS_DIR } from '../host/paths';
import { type JailCgroup, startTimeOf, statFieldsOf } from '../host/procfs';
import { readStateFile, writeStateFile } from '../host/stateFiles';
import type { Login } from './session';

/**
 * What a running session leaves for the PAM hook's close_session (SESSIONS_DIR):
 * enough to hang up (or kill) its processes in the jail even when the shell's own
 * process was killed and could not do it. One root-only file per session.
 */
export { SESSIONS_DIR };

/** A process, told apart from a later one reusing its pid by its start time. */
export interface ProcessId {
  pid: number;
  start: number;
}

export interface SessionRecord {
  /** Pid of the shell-mode process (jailsh) on the host. */
  pid: number;
  /** Its parent and grandparent: the PAM session's process is one of them (su; sshd's monitor). */
  ancestors: ProcessId[];
  uid: number;
  jailId: string;
  /** The jail's cgroups when the session started; absent in a record written before they were kept. */
  cgroup?: JailCgroup | null;
  /** The session's process in the jail, as the host sees it, or null when it ended at once. */
  exec: ProcessId | null;
  marker: string;
  /**
   * A session handed to the jail's agent: `pid` became docker-jail-attach (as
   * the user), and this is it with its start time. Such a record is always left
   * for close_session: no root process of the session remains to forget it.
   */
  agent?: ProcessId | null;
  /** When the session started (ISO 8601) and what it runs (`-c` command, or `-SHELL` for a login shell): for list and status. */
  startedAt?: string;
  command?: string;
  /** Where from and on which terminal, as PAM named them (PAM_RHOST, PAM_TTY); absent when not recorded. */
  rhost?: string | null;
  tty?: string | null;
}

/**
 * What list and status show of a session starting now: when, its command (a login shell as `w` shows one, `-bash`),
 * where from (PAM's remote host) and on which terminal (the one on the login's fd 0, else PAM's: `ssh` for none).
 */
export function startOf(
  login: Pick<Login, 'shellArgs' | 'config' | 'origin'>,
  now = new Date(),
): Pick<SessionRecord, 'startedAt' | 'command' | 'rhost' | 'tty'> {
  return {
    startedAt: now.toISOString(),
    command: login.shellArgs.command ?? `-${login.config.session.shell.split('/').pop()}`,
    rhost: login.origin.rhost ?? null,
    tty: login.origin.ttyName ?? login.origin.pamTty ?? null,
  };
}

/** The process now holding this pid, if it is still the one recorded. */
export function stillRunning(id: ProcessId | null): number | null {
  return id !== null && startTimeOf(id.pid) === id.start ? id.pid : null;
}

/** The process with this pid, as it is now (for a record). */
export function processId(pid: number | null): ProcessId | null {
  const start = pid === null ? null : startTimeOf(pid);
  return pid === null || start === null ? null : { pid, start };
}

/** A session's record on disk: updated once the exec's pid is known, removed when the session ends. */
export interface RecordedSession {
  /** Best effort: the record as first written still finds the session by its mark. */
  update(change: Partial<SessionRecord>): void;
  forget(): void;
}

/** Writes the record, or refuses the session with one line naming the file (a full /run, say). */
export function recordSession(record: SessionRecord, dir = SESSIONS_DIR): RecordedSession {
  const path = `${dir}/${record.pid}.json`;
  const write = (content: SessionRecord) => {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeStateFile(path, JSON.stringify(content), { sync: false }); // /run: gone at a reboot anyway
    } catch (error) {
      throw new JailError(`cannot record the session in ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); refusing to start it`);
    }
  };
  write(record);
  return {
    update(change) {
      try {
        write({ ...record, ...change });
      } catch {
        // kept as it was
      }
    },
    forget: () => rmSync(path, { force: true }),
  };
}

/**
 * The records of sessions opened under the PAM session whose process is
 * `pamPid` (the very process: pid and start time), for this uid. Records whose
 * PAM processes are all gone can never match again and are removed.
 */
export function sessionsOf(pamPid: number, uid: number, dir = SESSIONS_DIR): { record: SessionRecord; remove: () => void }[] {
  const found = [];
  for (const { record, file } of readSessionRecords(dir)) {
    const remove = () => rmSync(file, { force: true });
    const alive = record.ancestors.map(stillRunning);
    if (record.uid === uid && alive.includes(pamPid)) found.push({ record, remove });
    else if (alive.every((pid) => pid === null)) remove();
  }
  return found;
}

/** Every session record in `dir` with its file; one being written or removed is skipped. */
function readSessionRecords(dir: string): { record: SessionRecord; file: string }[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const found = [];
  for (const entry of entries) {
    if (!/^\d+\.json$/.test(entry)) continue;
    const file = `${dir}/${entry}`;
    try {
      found.push({ record: JSON.parse(readStateFile(file)) as SessionRecord, file });
    } catch {
      // being written or removed
    }
  }
  return found;
}

/** The records of sessions in jail `jailId` (running or not: see stillRunning), for list and status. */
export function sessionRecordsIn(jailId: string, dir = SESSIONS_DIR): SessionRecord[] {
  return readSessionRecords(dir)
    .map(({ record }) => record)
    .filter((record) => record.jailId === jailId);
}

/**
 * How many sessions handed to the agent of jail `jailId` still run (their
 * attach process lives), other than those of the given host pids: counted from
 * the records root wrote, never by asking the agent (SECURITY.md, invariant 10).
 */
export function agentSessionsIn(jailId: string, uid: number | null, except: number[] = [], dir = SESSIONS_DIR): number {
  return readSessionRecords(dir).filter(
    ({ record }) =>
      record.jailId === jailId &&
      (uid === null || record.uid === uid) &&
      !except.includes(record.pid) &&
      record.agent !== undefined &&
      stillRunning(record.agent) !== null,
  ).length;
}

/**
 * What the PAM hook learnt at a PAM session's open: the user, and what the
 * application (sshd, su) told PAM about where the login comes from. Root's
 * word, unlike anything in the login's environment.
 */
export interface PamSessionRecord {
  /** PAM_USER: whom the session was opened for (the login checks it is who it runs as). */
  user: string;
  service?: string;
  rhost?: string;
  tty?: string;
}

/** One file per PAM session's process, named by its pid and start time: a reused pid never finds another's record. */
function pamSessionPath(pamProcess: ProcessId, dir: string): string {
  return `${dir}/${pamProcess.pid}-${pamProcess.start}.json`;
}

/** Best effort, at open_session: a login without it is still audited, only without what PAM knew. */
export function recordPamSession(pamProcess: ProcessId | null, record: PamSessionRecord, dir = PAM_SESSIONS_DIR): void {
  if (pamProcess === null) return;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeStateFile(pamSessionPath(pamProcess, dir), JSON.stringify(record), { sync: false }); // /run: gone at a reboot anyway
  } catch {
    // see above
  }
}

/**
 * The record of the PAM session a login runs under: the one written for its
 * nearest ancestor that has one (su; sshd's monitor), that very process. Two
 * file opens at most: the warm login stays cheap.
 */
export function pamSessionOf(ancestors: ProcessId[], dir = PAM_SESSIONS_DIR): PamSessionRecord | null {
  for (const ancestor of ancestors) {
    try {
      const record = JSON.parse(readStateFile(pamSessionPath(ancestor, dir), 4096)) as PamSessionRecord;
      if (typeof record.user === 'string') return record;
    } catch {
      // none for this one
    }
  }
  return null;
}

/** At close_session: the record of this PAM session goes, and so do those of PAM sessions whose process is gone (never closed). */
export function forgetPamSession(pamProcess: ProcessId | null, dir = PAM_SESSIONS_DIR): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const [, pid, start] = /^(\d+)-(\d+)\.json$/.exec(entry) ?? [];
    if (pid === undefined) continue;
    const id = { pid: Number(pid), start: Number(start) };
    const closing = pamProcess !== null && id.pid === pamProcess.pid && id.start === pamProcess.start;
    if (closing || stillRunning(id) === null) rmSync(`${dir}/${entry}`, { force: true });
  }
}

/** The parent of a process, from /proc, or null when it is gone. */
export function parentOf(pid: number): number | null {
  const stat = statFieldsOf(pid);
  return stat === null ? null : Number(stat[1]);
}

export { LAST_LOGIN_DIR, LAST_LOGOUT_DIR };

/**
 * Best effort: a full /var/lib must not end a session that has started. A time
 * not recorded only makes gc count the jail idle from an earlier one; a busy
 * jail is never stopped.
 */
export function recordLogin(uid: number, when: Date, dir = LAST_LOGIN_DIR): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeStateFile(`${dir}/${uid}`, when.toISOString(), { sync: false }); // every login: not worth a sync
  } catch {
    // see above
  }
}

export function recordLogout(uid: number, when: Date): void {
  recordLogin(uid, when, LAST_LOGOUT_DIR);
}

export function lastLoginOf(uid: number, dir = LAST_LOGIN_DIR): string | null {
  try {
    return readStateFile(`${dir}/${uid}`);
  } catch {
    return null;
  }
}

export function lastLogoutOf(uid: number): string | null {
  return lastLoginOf(uid, LAST_LOGOUT_DIR);
}

/** Every recorded login and logout of anyone: a shared jail's activity. */
export function lastActivityOfAnyone(): string[] {
  const times: string[] = [];
  for (const dir of [LAST_LOGIN_DIR, LAST_LOGOUT_DIR]) {
    let uids: string[] = [];
    try {
      uids = readdirSync(dir);
    } catch {
      // none recorded yet
    }
    for (const uid of uids) times.push(lastLoginOf(Number(uid), dir) ?? '');
  }
  return times;
}
