import type { Engine } from '../engine/client';
import { startedAtOf, startTimeOf, type TerminalSeen, terminalOf, ttyNameOf } from '../host/procfs';
import { type ProcessId, parentOf, type SessionRecord, sessionRecordsIn, stillRunning } from './records';

/** One running session of a jail, as `list` and `status` show it (like a line of w(1)). */
export interface SessionRow {
  /** Where the login came from (PAM_RHOST), when recorded. */
  rhost: string | null;
  /** Its terminal: as PAM named it when recorded, else the pty it reads from; null without one. */
  tty: string | null;
  /** When it started, ISO 8601. */
  since: string;
  /** Seconds since its terminal last had input (its atime, as w reads it); null without a terminal, or when unknown. */
  idleSeconds: number | null;
  /** What it runs: the `-c` command, or `-SHELL` for a login shell; null when unknown. */
  command: string | null;
}

/** A running docker exec in the jail, as the engine inspects it. */
export interface ExecSeen {
  /** Its host pid. */
  pid: number;
  command: string;
}

/** What sessionRows reads of the host: /proc, and the time now. Unit tests give their own. */
export interface SessionProbe {
  stillRunning(id: ProcessId | null): number | null;
  parentOf(pid: number): number | null;
  /** The terminal on fd 0 of a login's host process, with its last input. */
  terminalOf(pid: number): TerminalSeen | null;
  /** The name alone of the pty on fd 0 of a process in the jail. */
  ttyNameOf(pid: number): string | null;
  /** When the process with this pid started (ISO 8601), or null when gone. */
  startedAt(pid: number): string | null;
  now: number;
}

const HOST_PROBE: Omit<SessionProbe, 'now'> = {
  stillRunning,
  parentOf,
  terminalOf,
  ttyNameOf,
  startedAt(pid) {
    const start = startTimeOf(pid);
    return start === null ? null : (startedAtOf(start)?.toISOString() ?? null);
  },
};

/**
 * The sessions running in a jail, one row each: those handed to its agent (a
 * record whose attach process lives) and those by docker exec (each running
 * exec, with the record of the login that started it when there is one; one
 * started by hand or by `docker-jail shell` has none). The same sessions
 * sessionsIn counts.
 */
export function sessionRows(records: SessionRecord[], execs: ExecSeen[], probe: SessionProbe): SessionRow[] {
  const rows: { row: SessionRow; order: number }[] = [];
  const add = (record: SessionRecord | null, hostPid: number | null, jailPid: number | null, command: string | null) => {
    // The login's host process reads the client's terminal (sshd's pty): its input is the user's typing. Of a
    // session in the jail alone (docker-jail shell, a docker exec by hand), only its pty's name is read.
    const terminal = hostPid === null ? null : probe.terminalOf(hostPid);
    const jailTty = terminal === null && jailPid !== null ? probe.ttyNameOf(jailPid) : null;
    const since = record?.startedAt ?? probe.startedAt(hostPid ?? jailPid ?? -1) ?? new Date(probe.now).toISOString();
    rows.push({
      order: Date.parse(since),
      row: {
        rhost: record?.rhost ?? null,
        tty: record?.tty ?? terminal?.tty ?? jailTty,
        since,
        idleSeconds: terminal === null ? null : Math.max(0, Math.floor((probe.now - terminal.lastInputMs) / 1000)),
        command: record?.command ?? (command || null),
      },
    });
  };
  for (const record of records) {
    if (record.agent === undefined || record.agent === null) continue;
    const attach = probe.stillRunning(record.agent);
    if (attach !== null) add(record, attach, null, null);
  }
  for (const exec of execs) {
    const record = records.find((r) => r.exec !== null && r.exec.pid === exec.pid && probe.stillRunning(r.exec) !== null) ?? null;
    add(record, record === null ? null : loginProcessOf(record, probe), exec.pid, exec.command);
  }
  return rows.sort((a, b) => a.order - b.order).map((r) => r.row);
}

/** The root process relaying an exec session (the record's pid), if it still is: its parent still the PAM session's process that started it. */
function loginProcessOf(record: SessionRecord, probe: SessionProbe): number | null {
  const parent = probe.stillRunning(record.ancestors[0] ?? null);
  return parent !== null && probe.parentOf(record.pid) === parent ? record.pid : null;
}

/** The sessions running in the jail `jailId`, whose execs the engine listed as `execIds`; root's records and /proc say the rest. */
export async function sessionsShown(engine: Engine, jailId: string, execIds: string[]): Promise<SessionRow[]> {
  const execs: ExecSeen[] = [];
  for (const id of execIds) {
    const exec = await engine.control
      .getExec(id)
      .inspect()
      .catch(() => null);
    if (exec?.Running && exec.Pid > 0) {
      const config = exec.ProcessConfig;
      execs.push({ pid: exec.Pid, command: [config?.entrypoint ?? '', ...(config?.arguments ?? [])].join(' ').trim() });
    }
  }
  return sessionRows(sessionRecordsIn(jailId), execs, { ...HOST_PROBE, now: Date.now() });
}
