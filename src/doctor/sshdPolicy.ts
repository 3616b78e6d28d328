/**
 * What the drop-in sets for the jail group, as sshd_config(5) spells it. doctor
 * holds sshd's effective values (sshd -T, lower case) and every Match block read
 * ahead of the drop-in to these (SECURITY.md invariant 8).
 */
export const JAILED_SSHD_SETTINGS: readonly (readonly [keyword: string, value: string])[] = [
  ['DisableForwarding', 'yes'],
  ['AllowAgentForwarding', 'no'],
  ['AllowTcpForwarding', 'no'],
  ['AllowStreamLocalForwarding', 'no'],
  ['X11Forwarding', 'no'],
  ['PermitTunnel', 'no'],
  ['GatewayPorts', 'no'],
  ['PermitUserRC', 'no'],
];

/** Where the package installs the drop-in (debian/docker-jail.install). */
export const SSHD_DROP_IN = '/etc/ssh/sshd_config.d/docker-jail.conf';

/**
 * The sshd drop-in for the jailed group (etc/ssh/sshd_config.d/docker-jail.conf
 * is this text for the default group; a test holds the two together).
 * The group name comes from the validated config: letters, digits, _ . - only.
 */
export function renderSshdPolicy(jailGroup: string): string {
  return `# docker-jail: what sshd allows members of the jail group.
#
# A jailed user's login shell puts them in their jail, but sshd itself can do
# things on the host before or beside that shell: forward ports and sockets to
# the host's loopback services and the Docker socket, and run ~/.ssh/rc (and
# xauth for X11) through the host's own /bin/sh, in an environment the user
# fills through ~/.pam_environment (LD_PRELOAD: code on the host). So none of
# that is allowed for them. Administrators and other users are not affected.
#
# sshd applies this block only when it can look the group up, and cannot see
# the login shell: should the group lookup fail (a directory outage), the PAM
# account rule of docker-jail refuses anyone whose shell is jailsh instead.
#
# Written by: docker-jail sshd-policy > /etc/ssh/sshd_config.d/docker-jail.conf
# for jail_group of /etc/docker-jail.ini. Keep sshd's sftp Subsystem an
# external program (not internal-sftp): an in-process sftp server would serve
# the host's files, not the jail's.

Match Group ${jailGroup}
${JAILED_SSHD_SETTINGS.map(([keyword, value]) => `\t${keyword} ${value}\n`).join('')}`;
}
