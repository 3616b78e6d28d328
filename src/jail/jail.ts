import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Config } from '../config/types';
import type { ContainerDetails, ContainerSpec } from '../engine/api';
import { type Engine, engineCall, engineError, statusOf } from '../engine/client';
import { type TarEntry, tarArchive } from '../engine/tar';
import { ExitCode, JailError } from '../errors';
import { SHARED_ROOT } from '../host/mounts';
import { AGENT_DIR_IN_JAIL, AGENT_PROGRAM, AGENT_SOCKET_NAME, agentDirOf, IDENTITY_CACHE } from '../host/paths';
import { JAIL_NOBODY, jailProcesses, seesDirectory } from '../host/procfs';
import { SCRATCH_DIRS } from '../host/scratch';
import type { JailIdentityFiles } from '../identity/jailFiles';
import { jailCgroupOf } from './cgroup';
import { groupsLabel, type JailLabels, LABEL_MANAGED, LABEL_SHARED, LABEL_UID, LABEL_USER, labelsFor, labelsOf } from './labels';
import { loadSeccompProfile, type SeccompProfile } from './seccomp';

/** How long a login waits for a jail that a racing login is creating under the same name. */
const NAME_RACE_MS = 3000;

/** What ensureJail uses of the host besides the engine; unit tests give their own. */
export interface EnsureHost {
  /** The jails' seccomp profile, read before a jail is made. */
  seccompProfile: () => SeccompProfile;
  /** Where the archive each jail's passwd and group were last written from is kept (a file per container id). */
  identityCache: string;
  /** How long to wait for a jail that a racing login is creating under the same name. */
  nameRaceMs: number;
}

const ENSURE_HOST: EnsureHost = { seccompProfile: () => loadSeccompProfile(), identityCache: IDENTITY_CACHE, nameRaceMs: NAME_RACE_MS };

/** Everything needed to find or make one user's jail (or, in shared mode, the one jail). */
export interface JailRequest {
  uid: number;
  user: string;
  name: string;
  hostname: string;
  /**
   * The nosuid,nodev staging view of the home. Per-user mode binds it at
   * homeTarget; shared mode binds all of SHARED_ROOT and links homeTarget to it.
   */
  homeSource: string;
  homeTarget: string;
  /**
   * The home as it is now (per-user mode): a running jail that binds another
   * one (the home was restored, moved or recreated since it started) is
   * restarted when idle, never used.
   */
  home: { dev: number; ino: number } | null;
  /**
   * Mounts the jail's own /tmp and /var/tmp filesystem (ensureScratch) and says
   * where; called before the jail is made or started. Null leaves them in its
   * writable layer.
   */
  scratch: ((noJail: boolean) => string) | null;
  identityFiles: JailIdentityFiles;
  /**
   * A per-user jail whose init is the session agent, running with these
   * credentials; null: sessions by docker exec (shared mode, no scratch
   * filesystem for the agent's socket, or no agent installed).
   */
  agent: { uid: number; gid: number; groups: number[] } | null;
}

/**
 * Finds the user's jail by its labels, creating it from the image when missing
 * and starting it when stopped; then writes the user's passwd and group into it
 * (and in shared mode the link to their home). A container that merely carries
 * the right name is never used.
 */
export async function ensureJail(engine: Engine, config: Config, request: JailRequest, host: EnsureHost = ENSURE_HOST): Promise<Jail> {
  const docker = engine.provision;
  const shared = config.jail.mode === 'shared';
  const find = () => findJailOf(engine, config, request.uid, request.user);
  let found = await find();
  // A removed account's jail (its name, or its uid, since given to a new account) is never handed over, nor
  // does it lock the new account out: that gets a jail of its own under a free name; gc removes the old one
  // after its grace.
  const profile = found === null ? host.seccompProfile() : null; // before anything is made: no profile, no jail
  for (const name of shared ? [request.name] : [request.name, `${request.name}-${request.uid}`]) {
    if (found !== null || profile === null) break;
    try {
      await docker.createContainer(name, containerSpec(config, request, request.scratch?.(true) ?? null, profile));
    } catch (error) {
      if (statusOf(error) === 404) {
        throw new JailError(`the jail image ${config.jail.image} is not built; an administrator must run: docker-jail image build`, ExitCode.unavailable);
      }
      // 409: the name is taken, by a login racing us (fine) or by a stranger (the next name).
      if (statusOf(error) !== 409) throw engineError(engine.socket, error, 'creating the jail');
    }
    // A racing login's container holds the name a moment before the engine lists it.
    for (let waited = 0; ; waited += 100) {
      found = await find();
      if (found !== null || waited >= host.nameRaceMs) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  if (found === null) {
    const owner = shared ? 'the shared jail' : `the jail of ${request.user} (uid ${request.uid})`;
    throw new JailError(
      `the containers named ${request.name}${shared ? '' : ` and ${request.name}-${request.uid}`} exist but neither is ${owner}; refusing to use them`,
      ExitCode.refused,
    );
  }

  if (found.state !== 'running' && !servesLike(found, request)) {
    // Stopped, so nothing of the user's runs in it; its home and /tmp are host mounts and stay: made anew, it
    // serves sessions the way a jail made now does (through the agent, with the user's groups of today).
    const staleId = found.id;
    await engineCall(engine, 'replacing the stopped jail', () => docker.getContainer(staleId).remove());
    return ensureJail(engine, config, request, host);
  }
  const container = docker.getContainer(found.id);
  if (found.state === 'running' && request.home !== null && (await bindsAnotherHome(engine, found.id, request))) {
    // The home was restored, moved or recreated since the jail started: it still binds the old one.
    if (jailProcesses(await jailCgroupOf(engine, found.id), null).some((p) => p.uid !== JAIL_NOBODY)) {
      throw new JailError(
        `your home directory was replaced since your jail started, and a session or job of yours still runs there with the old one; ` +
          'end them (or ask an administrator to stop your jail), then log in again',
        ExitCode.refused,
      );
    }
    await engineCall(engine, 'restarting the jail on your home', () => container.stop(2));
    found = { ...found, state: 'exited' };
  }
  if (found.state !== 'running') {
    request.scratch?.(false); // after a reboot, mounted again before the jail binds it
    await engineCall(engine, 'starting the jail', async () => {
      try {
        await container.start();
      } catch (error) {
        if (statusOf(error) !== 304) throw error; // 304: a racing login started it first
      }
    });
  }
  const archive = identityArchive(request.identityFiles, shared ? linkPath(request.homeTarget, request.homeSource) : []);
  // Rewritten only when they change: the engine replaces a file by deleting it first, and a session
  // started in that gap would get gid 0 (callers also hold a lock until their session has started).
  const written = `${host.identityCache}/${found.id}`;
  if (!archive.equals(readOr(written))) {
    await engineCall(engine, "writing the jail's passwd and group", () => container.putArchive(archive, '/'));
    try {
      mkdirSync(host.identityCache, { recursive: true, mode: 0o700 });
      writeFileSync(written, archive, { mode: 0o600 });
    } catch {
      // A full /run: the files are written each login instead (the lock keeps sessions out of the gap).
      rmSync(written, { force: true });
    }
  }
  return { ...found, state: 'running' };
}

/** Whether a jail serves sessions as one made for this request would: the same kind, and an agent with the same groups. */
function servesLike(found: Jail, request: JailRequest): boolean {
  if (request.agent === null) return !found.agent;
  return found.agent && found.groups === groupsLabel(request.agent);
}

/** The archive a jail's passwd and group (and, in shared mode, the link to a home) are written from. */
function identityArchive(files: JailIdentityFiles, extra: TarEntry[]): Buffer {
  return tarArchive([
    { type: 'file', name: 'etc/passwd', content: files.passwd, mode: 0o644 },
    { type: 'file', name: 'etc/group', content: files.group, mode: 0o644 },
    ...extra,
  ]);
}

/** Whether the per-user jail `id` was last given exactly these passwd and group files (a warm login writes none). */
export function identityWritten(id: string, files: JailIdentityFiles): boolean {
  return identityArchive(files, []).equals(readOr(`${IDENTITY_CACHE}/${id}`));
}

/** Forgets what was written into containers that no longer exist (gc, knowing every jail's id). */
export function pruneIdentityCache(existing: Set<string>): void {
  let ids: string[] = [];
  try {
    ids = readdirSync(IDENTITY_CACHE);
  } catch {
    return; // nothing written yet
  }
  for (const id of ids) if (!existing.has(id)) rmSync(`${IDENTITY_CACHE}/${id}`, { force: true });
}

/**
 * A jail: found by its labels, never by its name alone, as the engine lists
 * it; its state is the engine's ("running", "exited", "created"...).
 */
export interface Jail extends JailLabels {
  id: string;
  name: string;
  state: string;
  /** The image it was created from. */
  imageId: string;
}

/** The limits a jail is made with, as the engine keeps them: 0 is no limit. */
export interface JailLimits {
  memoryBytes: number;
  pidsLimit: number;
  nanoCpus: number;
}

/** What a jail made now gets: the current build of the configured image (null: not built), the shipped seccomp profile, and (per-user) whether its init is the agent. */
export interface JailStandard {
  imageId: string | null;
  seccomp: string;
  agent: boolean;
  /** The configured limits and network mode; undefined: not measured. */
  limits?: JailLimits;
  network?: string;
}

/** What a jail is measured by: `agent` only for a per-user jail (a shared jail never has one); limits and network only when inspected. */
export interface JailMake {
  imageId: string;
  seccomp: string | null;
  agent?: boolean;
  limits?: JailLimits;
  network?: string;
}

/** Why a jail is outdated, in the words `list` shows. */
export type OutdatedReason = 'image' | 'limits' | 'network' | 'seccomp' | 'session kind';

/**
 * Why a jail must be made anew (`image update`, or its last session's end):
 * it runs an older build of the configured image, with limits (memory, pids,
 * CPU) or a network other than the config's now, another seccomp profile than
 * the shipped one, or none of ours (made before the package shipped it), or
 * (per-user) serves sessions by docker exec where a jail made now has the
 * agent. Empty: it is current.
 */
export function outdatedReasons(jail: JailMake, current: JailStandard): OutdatedReason[] {
  const reasons: OutdatedReason[] = [];
  if (current.imageId !== null && jail.imageId !== current.imageId) reasons.push('image');
  if (jail.limits !== undefined && current.limits !== undefined && !sameLimits(jail.limits, current.limits)) reasons.push('limits');
  if (jail.network !== undefined && current.network !== undefined && networkName(jail.network) !== networkName(current.network)) reasons.push('network');
  if (jail.seccomp !== current.seccomp) reasons.push('seccomp');
  if (jail.agent !== undefined && jail.agent !== current.agent) reasons.push('session kind');
  return reasons;
}

export function isOutdated(jail: JailMake, current: JailStandard): boolean {
  return outdatedReasons(jail, current).length > 0;
}

function sameLimits(a: JailLimits, b: JailLimits): boolean {
  return a.memoryBytes === b.memoryBytes && a.pidsLimit === b.pidsLimit && a.nanoCpus === b.nanoCpus;
}

/** The engine keeps a jail made on "default" as that, which is its bridge network. */
function networkName(mode: string): string {
  return mode === 'default' ? 'bridge' : mode;
}

/** The limits a jail made now gets (containerSpec sets exactly these). */
export function configuredLimits(config: Config): JailLimits {
  const jail = config.jail;
  return { memoryBytes: Math.max(jail.memoryBytes, 0), pidsLimit: Math.max(jail.pidsLimit, 0), nanoCpus: Math.round(jail.cpus * 1e9) };
}

/** The limits and network a jail was made with, as the engine inspects it (no limit: 0, whether it says 0, -1 or nothing). */
export function madeWith(inspected: Pick<ContainerDetails, 'HostConfig'>): { limits?: JailLimits; network?: string } {
  const host = inspected.HostConfig;
  if (host === undefined) return {};
  const limits = { memoryBytes: Math.max(host.Memory ?? 0, 0), pidsLimit: Math.max(host.PidsLimit ?? 0, 0), nanoCpus: Math.max(host.NanoCpus ?? 0, 0) };
  return host.NetworkMode === undefined ? { limits } : { limits, network: host.NetworkMode };
}

/** Whether a per-user jail made now serves its sessions through the agent (enterJail makes it so; image update and gc measure by it). */
export function agentJails(config: Config): boolean {
  return config.jail.mode === 'per-user' && config.jail.tmpBytes > 0 && existsSync(AGENT_PROGRAM);
}

/** The standard jails are held to now; the image's build is null when it is not built. */
export async function currentStandard(engine: Engine, config: Config): Promise<JailStandard> {
  const image = await engine.control
    .getImage(config.jail.image)
    .inspect()
    .catch(() => null);
  return standardOf(image?.Id ?? null, config);
}

/** The standard for a build of the configured image (null: not built). */
export function standardOf(imageId: string | null, config: Config): JailStandard {
  return { imageId, seccomp: loadSeccompProfile().hash, agent: agentJails(config), limits: configuredLimits(config), network: config.jail.network };
}

/**
 * The user's jail (in shared mode, the shared one), found by its labels, or
 * null. Both the uid and the name must match: after userdel and a useradd that
 * reuses either, the old account's jail is someone else's.
 */
export function findJailOf(engine: Engine, config: Config, uid: number, user: string): Promise<Jail | null> {
  return findJail(engine, config.jail.mode === 'shared' ? { [LABEL_SHARED]: 'true' } : { [LABEL_UID]: String(uid), [LABEL_USER]: user });
}

/** Whether the running jail's view of the home (its root's, through /proc) is another directory than the home now. */
async function bindsAnotherHome(engine: Engine, id: string, request: JailRequest): Promise<boolean> {
  const pid = (await engineCall(engine, 'looking at the jail', () => engine.control.getContainer(id).inspect())).State.Pid;
  return pid <= 0 || request.home === null || !seesDirectory(pid, request.homeTarget, request.home);
}

async function findJail(engine: Engine, owner: Record<string, string>): Promise<Jail | null> {
  const wanted: Record<string, string> = { [LABEL_MANAGED]: 'true', ...owner };
  const list = await engineCall(engine, 'looking for the jail', () =>
    engine.control.listContainers({ label: Object.entries(wanted).map(([k, v]) => `${k}=${v}`) }),
  );
  // The engine filtered by label already; check again so a filter bug cannot hand over a stranger's container.
  const mine = list.filter((c) => Object.entries(wanted).every(([k, v]) => c.Labels?.[k] === v));
  if (mine.length > 1) throw new JailError(`there are ${mine.length} jails labelled ${JSON.stringify(owner)}; an administrator must remove the extra ones`);
  if (mine.length === 0) return null;
  const [jail] = mine;
  return { id: jail.Id, name: (jail.Names?.[0] ?? '').replace(/^\//, ''), state: jail.State, imageId: jail.ImageID, ...labelsOf(jail.Labels) };
}

/** Tar entries making path (with its missing parents) a symbolic link to target. */
function linkPath(path: string, target: string): TarEntry[] {
  const parts = path.split('/').filter((part) => part !== '');
  const parents = parts.slice(0, -1).map((_, i) => ({ type: 'dir' as const, name: `${parts.slice(0, i + 1).join('/')}/`, mode: 0o755 }));
  return [...parents, { type: 'symlink', name: parts.join('/'), target }];
}

function containerSpec(config: Config, request: JailRequest, scratchAt: string | null, profile: SeccompProfile): ContainerSpec {
  const jail = config.jail;
  const shared = jail.mode === 'shared';
  const home = shared
    ? { Type: 'bind', Source: SHARED_ROOT, Target: SHARED_ROOT, ReadOnly: false, BindOptions: { Propagation: 'rslave' } }
    : { Type: 'bind', Source: request.homeSource, Target: request.homeTarget, ReadOnly: false, BindOptions: { Propagation: 'rprivate' } };
  const scratch = Object.entries(SCRATCH_DIRS).map(([target, dir]) => ({
    Type: 'bind',
    Source: `${scratchAt}/${dir}`,
    Target: target,
    ReadOnly: false,
    BindOptions: { Propagation: 'rprivate' },
  }));
  // An agent jail needs the scratch filesystem: the agent's socket directory is the user's, so it must be bounded.
  const agent = scratchAt === null ? null : request.agent;
  const agentMounts =
    agent === null || scratchAt === null
      ? []
      : [
          { Type: 'bind', Source: AGENT_PROGRAM, Target: AGENT_PROGRAM, ReadOnly: true, BindOptions: { Propagation: 'rprivate' } },
          { Type: 'bind', Source: agentDirOf(scratchAt), Target: AGENT_DIR_IN_JAIL, ReadOnly: false, BindOptions: { Propagation: 'rprivate' } },
        ];
  const labels = labelsFor(shared ? 'shared' : { uid: request.uid, user: request.user }, profile.hash, agent);
  const groups = agent === null ? [] : groupsLabel(agent).split(',').slice(1);
  const limits = configuredLimits(config);
  return {
    Hostname: request.hostname,
    Image: jail.image,
    // Nothing in a jail runs as root. An agent jail's init is the agent, as the user with exactly their groups
    // (every session inherits them); otherwise its init and placeholder run as nobody, sessions as the user.
    User: agent === null ? `${JAIL_NOBODY}:${JAIL_NOBODY}` : `${agent.uid}:${agent.gid}`,
    Cmd: agent === null ? ['sleep', 'infinity'] : [AGENT_PROGRAM, `${AGENT_DIR_IN_JAIL}/${AGENT_SOCKET_NAME}`],
    WorkingDir: '/',
    Env: ['PATH=/usr/local/bin:/usr/bin:/bin'],
    Labels: labels,
    NetworkDisabled: jail.network === 'none',
    HostConfig: {
      // The agent reaps the jail's orphans itself; other jails get the engine's init.
      Init: agent === null,
      GroupAdd: groups,
      CapDrop: jail.capDrop,
      CapAdd: jail.capAdd,
      // Our own filter, never the engine's default: Debian 12's still allows io_uring, and a daemon may be set to unconfined.
      SecurityOpt: [`seccomp=${profile.json}`, ...(jail.noNewPrivileges ? ['no-new-privileges:true'] : [])],
      // As configuredLimits says, which image update measures jails by.
      PidsLimit: limits.pidsLimit > 0 ? limits.pidsLimit : -1,
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: limits.nanoCpus,
      NetworkMode: jail.network,
      // The home and the jail's /tmp and /var/tmp are its only host mounts, nosuid,nodev from their host mounts.
      Mounts: [home, ...(scratchAt === null ? [] : scratch), ...agentMounts],
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'none', Config: {} },
      IpcMode: 'private',
      // The image's other directories anyone may write hold screen's sockets and lock files: run-time files,
      // in memory and emptied when the jail stops, as a host's /run is at boot, so they cannot fill the disk.
      Tmpfs: {
        '/run/lock': 'rw,nosuid,nodev,noexec,mode=1777,size=1m',
        '/run/screen': 'rw,nosuid,nodev,noexec,mode=1777,size=1m',
      },
    },
  };
}

function readOr(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
}
