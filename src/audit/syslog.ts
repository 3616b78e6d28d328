import { spawn } from 'node:child_process';

/** What every audit record of a session carries (DESIGN: user, jail, command, tty, exit status, duration). */
export interface SessionRecord {
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

/** Renders a record as key=value pairs; values are JSON-quoted so a command cannot forge fields. */
export function formatRecord(event: 'start' | 'end' | 'refused', record: Partial<SessionRecord> & { reason?: string }): string {
  const fields: string[] = [`session=${event}`];
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    const text = typeof value === 'string' ? JSON.stringify(value.length > 512 ? `${value.slice(0, 512)}...` : value) : String(value);
    fields.push(`${key}=${text}`);
  }
  return fields.join(' ');
}

/**
 * Sends one line to syslog's authpriv facility through logger(1), a root-owned
 * binary at a fixed path run with an empty environment (Node has no syslog of
 * its own). Resolves when logger has finished; never throws: a login is not
 * refused because syslog is down.
 */
export function auditLog(message: string, priority: 'info' | 'notice' | 'warning' = 'info'): Promise<void> {
  return new Promise((resolve) => {
    try {
      const child = spawn('/usr/bin/logger', ['-p', `authpriv.${priority}`, '-t', 'docker-jail', `--id=${process.pid}`, '--', message], {
        env: {},
        stdio: 'ignore',
      });
      child.on('error', () => resolve());
      child.on('close', () => resolve());
    } catch {
      resolve();
    }
  });
}
