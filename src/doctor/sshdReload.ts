import { lstatSync, readFileSync, statSync } from 'node:fs';
import { readStateFile } from '../host/stateFiles';
import { type Finding, passed, warned } from './finding';
import { effectiveSshd, type RunningSshd, runningSshds } from './sshdChecks';
import { SSHD_DROP_IN } from './sshdPolicy';

/**
 * sshd reads its configuration when it starts, and again on SIGHUP (what
 * `systemctl reload ssh` sends), which it answers by re-executing itself
 * (sshd.c sighup_restart: unlink the pid file, execv the saved argv). The pid
 * stays and so does the process's start time in /proc; what shows the reload
 * is the pid file, written afresh once the new image listens. So a listener
 * last read its files when its pid file (naming it) was written, or else when
 * it started. Older than the drop-in's last change: it still applies what the
 * drop-in said before (SECURITY.md invariant 8).
 */
export interface SshdReading {
  pid: number;
  at: Date;
  /** Where `at` comes from: its pid file's mtime, or its start (/proc, to the second). */
  by: 'pid file' | 'start';
}

const CHECK = 'sshd reloaded';
/** /proc/stat's btime is in whole seconds: a start time is that coarse. */
const START_SLACK_MS = 1000;
/** USER_HZ, the unit of /proc/PID/stat's starttime: 100 on every Linux ABI Debian builds for. */
const CLOCK_TICKS = 100;

/** changed: the drop-in's last change (its ctime: dpkg sets a conffile's mtime to the package's, and renames it into place). */
export function judgeSshdReload(pid: number, reading: SshdReading | null, changed: Date): Finding {
  const fix = `systemctl reload ssh (or kill -HUP ${pid})`;
  if (reading === null) return warned(CHECK, `cannot tell when sshd (pid ${pid}) last read its configuration (no pid file naming it, no start time)`, fix);
  const slack = reading.by === 'start' ? START_SLACK_MS : 0;
  const when = reading.at.toISOString();
  return reading.at.getTime() + slack < changed.getTime()
    ? warned(
        CHECK,
        `sshd (pid ${pid}) last read its configuration at ${when} (${reading.by}), before ${SSHD_DROP_IN} changed at ${changed.toISOString()}: it still applies what the file said before`,
        fix,
      )
    : passed(CHECK, `sshd (pid ${pid}) read its configuration at ${when} (${reading.by}), after ${SSHD_DROP_IN} last changed`);
}

/** One finding per sshd listener; none when the drop-in is missing (the `sshd policy` check names that). */
export async function checkSshdReloaded(): Promise<Finding[]> {
  const policy = statSync(SSHD_DROP_IN, { throwIfNoEntry: false });
  if (policy === undefined) return [];
  const changed = new Date(Math.max(policy.mtimeMs, policy.ctimeMs));
  const listeners = runningSshds().filter((daemon) => daemon.listener);
  if (listeners.length === 0) return [passed(CHECK, 'no sshd listener runs here')];
  return Promise.all(listeners.map(async (daemon) => judgeSshdReload(daemon.pid, await lastReading(daemon), changed)));
}

async function lastReading(daemon: RunningSshd): Promise<SshdReading | null> {
  const started = processStart(daemon.pid);
  const pidFile = (await effectiveSshd(undefined, daemon.configArgs))?.match(/^pidfile (\/\S+)$/m)?.[1];
  let written: Date | null = null;
  if (pidFile !== undefined) {
    try {
      // Only a pid file naming this daemon tells of it (another sshd may share the path).
      if (readStateFile(pidFile, 64).trim() === String(daemon.pid)) written = lstatSync(pidFile).mtime;
    } catch {
      // none (sshd -D -d writes none, PidFile none), or gone
    }
  }
  if (written !== null && (started === null || written >= started)) return { pid: daemon.pid, at: written, by: 'pid file' };
  return started === null ? null : { pid: daemon.pid, at: started, by: 'start' };
}

/** When the process started: boot time plus its starttime (/proc/PID/stat field 22, in clock ticks). */
function processStart(pid: number): Date | null {
  try {
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(boot) && Number.isFinite(ticks) && boot > 0 ? new Date(boot * 1000 + (ticks * 1000) / CLOCK_TICKS) : null;
  } catch {
    return null;
  }
}
