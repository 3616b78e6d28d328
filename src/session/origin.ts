import type { LoginOrigin } from '../audit/syslog';
import { terminalOfSelf } from '../host/procfs';
import { type PamSessionRecord, type ProcessId, pamSessionOf, parentOf, processId } from './records';

/** SSH_CONNECTION as sshd writes it (`CLIENT PORT SERVER PORT`); the launcher let only these bytes through, checked again here. */
const SSH_CONNECTION = /^[0-9A-Fa-f.: ]{1,200}$/;

/** The PAM session's processes: our parent (su) or grandparent (sshd's monitor). */
export function loginAncestors(): ProcessId[] {
  return [processId(process.ppid), processId(parentOf(process.ppid))].filter((p): p is ProcessId => p !== null);
}

/**
 * Where this login comes from, for its audit records only: nothing here
 * decides anything. What the PAM hook recorded for the PAM session we run
 * under is root's word; the terminal is the kernel's; SSH_CONNECTION is the
 * environment's, kept only as a claim (SECURITY.md, invariant 3). No
 * subprocess and no engine request: the warm login stays cheap. `pamUser` is
 * the user PAM opened the session for, to name in a refusal when nothing else
 * could be resolved; once the user is known, PAM's fields stay only if it is
 * them (originOf).
 */
export function loginOrigin(ancestors: ProcessId[], env: NodeJS.ProcessEnv, tty: boolean): { origin: LoginOrigin; pamUser: string | null } {
  const pam: PamSessionRecord | null = pamSessionOf(ancestors);
  const ttyName = tty ? terminalOfSelf(0) : null;
  const claimed = env.SSH_CONNECTION;
  const origin: LoginOrigin = {
    ...(pam?.service !== undefined ? { service: pam.service } : {}),
    ...(pam?.rhost !== undefined ? { rhost: pam.rhost } : {}),
    ...(pam?.tty !== undefined ? { pamTty: pam.tty } : {}),
    ...(ttyName !== null ? { ttyName } : {}),
    ...(claimed !== undefined && SSH_CONNECTION.test(claimed) ? { claimedConnection: claimed } : {}),
  };
  return { origin, pamUser: pam?.user ?? null };
}

/** The origin without what PAM said, when PAM opened the session for someone else than `user` (never expected: su, sshd). */
export function originOf(origin: LoginOrigin, pamUser: string | null, user: string): LoginOrigin {
  if (pamUser === null || pamUser === user) return origin;
  const { service, rhost, pamTty, ...rest } = origin;
  return rest;
}
