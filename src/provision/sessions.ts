import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * What a running session leaves for the PAM hook's close_session: enough to
 * hang up (or kill) its processes in the jail even when the shell's own
 * process was killed and could not do it. One root-only file per session.
 */
export const SESSIONS_DIR = '/run/docker-jail/sessions';

export interface SessionRecord {
  /** Pid of the shell-mode process (jailsh) on the host. */
  pid: number;
  /** Its parent and grandparent: the PAM session's process is one of them (su; sshd's monitor). */
  ancestors: number[];
  uid: number;
  jailId: string;
  /** Host pid of the session's process in the jail, or null when it ended at once. */
  execPid: number | null;
  marker: string;
}

export function recordSession(record: SessionRecord, dir = SESSIONS_DIR): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = `${dir}/${record.pid}.json`;
  writeFileSync(`${path}.tmp`, JSON.stringify(record), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
  return () => rmSync(path, { force: true });
}

/** The records of sessions opened under the PAM session whose process is `pamPid`, for this uid. */
export function sessionsOf(pamPid: number, uid: number, dir = SESSIONS_DIR): { record: SessionRecord; remove: () => void }[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const found = [];
  for (const entry of entries) {
    if (!/^\d+\.json$/.test(entry)) continue;
    try {
      const record = JSON.parse(readFileSync(`${dir}/${entry}`, 'utf8')) as SessionRecord;
      if (record.uid === uid && record.ancestors.includes(pamPid)) found.push({ record, remove: () => rmSync(`${dir}/${entry}`, { force: true }) });
    } catch {
      // being written or removed
    }
  }
  return found;
}

/** The parent of a process, from /proc, or null when it is gone. */
export function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}
