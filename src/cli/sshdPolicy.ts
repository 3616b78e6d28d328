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
\tDisableForwarding yes
\tAllowAgentForwarding no
\tAllowTcpForwarding no
\tAllowStreamLocalForwarding no
\tX11Forwarding no
\tPermitTunnel no
\tGatewayPorts no
\tPermitUserRC no
`;
}
