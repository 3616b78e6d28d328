import { JAILSH } from '../host/paths';

/** The pam-auth-update profile the package ships (pam/docker-jail); pam-auth-update writes it into /etc/pam.d/common-*. */
export const PAM_PROFILE = '/usr/share/pam-configs/docker-jail';
export const COMMON_ACCOUNT = '/etc/pam.d/common-account';

/**
 * The PAM services that run the user's login shell from passwd, so that a
 * jailed user's session goes through jailsh (SECURITY.md invariant 9). `remote`
 * is login's service for remote logins (telnet, rlogin). Everything else
 * (cron, atd, ftp daemons, cockpit, xrdp, display managers, systemd-user)
 * runs its own program on the host and is refused. runuser is not listed and
 * need not be: it is root's, and runs no account check at all.
 */
export const LOGIN_SHELL_SERVICES = ['sshd', 'login', 'remote', 'su', 'su-l'] as const;

/** su can be told to run another shell (-s, -m); only root may do that to a jailed user, so su to them is root's only. */
export const SU_SERVICES = ['su', 'su-l'] as const;

/**
 * The account-phase rule, as lines of a PAM stack (control, module, arguments).
 * The profile is static (pam/docker-jail is this for jailed and admins; a test
 * holds the two together, and doctor fails when the config names other
 * groups). Root and the exempt group are skipped first, by pam_succeed_if
 * alone: nothing of docker-jail runs, so they log in with the engine down.
 * Anyone in the jail group, or whose login shell is jailsh, must then have
 * jailsh as their shell, come through a service that runs it, and be provably
 * in the jail group (not so when the group cannot be looked up); the refusal
 * is logged by pam_succeed_if (authpriv), naming the user and the unmet
 * requirement.
 */
export function renderPamAccountRule(jailGroup: string, exemptGroup: string): string[] {
  return [
    '[success=5 default=ignore]\tpam_succeed_if.so quiet uid eq 0',
    `[success=4 default=ignore]\tpam_succeed_if.so quiet user ingroup ${exemptGroup}`,
    `[success=3 default=ignore]\tpam_succeed_if.so quiet shell != ${JAILSH} user notingroup ${jailGroup}`,
    // The last test fails closed when the jail group cannot be looked up: sshd's Match Group policy would not apply then.
    `required\tpam_succeed_if.so quiet_success shell = ${JAILSH} service in ${LOGIN_SHELL_SERVICES.join(':')} user ingroup ${jailGroup}`,
    `[success=1 default=ignore]\tpam_succeed_if.so quiet service notin ${SU_SERVICES.join(':')}`,
    'required\tpam_succeed_if.so quiet_success use_uid uid eq 0',
  ];
}

/** Whether a PAM stack file (common-account as pam-auth-update wrote it) carries the rule, whitespace aside. */
export function carriesPamAccountRule(stack: string, jailGroup: string, exemptGroup: string): boolean {
  const squeeze = (line: string) => line.trim().replace(/\s+/g, ' ');
  const lines = stack.split('\n').map(squeeze);
  const rule = renderPamAccountRule(jailGroup, exemptGroup).map((line) => squeeze(`account ${line}`));
  const start = lines.indexOf(rule[0]);
  return start >= 0 && rule.every((line, i) => lines[start + i] === line);
}
