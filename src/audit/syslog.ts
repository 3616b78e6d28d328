import { spawn } from 'node:child_process';

/** What every audit record of a session carries (DESIGN: user, jail, command, tty, exit status, duration). */
export interface AuditFields {
  user: string;
  uid: number;
  jail: string;
  tty: boolean;
  command: string | null;
  /** Present on the end record only. */
  exitStatus?: number;
  durationMs?: number;
  hangup?: boolean;
}

/** Longest quoted value in a record: logger(1) cuts a message at 1 KiB, and what matters most must come first. */
const MAX_VALUE = 400;

/**
 * Renders a record as key=value pairs. Strings are quoted with every byte
 * outside printable ASCII escaped, so a command cannot forge fields or lines,
 * then capped; the command comes last so a long one never hides the exit status.
 */
export function formatRecord(event: 'start' | 'end' | 'refused', record: Partial<AuditFields> & { reason?: string }): string {
  const { command, ...rest } = record;
  const fields: string[] = [`session=${event}`];
  for (const [key, value] of [...Object.entries(rest), ['command', command] as const]) {
    if (value === undefined) continue;
    fields.push(`${key}=${typeof value === 'string' ? quote(value) : String(value)}`);
  }
  return fields.join(' ');
}

function quote(value: string): string {
  const escaped = value.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > MAX_VALUE ? `"${escaped.slice(0, MAX_VALUE).replace(/\\[^"]{0,5}$/, '')}..."` : `"${escaped}"`;
}

/** A syslog that stopped reading (/dev/log full) must not hold a root process: logger is given up on after this. */
const LOGGER_TIMEOUT_MS = 5000;

/**
 * Sends one line to syslog's authpriv facility through logger(1), a root-owned
 * binary at a fixed path run with an empty environment (Node has no syslog of
 * its own). Resolves when logger has finished, or was killed after
 * LOGGER_TIMEOUT_MS; never throws: a login is not refused because syslog is down.
 */
export function auditLog(message: string, priority: 'info' | 'notice' | 'warning' = 'info', outlivesUs = false): Promise<void> {
  const logger = ['/usr/bin/logger', '-p', `authpriv.${priority}`, '-t', 'docker-jail', `--id=${process.pid}`, '--', message];
  // A logger that runs on after this process has become another program (a session handed to the jail's agent)
  // has no one to kill it: timeout(1) does, so a syslog that stopped reading keeps no root process.
  const [file, ...args] = outlivesUs ? ['/usr/bin/timeout', '-s', 'KILL', String(LOGGER_TIMEOUT_MS / 1000), ...logger] : logger;
  return new Promise((resolve) => {
    try {
      const child = spawn(file, args, {
        env: {},
        stdio: 'ignore',
        timeout: LOGGER_TIMEOUT_MS,
      });
      child.on('error', () => resolve());
      child.on('close', () => resolve());
    } catch {
      resolve();
    }
  });
}
