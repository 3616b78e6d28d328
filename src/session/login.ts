import { closeSync, lstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { isatty } from 'node:tty';
import { auditLog, formatRecord } from '../audit/syslog';
import { loadConfig } from '../config/load';
import type { Config } from '../config/types';
import { connectEngine, type Engine } from '../engine/client';
import { checkHomeBase } from '../host/mounts';
import { lockHeld, withHostLock } from '../host/locks';
import { expandTemplate } from '../jail/placement';
import { credentialsAre, credentialsOf, startTimeOf, type JailCgroup, jailProcesses, signalJailProcesses } from '../host/procfs';
import { startExec, type Session } from '../engine/exec';
import { ExitCode, JailError } from '../errors';
import { type Identity } from '../identity/nss';
import { identityWritten, type Jail } from '../jail/jail';
import { prepareJail } from '../jail/prepare';
import { jailIdentityFiles } from '../identity/jailFiles';
import { SCRATCH_MOUNTS } from '../host/scratch';
import { type AgentState, agentListening, agentProblem, descriptorsTheirs, handOverSession, loadAgentState, saveAgentState } from './agent';
import { agentSessionsIn, parentOf, type ProcessId, processId, type RecordedSession, recordLogin, recordLogout, recordSession } from './records';
import { type LoginIo } from './relay';
import { jailCgroupOf } from '../jail/cgroup';
import { homeTargetFor, jailLockPath } from '../jail/placement';
import { jailableIdentity } from '../policy/access';
import { whitelistedEnv } from '../policy/environment';
import { markedProcesses, relayUntilEnd, hangUp, killLeftovers } from './hangup';

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
  try {
    return await runSession(uid, shellArgs, io);
  } catch (error) {
    // Refusals and failures are audited too: root or an administrator trying jailsh, an unsafe config, a dead engine.
    const reason = error instanceof Error ? error.message : String(error);
    await auditLog(formatRecord('refused', { uid, command: shellArgs.command, reason }), 'notice');
    throw error;
  }
}

async function runSession(uid: number, shellArgs: ShellArgs, io: LoginIo): Promise<number> {
  // Taken first: a login dropped while its session starts (sshd gone, this process reparented) is seen as a hangup.
  const loginParent = process.ppid;
  const config = loadConfig();
  const identity = jailableIdentity(uid, config);
  // First, so the refusal names [home] bases, not what the home would have been mounted over (SECURITY.md invariant 6).
  checkHomeBase(identity.home, config.home.bases);

  const vars = { user: identity.user, uid: String(uid), home: identity.home };
  const homeTarget = homeTargetFor(config, vars);
  const workdir = expandTemplate(config.session.workdir, vars);
  const tty = isatty(0);
  const marker = `DOCKER_JAIL_SESSION=${sessionToken()}`;
  const env = [
    ...whitelistedEnv(process.env, config.session.envWhitelist),
    `HOME=${homeTarget}`,
    `USER=${identity.user}`,
    `LOGNAME=${identity.user}`,
    `SHELL=${config.session.shell}`,
    'PATH=/usr/local/bin:/usr/bin:/bin',
    // The engine resolves symbolic links in the working directory (shared mode's home is one); shells keep a valid PWD.
    `PWD=${workdir}`,
    marker,
  ];

  // The PAM session's process is our parent (su) or grandparent (sshd's monitor).
  const ancestors = [processId(process.ppid), processId(parentOf(process.ppid))].filter((p): p is ProcessId => p !== null);
  const argv = jailArgv(config.session.shell, shellArgs);
  // Recorded before the session can start, for the PAM hook's close_session (kill_on_logout, the logout time), and
  // for whoever would stop or remove the jail: under its lock they look for records like this one first.
  const recordAgentSession = (state: AgentState) =>
    recordSession({ pid: process.pid, ancestors, uid, jailId: state.jailId, cgroup: state.cgroup, exec: null, marker, agent: processId(process.pid) });
  const handOver = (state: AgentState, record: RecordedSession): never => {
    try {
      const audited = { user: identity.user, uid, jail: state.jailName, tty };
      void auditLog(formatRecord('start', { ...audited, command: shellArgs.command }), 'info', true); // runs on after the exec
      recordLogin(uid, new Date());
      const field = (fields: object) => formatRecord('end', fields).slice('session=end '.length);
      return handOverSession({
        state, identity, parent: loginParent, tty, killOnLogout: config.session.killOnLogout, workdir, argv, env,
        audit: { head: field(audited), tail: field({ command: shellArgs.command }) },
      });
    } catch (error) {
      // Failed once the privileges were dropped (the record is root's): left for close_session, which removes it.
      if (process.getuid?.() === 0) record.forget();
      throw error;
    }
  };

  // docker exec: shared mode, a jail made before the agent, or an agent that cannot take this session.
  const startExecSession = async (engine: Engine, jail: Jail, cgroup: JailCgroup | null) => {
    // Recorded before the session can start, for the PAM hook's close_session: were this process killed from
    // here on, what it started is still found (by its mark) and hung up. No record, no session.
    const record = recordSession({ pid: process.pid, ancestors, uid, jailId: jail.id, cgroup, exec: null, marker });
    try {
      const session = await startExec(engine, { jailId: jail.id, uid, workdir, env, argv, tty });
      try {
        return { jail, cgroup, session, pid: await session.started(), record };
      } catch (error) {
        session.close();
        throw error;
      }
    } catch (error) {
      // Whatever did start carries the mark: a failed login leaves nothing running. The record stays for
      // close_session, which sweeps by the mark again: an engine that gave up answering may start it yet.
      signalJailProcesses(cgroup, markedProcesses(cgroup, uid, marker), 'SIGKILL');
      throw error;
    }
  };

  // Only the user's own descriptors ever enter their jail (root's terminal under `su - USER` never does).
  const viaAgent = config.jail.mode === 'per-user' && descriptorsTheirs(uid);
  const lock = jailLockPath(config, uid);
  // Warm: the running jail's agent takes the session, checked from /proc alone: no engine request, no lock. The
  // session is recorded first and the lock looked at after: a jail is stopped or removed only under its lock, and
  // only when no such record is there (SECURITY.md, invariant 2: never a half-made or vanishing jail).
  const state = viaAgent ? loadAgentState(uid) : null;
  if (state !== null) {
    const record = recordAgentSession(state);
    if (!lockHeld(lock) && warmAgent(state, identity, homeTarget, config)) return handOver(state, record);
    record.forget();
  }

  const engine = connectEngine(config.engine.socket);
  // Racing logins of one user (in shared mode, of anyone) take turns until their session has started: the staging
  // mount and the jail's files are never made twice at once, and no session starts while its passwd is rewritten.
  const ready = await withHostLock(lock, async () => {
    let jail = await prepareJail(engine, config, identity, vars, homeTarget);
    // Read once, while the jail surely runs: its processes are those in exactly these cgroups.
    let cgroup = await jailCgroupOf(engine, jail.id);
    let agent = jail.agent && viaAgent ? await readyAgent(jail, cgroup, identity) : null;
    if (jail.agent && viaAgent && agent === null && jailProcesses(cgroup, null).length === 0 && agentSessionsIn(jail.id, null, [process.pid]) === 0) {
      // Its agent cannot take the session (stopped or traced, its socket removed, the user's groups changed), and
      // nothing of the user's runs there: started anew (made anew, for other groups), it can.
      // A stop that fails leaves it running: its agent is asked once more, and docker exec serves the session.
      await engine.control.getContainer(jail.id).stop(2).catch(() => undefined);
      jail = await prepareJail(engine, config, identity, vars, homeTarget);
      cgroup = await jailCgroupOf(engine, jail.id);
      agent = jail.agent ? await readyAgent(jail, cgroup, identity) : null;
    }
    // Recorded under the lock: once it is released, whoever takes it next sees this session.
    return agent !== null ? { agent, agentRecord: recordAgentSession(agent) } : { agent: null, ...(await startExecSession(engine, jail, cgroup)) };
  });
  if (ready.agent !== null) return handOver(ready.agent, ready.agentRecord);
  const { jail, cgroup, session, pid, record: sessionRecord } = ready;
  if (pid !== null) checkCredentials(pid, identity, session, cgroup);
  // The exec's own pid finds, too, what it started after dropping the mark; the mark alone still works without it.
  sessionRecord.update({ exec: processId(pid) });

  const record = { user: identity.user, uid, jail: jail.name, tty, command: shellArgs.command };
  const started = Date.now();
  // logger(1) is running once auditLog returns; the session need not wait for it to finish.
  const startLogged = auditLog(formatRecord('start', record));
  recordLogin(uid, new Date(started));
  let hungUp: number[] = [];
  const { status, hangup } = await relayUntilEnd(session, io, tty, loginParent, async () => {
    hungUp = hangUp(cgroup, pid, uid, null);
  });
  if (config.session.killOnLogout) {
    // The shell is gone (or had its hangup and a moment to go): so is whatever the session left behind.
    signalJailProcesses(cgroup, hungUp, 'SIGKILL');
    await killLeftovers(engine, jail.id, cgroup, session.execId, uid, marker);
  }
  sessionRecord.forget();
  recordLogout(uid, new Date());
  // A poll still unanswered after a hangup would keep this root process waiting on the engine (invariant 10).
  engine.control.close();
  await Promise.all([startLogged, auditLog(formatRecord('end', { ...record, exitStatus: status, durationMs: Date.now() - started, hangup }))]);
  return status;
}

/**
 * The running jail's agent, when it can take a session of this user as things
 * stand, from what the last slow path recorded and /proc alone: the same agent,
 * listening, with the user's credentials, given the passwd and group of today,
 * and binding the home as it is now. False sends the login down the slow path.
 */
function warmAgent(state: AgentState, identity: Identity, homeTarget: string, config: Config): boolean {
  if (agentProblem(state, identity) !== null) return false;
  if (!identityWritten(state.jailId, jailIdentityFiles([{ identity, home: homeTarget }], config.session.shell))) return false;
  const seen = lstatSync(`/proc/${state.pid}/root${homeTarget}`, { throwIfNoEntry: false });
  const home = lstatSync(identity.home, { throwIfNoEntry: false });
  if (seen === undefined || home === undefined || !home.isDirectory() || seen.dev !== home.dev || seen.ino !== home.ino) return false;
  return startTimeOf(state.pid) === state.start;
}

/**
 * The agent of a jail just made ready (slow path, under the lock), once it
 * listens, and recorded for the next warm login; null when it cannot take this
 * session (groups changed since the jail started, or it does not answer): the
 * session then goes through docker exec, as on a host where new groups apply
 * at the next login.
 */
export async function readyAgent(jail: Jail, cgroup: JailCgroup | null, identity: Identity): Promise<AgentState | null> {
  const pid = cgroup?.init;
  const start = pid === undefined ? null : startTimeOf(pid);
  if (cgroup === null || pid === undefined || start === null) return null;
  const state: AgentState = { user: identity.user, jailId: jail.id, jailName: jail.name, pid, start, cgroup, scratch: `${SCRATCH_MOUNTS}/${identity.uid}` };
  if ((await agentListening(state, identity)) !== null) return null;
  saveAgentState(identity.uid, state);
  return state;
}

/**
 * The session's process must run as the user, their primary gid and exactly
 * their groups, never gid 0 (which `docker exec -u UID` gives when the jail
 * cannot name the user): checked on the process itself before anything is
 * relayed, and killed otherwise.
 */
function checkCredentials(pid: number, identity: Identity, session: Session, cgroup: JailCgroup | null): void {
  const actual = credentialsOf(pid);
  if (actual === null) return; // ended already (e.g. `true`), having started under the lock
  if (!credentialsAre(actual, { uid: identity.uid, gid: identity.gid, gids: identity.groups.map((g) => g.gid) })) {
    signalJailProcesses(cgroup, [pid], 'SIGKILL');
    session.close();
    throw new JailError(`the session started with the wrong credentials (uid ${actual.uids[0]}, gid ${actual.gids[0]}); refused`);
  }
}
