import type { LoginOrigin } from '../audit/syslog';
import type { Config } from '../config/types';
import type { Identity } from '../identity/nss';
import type { Placement } from '../jail/placement';
import type { ShellArgs } from './login';
import type { ProcessId } from './records';

/**
 * One login's session, as worked out before any jail is touched, whichever
 * way it then runs: handed to the running jail's agent (agentSession.ts: the
 * login becomes the user's attach process, no root process stays), or started
 * by docker exec and relayed by this root process (execSession.ts: shared mode,
 * jails made before the agent, and sessions whose descriptors are not the
 * user's own).
 */
export interface Login {
  config: Config;
  identity: Identity;
  placement: Placement;
  shellArgs: ShellArgs;
  /** Whether fd 0 is a terminal: the session then gets a pty inside the jail. */
  tty: boolean;
  /** `DOCKER_JAIL_SESSION=<random>` in the session's environment: what it started is found by it. */
  marker: string;
  env: string[];
  argv: string[];
  /** The PAM session's processes (our parent, su, or grandparent, sshd's monitor): close_session finds its records by them. */
  ancestors: ProcessId[];
  /** Our parent when the login began: once it is gone, the client is. */
  loginParent: number;
  /** Where the login comes from (PAM service, remote host, terminal), for the audit records only. */
  origin: LoginOrigin;
}
