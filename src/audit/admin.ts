import { ExitCode, JailError } from '../errors';
import { type AuditValue, auditLog, formatAdminRecord } from './syslog';

/** Who runs an administrator's command, as identity/actor.ts found it. */
export interface AdminActor {
  loginUid: number | null;
  loginUser: string | null;
  sudoUser: string | null;
}

/**
 * Runs an administrator's command between two authpriv records: `admin=start`
 * (so a command killed midway is still on record) and `admin=end` with its exit
 * status and, when it failed, why. Each names the command, the process's uid
 * and the acting human (the audit login uid and its name, SUDO_USER as
 * claimed); the arguments come last. The command's own error is thrown on.
 */
export async function runAudited(command: string, args: readonly string[], actor: AdminActor, run: () => Promise<number>): Promise<number> {
  const who: Record<string, AuditValue> = {
    command,
    uid: process.getuid?.() ?? null,
    loginuid: actor.loginUid ?? { word: 'unset' },
    loginUser: actor.loginUser,
    sudoUser: actor.sudoUser,
  };
  await auditLog(formatAdminRecord('start', who, args), 'notice');
  const started = Date.now();
  let status: number;
  try {
    status = await run();
  } catch (error) {
    // As main.ts reports it: a JailError's own status, anything else 1.
    const exitStatus = error instanceof JailError ? error.exitCode : ExitCode.failure;
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    await auditLog(formatAdminRecord('end', { ...who, exitStatus, durationMs: Date.now() - started, reason }, args), 'notice');
    throw error;
  }
  await auditLog(formatAdminRecord('end', { ...who, exitStatus: status, durationMs: Date.now() - started }, args), 'notice');
  return status;
}
