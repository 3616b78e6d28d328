
/**
 * Sessions through the jail's own agent (agent/agent.c): a static program
 * bind-mounted read-only into every per-user jail, run there as its init with
 * the owner's uid and groups and all of the jail's confinement. It makes the
 * session's pty inside the jail and takes the caller's fds 0-2 over a unix
 * socket from docker-jail-attach (agent/attach.c), which this program becomes,
 * as the user, once everything privileged is done. No root process, and no
 * Node process, of a session stays on the host (SECURITY.md, invariant 10).
 *
 * Root never connects to the agent's socket, nor opens anything in its
 * directory (which the user owns): whether the agent listens is read from
 * /proc (its own socket table and fds), and only attach, running as the user,
 * connects; attach checks its peer is a process of this jail's cgroup with
 * the user's uid before it sends a byte.
 */

/** The agent on the host, bind-mounted read-only at the same path into each agent jail. */
export const AGENT_PROGRAM = '/usr/lib/docker-jail/docker-jail-agent';

/** The attach program root becomes, as the user, to hand the session over. */
export const ATTACH_PROGRAM = '/usr/lib/docker-jail/docker-jail-attach';

/** The agent's directory inside the jail: its socket lives here. */
export const AGENT_DIR_IN_JAIL = '/run/docker-jail-agent';

export const AGENT_SOCKET_NAME = 'socket';

/** The agent's directory in the jail's scratch filesystem (bounded, unlike /run's tmpfs), owned by the user, 0700. */
export const AGENT_DIR_IN_SCRATCH = 'agent';

/** Root-only: what the last slow path learned about each uid's agent, so a warm login needs no engine request. */
export const AGENT_STATE_DIR = '/run/docker-jail/agents';

/** The agent's directory on the host, given where the jail's scratch filesystem is mounted. */
export function agentDirOf(scratchMount: string): string {
  return `${scratchMount}/${AGENT_DIR_IN_SCRATCH}`;
}

export const JAILSH = '/usr/bin/jailsh';
