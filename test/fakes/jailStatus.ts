import type { JailStatus } from '../../src/jail/status';

/** A running jail as `list` reports it, alice's unless told otherwise, with nothing measured: tests fill in what they look at. */
export function jailStatus(fields: Partial<JailStatus> = {}): JailStatus {
  const name = fields.name ?? 'jail-alice';
  return {
    name,
    owner: name.replace('jail-', ''),
    uid: 1001,
    state: 'running',
    image: 'docker-jail/base:bookworm',
    outdated: false,
    sessionsVia: 'agent',
    startedAt: null,
    uptimeSeconds: 60,
    sessions: 0,
    cpuPercent: null,
    memoryBytes: null,
    outdatedReasons: [],
    sessionList: [],
    cpuSeconds: null,
    memoryLimitBytes: null,
    pids: null,
    pidsLimit: null,
    tmpUsedBytes: null,
    tmpLimitBytes: null,
    oomKills: null,
    lastLogin: null,
    ...fields,
  };
}
