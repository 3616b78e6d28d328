import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { isatty } from 'node:tty';
import { countRefusal } from '../audit/counters';
import { auditLog, formatRecord, type LoginOrigin } from '../audit/syslog';
import { loadConfig } from '../config/load';
import type { Config } from '../config/types';
import { connectEngine, type Engine } from '../engine/client';
import { ExitCode, JailError } from '../errors';
import { withHostLock } from '../host/locks';
import { checkHomeBase } from '../host/mounts';
import { jailProcesses } from '../host/procfs';
import type { Identity } from '../identity/nss';
import { jailCgroupOf } from '../jail/cgroup';
import { placementOf } from '../jail/placement';
import { prepareJail } from '../jail/prepare';
import { jailableIdentity } from '../policy/access';
import { whitelistedEnv } from '../policy/environment';
import { type AgentState, descriptorsTheirs } from './agent';
import { handOverToAgent, readyAgent, recordAgentSession, warmAgentSession } from './agentSession';
import { runExecSession, type StartedExec, startExecSession } from './execSession';
import { loginAncestors, loginOrigin, originOf } from './origin';
import { agentSessionsIn, type ProcessId, type RecordedSession } from './records';
import type { LoginIo } from './relay';
import type { Login } from './session';

/** What the launcher hands over: `shell --login|--no-login -- [-c COMMAND]`. */
export interface ShellArgs {
  login: boolean;
  command: string | null;
}

export function parseShellArgs(args: string[]): ShellArgs {
  const [loginFlag, separator, ...rest] = args;
  if ((loginFlag !== '--login' && loginFlag !== '--no-login') || separator !== '--') {
    throw new JailError('usage: docker-jail shell --login|--no-login -- [-c command]', ExitCode.usage);
  }
  if (rest.length === 0) return { login: loginFlag === '--login', command: null };
  if (rest.length === 2 && rest[0] === '-c') return { login: loginFlag === '--login', command: rest[1] };
  throw new JailError('usage: jailsh [-c command]', ExitCode.usage);
}

/**
 * The command reaches the engine as JSON text, so bytes that are not UTF-8
 * would arrive changed (each as U+FFFD): refused instead. Node decodes argv
 * before we see it, so the kernel's copy of the arguments is checked.
 */
export function checkTextArguments(cmdline: Buffer = readFileSync('/proc/self/cmdline')): void {
  // The NUL separators are UTF-8 themselves, and no valid sequence spans one: one pass checks every argument.
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(cmdline);
  } catch {
    throw new JailError('the command is not valid UTF-8 text; the Docker engine can only be given text', ExitCode.usage);
  }
}

/** The caller's real uid, as the setuid launcher recorded it before becoming root. */
export function callerUid(env: NodeJS.ProcessEnv): number {
  const text = env.DOCKER_JAIL_UID ?? '';
  if (!/^\d{1,10}$/.test(text)) throw new JailError('jailsh must be started through /usr/bin/jailsh', ExitCode.refused);
  return Number(text);
}

/**
 * The jailed shell's argv. A small sh prologue falls back to /bin/sh when the
 * configured shell is missing from the image.
 */
export function jailArgv(shell: string, args: ShellArgs): string[] {
  const shellArgs = [...(args.login ? ['-l'] : []), ...(args.command !== null ? ['-c', args.command] : [])];
  const prologue = 'if [ -x "$1" ]; then s="$1"; else s=/bin/sh; fi; shift; exec "$s" "$@"';
  return ['/bin/sh', '-c', prologue, 'jailsh', shell, ...shellArgs];
}

/**
 * 12 random bytes from the kernel, in hex, that mark the session's processes.
 * Read from /dev/urandom directly: node:crypto alone adds about 5 ms to the
 * start of every login.
 */
export function sessionToken(): string {
  const token = Buffer.alloc(12);
  const fd = openSync('/dev/urandom', 'r');
  try {
    if (readSync(fd, token) !== token.length) throw new JailError('/dev/urandom gave too few bytes');
  } finally {
    closeSync(fd);
  }
  return token.toString('hex');
}

/** `shell` mode: everything between the launcher and the user's shell in their jail. */
export async function runShell(args: string[], io: LoginIo): Promise<number> {
  if (process.getuid?.() !== 0 || process.geteuid?.() !== 0) {
    throw new JailError('jailsh must be started through /usr/bin/jailsh (setuid root)', ExitCode.refused);
  }
  const shellArgs = parseShellArgs(args);
  checkTextArguments();
  const uid = callerUid(process.env);
  // Taken first: a login dropped while its session starts (sshd gone, this process reparented) is seen as a hangup.
  const loginParent = process.ppid;
  const ancestors = loginAncestors();
  const { origin, pamUser } = loginOrigin(ancestors, process.env, isatty(0));
  // Who it is: PAM's user until the user database has answered.
  const context: LoginContext = { ancestors, origin, pamUser, user: pamUser ?? undefined };
  try {
    return await runSession(uid, shellArgs, io, context, loginParent);
  } catch (error) {
    // Refusals and failures are audited too: root or an administrator trying jailsh, an unsafe config, a dead engine.
    const reason = error instanceof Error ? error.message : String(error);
    countRefusal(error);
    await auditLog(formatRecord('refused', { user: context.user, uid, ...context.origin, reason, command: shellArgs.command }), 'notice');
    throw error;
  }
}

/** What runShell worked out before the session, for its records: the PAM session's processes, where the login comes from, who it is once known. */
interface LoginContext {
  ancestors: ProcessId[];
  origin: LoginOrigin;
  pamUser: string | null;
  user: string | undefined;
}

/**
 * The privileged login, top to bottom: who the user is, where their jail
 * stands, then either the running jail's agent takes the session at once
 * (warm), or, under the jail's lock, the jail is made ready and the session
 * goes to its agent or through docker exec.
 */
async function runSession(uid: number, shellArgs: ShellArgs, io: LoginIo, context: LoginContext, loginParent: number): Promise<number> {
  const config = loadConfig();
  const identity = jailableIdentity(uid, config);
  context.user = identity.user;
  context.origin = originOf(context.origin, context.pamUser, identity.user);
  // First, so the refusal names [home] bases, not what the home would have been mounted over (SECURITY.md invariant 6).
  checkHomeBase(identity.home, config.home.bases);
  const login = describeLogin(config, identity, shellArgs, loginParent, context);
  // Only the user's own descriptors ever enter their jail (root's terminal under `su - USER` never does).
  const viaAgent = config.jail.mode === 'per-user' && descriptorsTheirs(uid);

  const warm = viaAgent ? warmAgentSession(login) : null;
  if (warm !== null) return handOverToAgent(login, warm.state, warm.record);

  const engine = connectEngine(config.engine.socket);
  // Racing logins of one user (in shared mode, of anyone) take turns until their session has started: the staging
  // mount and the jail's files are never made twice at once, and no session starts while its passwd is rewritten.
  const ready = await withHostLock(login.placement.lock, () => readySession(engine, login, viaAgent));
  if (ready.via === 'agent') return handOverToAgent(login, ready.agent, ready.record);
  return runExecSession(engine, login, ready.started, io);
}

/** Everything about this login's session that does not depend on how it runs, worked out before any jail is touched. */
function describeLogin(config: Config, identity: Identity, shellArgs: ShellArgs, loginParent: number, context: LoginContext): Login {
  const placement = placementOf(config, identity);
  const marker = `DOCKER_JAIL_SESSION=${sessionToken()}`;
  const env = [
    ...whitelistedEnv(process.env, config.session.envWhitelist),
    `HOME=${placement.homeTarget}`,
    `USER=${identity.user}`,
    `LOGNAME=${identity.user}`,
    `SHELL=${config.session.shell}`,
    'PATH=/usr/local/bin:/usr/bin:/bin',
    // The engine resolves symbolic links in the working directory (shared mode's home is one); shells keep a valid PWD.
    `PWD=${placement.workdir}`,
    marker,
  ];
  const { ancestors, origin } = context;
  return {
    config,
    identity,
    placement,
    shellArgs,
    tty: isatty(0),
    marker,
    env,
    argv: jailArgv(config.session.shell, shellArgs),
    ancestors,
    loginParent,
    origin,
  };
}

type ReadySession = { via: 'agent'; agent: AgentState; record: RecordedSession } | { via: 'exec'; started: StartedExec };

/**
 * Under the jail's lock: the jail made ready, and the session either recorded
 * for its agent or started by docker exec. Recorded under the lock: once it is
 * released, whoever takes it next sees this session.
 */
async function readySession(engine: Engine, login: Login, viaAgent: boolean): Promise<ReadySession> {
  const { config, identity, placement } = login;
  let jail = await prepareJail(engine, config, identity, placement);
  // Read once, while the jail surely runs: its processes are those in exactly these cgroups.
  let cgroup = await jailCgroupOf(engine, jail.id);
  let agent = jail.agent && viaAgent ? await readyAgent(jail, cgroup, identity) : null;
  if (jail.agent && viaAgent && agent === null && jailProcesses(cgroup, null).length === 0 && agentSessionsIn(jail.id, null, [process.pid]) === 0) {
    // Its agent cannot take the session (stopped or traced, its socket removed, the user's groups changed), and
    // nothing of the user's runs there: started anew (made anew, for other groups), it can.
    // A stop that fails leaves it running: its agent is asked once more, and docker exec serves the session.
    await engine.control
      .getContainer(jail.id)
      .stop(2)
      .catch(() => undefined);
    jail = await prepareJail(engine, config, identity, placement);
    cgroup = await jailCgroupOf(engine, jail.id);
    agent = jail.agent ? await readyAgent(jail, cgroup, identity) : null;
  }
  if (agent !== null) return { via: 'agent', agent, record: recordAgentSession(login, agent) };
  return { via: 'exec', started: await startExecSession(engine, login, jail, cgroup) };
}
