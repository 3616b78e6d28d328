import type { Config } from '../config/types';
import type { ContainerStats, ContainerSummary } from '../engine/api';
import { type Engine, engineCall } from '../engine/client';
import { hostNss } from '../identity/nss';
import { sessionsIn } from '../session/hangup';
import { lastLoginOf } from '../session/records';
import { currentStandard, isOutdated, type JailStandard } from './jail';
import { LABEL_MANAGED, LABEL_SHARED, LABEL_UID, labelsOf } from './labels';

/** One jail as `docker-jail list` shows it. */
export interface JailStatus {
  name: string;
  owner: string;
  uid: number | null;
  state: string;
  image: string;
  /** The jail runs an older build of the configured image than the engine now has, or another seccomp profile than the shipped one. */
  outdated: boolean;
  /** How its sessions start: through the jail's agent, or by docker exec (shared mode, jails made before the agent). */
  sessionsVia: 'agent' | 'exec';
  startedAt: string | null;
  uptimeSeconds: number | null;
  sessions: number;
  cpuPercent: number | null;
  memoryBytes: number | null;
  lastLogin: string | null;
}

/** Every jail (found by label), with its owner, state, image, uptime, sessions, CPU and memory use and last login. */
export async function listJails(engine: Engine, config: Config, onlyUid: number | null = null): Promise<JailStatus[]> {
  const containers = await engineCall(engine, 'listing the jails', () => engine.control.listContainers({ label: [`${LABEL_MANAGED}=true`] }));
  const current = await currentStandard(engine, config);
  const wanted = containers.filter((c) => onlyUid === null || c.Labels?.[LABEL_UID] === String(onlyUid) || c.Labels?.[LABEL_SHARED] === 'true');
  return Promise.all(wanted.map((c) => statusOf(engine, c, current)));
}

async function statusOf(engine: Engine, info: ContainerSummary, current: JailStandard): Promise<JailStatus> {
  const labels = labelsOf(info.Labels);
  const { uid, agent } = labels;
  const container = engine.control.getContainer(info.Id);
  const inspected = await container.inspect();
  const running = inspected.State.Running;
  const startedAt = running ? inspected.State.StartedAt : null;
  const usage = running ? await usageOf(container) : { cpuPercent: null, memoryBytes: null };
  return {
    name: (info.Names?.[0] ?? '').replace(/^\//, ''),
    owner: uid === null ? '(shared)' : (hostNss.passwdByUid(uid)?.split(':')[0] ?? `(uid ${uid}, no such user)`),
    uid,
    state: info.State,
    image: inspected.Config.Image,
    outdated: isOutdated({ imageId: info.ImageID, seccomp: labels.seccomp, agent: uid === null ? undefined : agent }, current),
    sessionsVia: agent ? 'agent' : 'exec',
    startedAt,
    uptimeSeconds: startedAt === null ? null : Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000)),
    sessions: running ? await sessionsIn(engine, info.Id, null, null, null) : 0,
    ...usage,
    lastLogin: uid === null ? null : lastLoginOf(uid),
  };
}

/** CPU (percent of one CPU, over the engine's sampling interval) and memory in use, from one stats sample. */
async function usageOf(container: { stats(): Promise<ContainerStats> }): Promise<{ cpuPercent: number | null; memoryBytes: number | null }> {
  try {
    const stats = await container.stats();
    const cpu = stats.cpu_stats.cpu_usage.total_usage - stats.precpu_stats.cpu_usage.total_usage;
    const system = (stats.cpu_stats.system_cpu_usage ?? 0) - (stats.precpu_stats.system_cpu_usage ?? 0);
    const cpus = stats.cpu_stats.online_cpus ?? 1;
    return {
      cpuPercent: system > 0 ? Math.round((cpu / system) * cpus * 1000) / 10 : 0,
      memoryBytes: stats.memory_stats.usage ?? null,
    };
  } catch {
    return { cpuPercent: null, memoryBytes: null };
  }
}
