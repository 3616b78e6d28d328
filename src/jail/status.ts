import type { Config } from '../config/types';
import type { ContainerDetails, ContainerStats, ContainerSummary } from '../engine/api';
import { type Engine, engineCall } from '../engine/client';
import { ExitCode, JailError } from '../errors';
import { oomKillsOf } from '../host/procfs';
import { scratchUsage } from '../host/scratch';
import { hostNss } from '../identity/nss';
import { type Access, identityAndAccess } from '../policy/access';
import { lastLoginOf } from '../session/records';
import { type SessionRow, sessionsShown } from '../session/who';
import { jailCgroupOf } from './cgroup';
import { currentStandard, type JailStandard, madeWith, type OutdatedReason, outdatedReasons } from './jail';
import { LABEL_MANAGED, LABEL_SHARED, LABEL_UID, labelsOf } from './labels';

export type { SessionRow };

/** One jail as `docker-jail list` shows it; sizes in bytes, times in seconds or ISO 8601; null: unknown, none, or not running. */
export interface JailStatus {
  name: string;
  owner: string;
  uid: number | null;
  state: string;
  image: string;
  /** Whether it must be made anew (image update does, when idle): outdatedReasons is not empty. */
  outdated: boolean;
  /** Why: another build of the image, other limits or network than the config's, another seccomp profile, or the other kind of sessions. */
  outdatedReasons: OutdatedReason[];
  /** How its sessions start: through the jail's agent, or by docker exec (shared mode, jails made before the agent). */
  sessionsVia: 'agent' | 'exec';
  startedAt: string | null;
  uptimeSeconds: number | null;
  /** How many sessions run now: sessionList's length. */
  sessions: number;
  sessionList: SessionRow[];
  /** CPU use (percent of one CPU, over the engine's sampling interval), and CPU time used since it started. */
  cpuPercent: number | null;
  cpuSeconds: number | null;
  memoryBytes: number | null;
  /** Its limits, as it was made (null: none). */
  memoryLimitBytes: number | null;
  pids: number | null;
  pidsLimit: number | null;
  /** Its /tmp and /var/tmp filesystem: used, and its size. */
  tmpUsedBytes: number | null;
  tmpLimitBytes: number | null;
  /** Processes the kernel's OOM killer killed in it since it started (its cgroup's memory.events, or memory.oom_control on cgroup v1). */
  oomKills: number | null;
  lastLogin: string | null;
}

/** Every jail (found by label), with its owner, state, image and drift, uptime, sessions, use against its limits, and last login. */
export async function listJails(engine: Engine, config: Config, onlyUid: number | null = null): Promise<JailStatus[]> {
  const containers = await engineCall(engine, 'listing the jails', () => engine.control.listContainers({ label: [`${LABEL_MANAGED}=true`] }));
  const current = await currentStandard(engine, config);
  const wanted = containers.filter((c) => onlyUid === null || c.Labels?.[LABEL_UID] === String(onlyUid) || c.Labels?.[LABEL_SHARED] === 'true');
  const jails = await Promise.all(wanted.map((c) => statusOf(engine, c, current)));
  return jails.filter((j): j is JailStatus => j !== null);
}

/** What `status USER` says, in one line, of a user it has no jail to show for. */
const NOT_JAILED: Record<Exclude<Access, 'jailed'>, (user: string, config: Config) => string> = {
  root: () => 'root is never jailed',
  exempt: (user, config) => `${user} is in the exempt group ${config.access.exemptGroup} and is never jailed`,
  outside: (user, config) => `${user} is not in the group ${config.access.jailGroup} and is not jailed`,
};

/**
 * `status USER`: the user's jail (in shared mode, the shared one), and a note
 * to say beside it. Root, an exempt user, one outside the jail group and a
 * jailed user without a jail get one line saying so instead, as an error (a
 * non-zero exit); a user outside the jail group who still has a jail (unjailed
 * since, left for gc) has it shown, with that said in the note.
 */
export async function statusOfUser(engine: Engine, config: Config, uid: number): Promise<{ jails: JailStatus[]; note: string | null }> {
  const { identity, access } = identityAndAccess(uid, config);
  const jails = access === 'root' ? [] : await listJails(engine, config, uid);
  if (access !== 'jailed') {
    const left = jails.filter((j) => j.uid === uid);
    const leftLine = left.length === 0 ? '' : ` (a jail of theirs is left for gc: ${left.map((j) => j.name).join(', ')})`;
    const line = `${NOT_JAILED[access](identity.user, config)}${leftLine}`;
    if (access === 'outside' && left.length > 0) return { jails: left, note: line };
    throw new JailError(line, ExitCode.failure);
  }
  if (jails.length === 0) throw new JailError(`${identity.user} is jailed but has no jail now; their next login makes it`, ExitCode.failure);
  return { jails, note: null };
}

async function statusOf(engine: Engine, info: ContainerSummary, current: JailStandard): Promise<JailStatus | null> {
  const labels = labelsOf(info.Labels);
  const { uid, agent } = labels;
  const container = engine.control.getContainer(info.Id);
  const inspected = await container.inspect().catch(() => null);
  if (inspected === null) return null; // removed since it was listed
  const running = inspected.State.Running;
  const startedAt = running ? inspected.State.StartedAt : null;
  const usage = running ? await usageOf(container) : { cpuPercent: null, cpuSeconds: null, memoryBytes: null, pids: null };
  const sessionList = running ? await sessionsShown(engine, info.Id, inspected.ExecIDs ?? []) : [];
  const tmp = scratchUsage(uid === null ? 'shared' : String(uid));
  const reasons = outdatedReasons({ imageId: info.ImageID, seccomp: labels.seccomp, agent: uid === null ? undefined : agent, ...madeWith(inspected) }, current);
  return {
    name: (info.Names?.[0] ?? '').replace(/^\//, ''),
    owner: uid === null ? '(shared)' : (hostNss.passwdByUid(uid)?.split(':')[0] ?? `(uid ${uid}, no such user)`),
    uid,
    state: info.State,
    image: inspected.Config.Image,
    outdated: reasons.length > 0,
    outdatedReasons: reasons,
    sessionsVia: agent ? 'agent' : 'exec',
    startedAt,
    uptimeSeconds: startedAt === null ? null : Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000)),
    sessions: sessionList.length,
    sessionList,
    ...usage,
    ...limitsOf(inspected),
    tmpUsedBytes: tmp?.usedBytes ?? null,
    tmpLimitBytes: tmp?.sizeBytes ?? null,
    oomKills: running ? await oomKillsIn(engine, info.Id) : null,
    lastLogin: uid === null ? null : lastLoginOf(uid),
  };
}

/** The memory and pids limits it was made with; null for none. */
function limitsOf(inspected: ContainerDetails): { memoryLimitBytes: number | null; pidsLimit: number | null } {
  const limits = madeWith(inspected).limits;
  return {
    memoryLimitBytes: limits === undefined || limits.memoryBytes === 0 ? null : limits.memoryBytes,
    pidsLimit: limits === undefined || limits.pidsLimit === 0 ? null : limits.pidsLimit,
  };
}

/** From the jail's own cgroup, found through its init as the engine names it, never a path anyone else could give. */
async function oomKillsIn(engine: Engine, id: string): Promise<number | null> {
  try {
    const cgroup = await jailCgroupOf(engine, id);
    return cgroup === null ? null : oomKillsOf(cgroup);
  } catch {
    return null; // stopped or restarted while it was looked at
  }
}

/** What one stats sample of the engine says: CPU use over its interval, CPU time in all, memory and pids in use. */
export function usageFrom(stats: ContainerStats): { cpuPercent: number | null; cpuSeconds: number | null; memoryBytes: number | null; pids: number | null } {
  const cpu = stats.cpu_stats.cpu_usage.total_usage - stats.precpu_stats.cpu_usage.total_usage;
  const system = (stats.cpu_stats.system_cpu_usage ?? 0) - (stats.precpu_stats.system_cpu_usage ?? 0);
  const cpus = stats.cpu_stats.online_cpus ?? 1;
  return {
    cpuPercent: system > 0 ? Math.round((cpu / system) * cpus * 1000) / 10 : 0,
    cpuSeconds: Math.round(stats.cpu_stats.cpu_usage.total_usage / 1e7) / 100,
    memoryBytes: stats.memory_stats.usage ?? null,
    pids: stats.pids_stats?.current ?? null,
  };
}

async function usageOf(container: { stats(): Promise<ContainerStats> }): Promise<ReturnType<typeof usageFrom>> {
  try {
    return usageFrom(await container.stats());
  } catch {
    return { cpuPercent: null, cpuSeconds: null, memoryBytes: null, pids: null };
  }
}
