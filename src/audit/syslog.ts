import { spawn } from 'node:child_process';

/**
 * Where a login came from. service, rhost and pamTty are root's word: what
 * the application (sshd, su) told PAM, recorded by the PAM hook for the PAM
 * session the login runs under. ttyName is the kernel's name of the login's
 * standard input. claimedConnection is SSH_CONNECTION from the login's
 * environment: sshd sets it, but PermitUserEnvironment would let the user
 * write it, so it is recorded as a claim and never acted on.
 */
export interface LoginOrigin {
  service?: string;
  rhost?: string;
  pamTty?: string;
  ttyName?: string;
  claimedConnection?: string;
}

/** What every audit record of a session carries (DESIGN: user, jail, command, tty, exit status, duration), and where it came from. */
export interface AuditFields extends LoginOrigin {
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

/** A value of a record: strings are quoted and escaped, numbers and booleans written as they are, `{ word }` bare (`loginuid=unset`). */
export type AuditValue = string | number | boolean | { word: string } | null | undefined;

/** Longest quoted value in a record: logger(1) cuts a message at 1 KiB, and what matters most must come first. */
const MAX_VALUE = 400;

/**
 * Renders a record as `EVENT key=value...`. Strings are quoted with every
 * byte outside printable ASCII escaped, so no value (a command, an argument,
 * a user name) can forge fields or lines, then capped; `last` comes last so a
 * long one never hides what comes before it (the exit status). Absent values
 * are left out. logcheck's rules (etc/logcheck/docker-jail) rely on this grammar.
 */
export function formatFields(event: string, fields: Record<string, AuditValue>, last?: [string, AuditValue]): string {
  const parts: string[] = [event];
  for (const [key, value] of [...Object.entries(fields), ...(last ? [last] : [])]) {
    if (value === undefined || value === null) continue;
    parts.push(`${key}=${typeof value === 'string' ? quote(value) : typeof value === 'object' ? value.word : String(value)}`);
  }
  return parts.join(' ');
}

/** A session's record: `session=start|end|refused`, the command last. */
export function formatRecord(event: 'start' | 'end' | 'refused', record: Partial<AuditFields> & { reason?: string }): string {
  const { command, ...rest } = record;
  return formatFields(`session=${event}`, rest, ['command', command]);
}

/** The PAM hook's records: `pam=open_session` (the home and jail made ready) and `pam=failed` (why a login went on without it). */
export function formatPamRecord(event: 'open_session' | 'failed', fields: Record<string, AuditValue>): string {
  return formatFields(`pam=${event}`, fields);
}

/** An administrator's command, `admin=start` before it runs and `admin=end` with its exit status; its arguments last. */
export function formatAdminRecord(phase: 'start' | 'end', fields: Record<string, AuditValue>, args: readonly string[]): string {
  return formatFields(`admin=${phase}`, fields, ['args', args.map(shellWord).join(' ')]);
}

/** Something of a user's that root removed (gc, image update, a roll at logout): `jail=removed`, `scratch=removed`. */
export function formatRemovalRecord(what: 'jail' | 'scratch', fields: Record<string, AuditValue>): string {
  return formatFields(`${what}=removed`, fields);
}

/** An argument as a shell would need it typed, so the arguments' boundaries survive being joined (then quoted as any value). */
function shellWord(arg: string): string {
  return /^[A-Za-z0-9_.,:/=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
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
