import { loginUidOfSelf } from '../host/procfs';
import { hostNss, type Nss } from './nss';

/**
 * The human behind an administrator's command, for its audit records only:
 * nothing here decides anything. The kernel's audit login uid survives su and
 * sudo (it is set once, when a login session starts); SUDO_USER is whatever
 * the caller's environment said, recorded as such.
 */
export interface Actor {
  /** The audit login uid; null when unset (a timer, a daemon, a kernel without audit). */
  loginUid: number | null;
  /** Its name in the user database; null when unset or not found. */
  loginUser: string | null;
  /** SUDO_USER as it was in the environment, printable and at most 64 characters; null when not set. */
  sudoUser: string | null;
}

const MAX_SUDO_USER = 64;

/** Who acts: read from /proc and NSS, never failing (an NSS error leaves the name out). */
export function actingHuman(sudoUser: string | undefined, nss: Nss = hostNss): Actor {
  const loginUid = loginUidOfSelf();
  let loginUser: string | null = null;
  if (loginUid !== null) {
    try {
      loginUser = nss.passwdByUid(loginUid)?.split(':')[0] ?? null;
    } catch {
      // recorded by uid alone
    }
  }
  const sudo = sudoUser === undefined || sudoUser === '' ? null : sudoUser.replace(/[^\x21-\x7e]/g, '?').slice(0, MAX_SUDO_USER);
  return { loginUid, loginUser, sudoUser: sudo };
}
