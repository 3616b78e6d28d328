import { closeSync, constants, lstatSync, openSync } from 'node:fs';
import { type LoginCounts, loginCounts } from '../audit/counters';
import type { Config } from '../config/types';
import type { Engine } from '../engine/client';
import { JailError } from '../errors';
import { GC_LAST_RUN, METRICS_FILE } from '../host/paths';
import { readStateFile, writeStateFile } from '../host/stateFiles';
import { type JailStatus, listJails } from './status';

/**
 * `docker-jail metrics`: the jails, their sessions, use and limits, the login
 * and refusal counts and gc's last run, in Prometheus's text exposition format
 * (version 0.0.4), for node_exporter's textfile collector.
 */

/** gc's last completed run, as collectGarbage records it. */
export interface GcRun {
  finished: string;
  ok: boolean;
}

export interface MetricsInput {
  /** As `list` shows them: a use or limit that is null (no limit, not running) is left out. */
  jails: JailStatus[];
  counts: LoginCounts;
  gc: GcRun | null;
  /** The configured CPU limit of a jail, in CPUs; 0 for none. */
  cpuLimit: number;
}

/** Where node_exporter's textfile collector looks, unless told otherwise. */
export { METRICS_FILE };

/** The states the engine gives a container: each is written, 0 when no jail is in it, so a series never vanishes. */
const STATES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

/** Everything the metrics show, gathered now. */
export async function gatherMetrics(engine: Engine, config: Config): Promise<MetricsInput> {
  return { jails: await listJails(engine, config, null), counts: loginCounts(), gc: lastGcRun(), cpuLimit: config.jail.cpus };
}

/** gc's last run, or null when it has not completed one (or its record cannot be read). */
export function lastGcRun(): GcRun | null {
  try {
    const run = JSON.parse(readStateFile(GC_LAST_RUN)) as Partial<GcRun>;
    return typeof run.finished === 'string' && typeof run.ok === 'boolean' && !Number.isNaN(Date.parse(run.finished))
      ? { finished: run.finished, ok: run.ok }
      : null;
  } catch {
    return null;
  }
}

type Labels = Record<string, string>;
interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: { labels: Labels; value: number }[];
}

/** The exposition text: one family per metric, each with its HELP and TYPE lines, label values escaped. */
export function formatMetrics(input: MetricsInput): string {
  const { jails, counts, gc } = input;
  const perJail = (pick: (j: JailStatus) => number | null | undefined) =>
    jails.flatMap((j) => {
      const value = pick(j);
      return value === null || value === undefined || !Number.isFinite(value) ? [] : [{ labels: { user: j.owner, jail: j.name }, value }];
    });
  const states = [...new Set([...STATES, ...jails.map((j) => j.state)])];
  const families: Family[] = [
    {
      name: 'docker_jail_jails',
      type: 'gauge',
      help: 'Jails by the state of their container.',
      samples: states.map((state) => ({ labels: { state }, value: jails.filter((j) => j.state === state).length })),
    },
    { name: 'docker_jail_sessions', type: 'gauge', help: 'Sessions open now in each jail (sum them for the host).', samples: perJail((j) => j.sessions) },
    { name: 'docker_jail_logins_total', type: 'counter', help: 'Sessions started in a jail.', samples: [{ labels: {}, value: counts.logins }] },
    {
      name: 'docker_jail_refusals_total',
      type: 'counter',
      help: 'Jailed logins refused or failed, by reason: access, config, unavailable (engine or image), failure.',
      samples: Object.entries(counts.refusals).map(([reason, value]) => ({ labels: { reason }, value })),
    },
    {
      name: 'docker_jail_outdated',
      type: 'gauge',
      help: 'Whether each jail must be made anew (another image build, limits, network, seccomp profile or kind of sessions): 1, or 0.',
      samples: perJail((j) => (j.outdated ? 1 : 0)),
    },
    { name: 'docker_jail_memory_bytes', type: 'gauge', help: 'Memory in use by each running jail.', samples: perJail((j) => j.memoryBytes) },
    { name: 'docker_jail_memory_limit_bytes', type: 'gauge', help: "Each jail's memory limit (absent: none).", samples: perJail((j) => j.memoryLimitBytes) },
    {
      name: 'docker_jail_cpu_usage_cpus',
      type: 'gauge',
      help: 'CPUs each running jail used over the last sample (1 = one CPU busy).',
      samples: perJail((j) => (j.cpuPercent === null ? null : j.cpuPercent / 100)),
    },
    {
      name: 'docker_jail_cpu_seconds_total',
      type: 'counter',
      help: 'CPU time each running jail has used since it started.',
      samples: perJail((j) => j.cpuSeconds),
    },
    {
      name: 'docker_jail_cpu_limit_cpus',
      type: 'gauge',
      help: 'The CPU limit jails are made with, in CPUs (absent: none); a jail outdated for its limits may still have another.',
      samples: input.cpuLimit > 0 ? [{ labels: {}, value: input.cpuLimit }] : [],
    },
    { name: 'docker_jail_pids', type: 'gauge', help: 'Processes in each running jail.', samples: perJail((j) => j.pids) },
    { name: 'docker_jail_pids_limit', type: 'gauge', help: "Each jail's process limit (absent: none).", samples: perJail((j) => j.pidsLimit) },
    {
      name: 'docker_jail_tmp_used_bytes',
      type: 'gauge',
      help: "Bytes used on each jail's /tmp and /var/tmp filesystem.",
      samples: perJail((j) => j.tmpUsedBytes),
    },
    { name: 'docker_jail_tmp_limit_bytes', type: 'gauge', help: "Size of each jail's /tmp and /var/tmp filesystem.", samples: perJail((j) => j.tmpLimitBytes) },
    {
      name: 'docker_jail_oom_kills_total',
      type: 'counter',
      help: 'Processes the kernel killed for memory in each jail since it started (a restart starts it again).',
      samples: perJail((j) => j.oomKills),
    },
    {
      name: 'docker_jail_gc_last_run_timestamp_seconds',
      type: 'gauge',
      help: 'When docker-jail gc last completed a run (absent: never).',
      samples: gc === null ? [] : [{ labels: {}, value: Date.parse(gc.finished) / 1000 }],
    },
    {
      name: 'docker_jail_gc_last_run_success',
      type: 'gauge',
      help: 'Whether that run handled every jail (1) or some failed (0).',
      samples: gc === null ? [] : [{ labels: {}, value: gc.ok ? 1 : 0 }],
    },
  ];
  return families
    .filter((f) => f.samples.length > 0)
    .map((f) =>
      [`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`, ...f.samples.map((s) => `${f.name}${labelText(s.labels)} ${s.value}`)].join(
        '\n',
      ),
    )
    .join('\n')
    .concat('\n');
}

/** In HELP text, backslash and line feed are escaped. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** In a label value, backslash, double quote and line feed are escaped; owners come from the user database. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/**
 * Writes the metrics to `path` whole (a temp file beside it, renamed over it,
 * never through a link), 0644 for node_exporter. Its directory must exist: it
 * is node_exporter's to make, and one missing means no collector reads it.
 * The directory is opened once, without following a link, and written through
 * that handle: it may belong to prometheus, whose account must not be able to
 * turn root's write into one anywhere else by swapping it for a link.
 */
export function publishMetrics(path: string, text: string): void {
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) || '/' : '.';
  const name = path.slice(path.lastIndexOf('/') + 1);
  let dirFd: number;
  try {
    dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink()) throw new JailError(`${dir} is a symbolic link: not followed (give the directory itself)`);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new JailError(`cannot open ${dir}: ${code ?? String(error)}`);
    throw new JailError(
      `${dir}: no such directory (node_exporter's textfile collector reads *.prom there: install prometheus-node-exporter, or give --output FILE or -)`,
    );
  }
  try {
    writeStateFile(`/proc/self/fd/${dirFd}/${name}`, text, { mode: 0o644, sync: false }); // written afresh every minute
  } catch (error) {
    throw new JailError(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  } finally {
    closeSync(dirFd);
  }
}
