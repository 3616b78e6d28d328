import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import type { Config } from '../config/types';
import type { EngineInfo } from '../engine/interfaces';
import { GC_TIMER_UNIT, SCRATCH_IMAGES, USER_MANAGER_DROP_IN } from '../host/paths';
import { runForStatus } from '../host/run';
import { type ScratchHeadroom, scratchHeadroom } from '../host/scratch';
import { type Finding, failed, passed, warned } from './finding';

/**
 * doctor's checks of what keeps running jails and the host in shape beside the
 * login path: the engine's live-restore, the gc timer and the user@.service
 * drop-in, debootstrap for `image build`, and the disk under the /tmp images.
 * Each is a judgement over what was read (unit tested) and a check that reads
 * the host and judges (in HOST_CHECKS, the order doctor prints them).
 */

/** sd_booted(3): systemd runs as the init system when this directory exists. */
const SYSTEMD_RUNNING = '/run/systemd/system';
const SYSTEMCTL = '/usr/bin/systemctl';
/** What `image build` runs (jail/image.ts); the package only recommends it. */
const DEBOOTSTRAP = '/usr/sbin/debootstrap';
const GC_TIMER = 'docker-jail-gc.timer';
/** Any instance shows the drop-ins systemd loaded for the template; none is started by asking. */
const USER_MANAGER_INSTANCE = 'user@0.service';

/**
 * Without live-restore dockerd kills every container when it stops: a
 * restart of the engine (an upgrade of docker.io) ends every jailed user's
 * tmux, screen and background jobs.
 */
export function judgeLiveRestore(enabled: boolean | undefined): Finding {
  return enabled === true
    ? passed('live-restore', 'the engine keeps jails running while it restarts (live-restore)')
    : warned(
        'live-restore',
        "the engine runs without live-restore: restarting dockerd (an upgrade of docker.io does) kills every jail's processes, every user's tmux, screen and background jobs with them",
        'add "live-restore": true to /etc/docker/daemon.json, then systemctl reload docker (or kill -HUP the pid of dockerd): a reload applies it without stopping a container',
      );
}

/**
 * Whether the engine can enforce the limits the config sets. One it cannot (a kernel without the memory, pids or
 * cpu controller) it drops when it makes a jail, with a warning nobody reads: the jail runs unlimited, and, as
 * its limits never match the config, it is taken for outdated and made anew at every last logout.
 */
export function judgeLimits(info: Pick<EngineInfo, 'MemoryLimit' | 'PidsLimit' | 'CpuCfsQuota'>, limits: Config['jail']): Finding {
  const missing = [
    limits.memoryBytes > 0 && info.MemoryLimit !== true ? 'memory_limit (the memory controller)' : null,
    limits.pidsLimit > 0 && info.PidsLimit !== true ? 'pids_limit (the pids controller)' : null,
    limits.cpus > 0 && info.CpuCfsQuota !== true ? 'cpus (the cpu controller, CFS quota)' : null,
  ].filter((m): m is string => m !== null);
  if (missing.length === 0) return passed('limits', 'the engine can enforce the memory, pids and CPU limits the config sets');
  return failed(
    'limits',
    `the engine cannot enforce ${missing.join(', ')}: jails would run without it, and be made anew at every logout as outdated`,
    'enable the cgroup controllers (on Debian 12 they are on by default: check the kernel command line for cgroup_disable=), then restart dockerd; or set the limit to 0 in [jail]',
  );
}

/** What systemd says of the gc timer: `systemctl is-enabled` and `is-active`, as printed. */
export interface TimerState {
  enabled: string;
  active: string;
}

/** systemd null: it is not the init system here, so no timer ever fires. */
export function judgeGcTimer(unitInstalled: boolean, systemd: TimerState | null): Finding {
  if (!unitInstalled) return failed('gc timer', `${GC_TIMER_UNIT} is missing`, 'apt install --reinstall docker-jail');
  if (systemd === null)
    return warned(
      'gc timer',
      `systemd is not running here (no ${SYSTEMD_RUNNING}): ${GC_TIMER} never fires, so nothing stops idle jails, removes the jails of removed users or cleans up old images`,
      "run gc from cron instead: echo '*/15 * * * * root /usr/sbin/docker-jail gc' > /etc/cron.d/docker-jail-gc",
    );
  if (systemd.enabled !== 'enabled' || systemd.active !== 'active')
    return warned(
      'gc timer',
      `${GC_TIMER} is ${systemd.enabled || 'unknown'} and ${systemd.active || 'unknown'}: gc does not run every 15 minutes`,
      `systemctl enable --now ${GC_TIMER}`,
    );
  return passed('gc timer', `${GC_TIMER} is enabled and active (gc every 15 minutes)`);
}

/** What systemd loaded for user@.service: the drop-ins' paths, and whether a unit file changed since (NeedDaemonReload). */
export interface LoadedUnit {
  dropIns: string[];
  needsReload: boolean;
}

/**
 * The drop-in keeps pam_systemd from starting a user manager for a jailed
 * user, which would run the units in their home on the host. Where systemd
 * is not the init system no user manager starts, drop-in or not.
 */
export function judgeUserManagerDropIn(installed: boolean, systemd: LoadedUnit | null, same: (path: string) => boolean): Finding {
  const check = 'user@ drop-in';
  const danger = 'pam_systemd starts a systemd user manager for jailed users, which runs the units they write in their home on the host';
  if (!installed) {
    return systemd === null
      ? warned(
          check,
          `${USER_MANAGER_DROP_IN} is missing: harmless while systemd is not running, but once it is, ${danger}`,
          'apt install --reinstall docker-jail',
        )
      : failed(check, `${USER_MANAGER_DROP_IN} is missing: ${danger}`, 'apt install --reinstall docker-jail');
  }
  if (systemd === null)
    return passed(check, `systemd is not running here (no ${SYSTEMD_RUNNING}): no user manager starts; ${USER_MANAGER_DROP_IN} is in place for when it does`);
  if (!systemd.dropIns.some(same)) return failed(check, `systemd has not loaded ${USER_MANAGER_DROP_IN}: ${danger}`, 'systemctl daemon-reload');
  if (systemd.needsReload)
    return warned(check, `${USER_MANAGER_DROP_IN} is loaded, but a unit file of user@.service changed since systemd read it`, 'systemctl daemon-reload');
  return passed(check, `systemd runs user@.service with ${USER_MANAGER_DROP_IN}: no user manager for jailed users`);
}

export function judgeDebootstrap(installed: boolean): Finding {
  return installed
    ? passed('debootstrap', `${DEBOOTSTRAP} is installed (docker-jail image build)`)
    : warned('debootstrap', `${DEBOOTSTRAP} is missing: docker-jail image build (and image update) cannot make the jail image`, 'apt install debootstrap');
}

/**
 * The /tmp images are sparse: each takes disk as its jail writes, up to
 * tmp_size. When what they may still take is more than their filesystem has
 * free, jails filling their /tmp fill it for the engine and the host too.
 */
export function judgeScratchHeadroom(headroom: ScratchHeadroom | null): Finding {
  const check = 'tmp headroom';
  if (headroom === null || headroom.images === 0) return passed(check, `no /tmp image yet in ${SCRATCH_IMAGES}`);
  const { images, apparentBytes, allocatedBytes, freeBytes } = headroom;
  const growth = Math.max(0, apparentBytes - allocatedBytes);
  const figures = `the ${images} /tmp image${images === 1 ? '' : 's'} in ${SCRATCH_IMAGES} (${bytes(apparentBytes)} in all, ${bytes(allocatedBytes)} on disk now) may take ${bytes(growth)} more; their filesystem has ${bytes(freeBytes)} free`;
  return growth > freeBytes
    ? warned(
        check,
        `${figures}: jails filling their /tmp would fill it, for the engine and the host too`,
        `free space on the filesystem of ${SCRATCH_IMAGES}, or lower tmp_size in [jail] (images made from then on)`,
      )
    : passed(check, figures);
}

/** Binary units, one decimal: what df -h shows. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function systemdRuns(): boolean {
  return existsSync(SYSTEMD_RUNNING);
}

/** systemctl's answer on stdout (is-enabled and is-active print theirs whatever their exit status). */
function systemctl(args: string[]): string {
  const { stdout } = runForStatus(SYSTEMCTL, args, { timeout: 10_000, stdout: 'pipe' });
  return stdout.trim();
}

export function checkGcTimer(): Finding {
  const state = systemdRuns() ? { enabled: systemctl(['is-enabled', GC_TIMER]), active: systemctl(['is-active', GC_TIMER]) } : null;
  return judgeGcTimer(existsSync(GC_TIMER_UNIT), state);
}

export function checkUserManagerDropIn(): Finding {
  let loaded: LoadedUnit | null = null;
  if (systemdRuns()) {
    const shown = systemctl(['show', '--property=DropInPaths', '--property=NeedDaemonReload', USER_MANAGER_INSTANCE]);
    const value = (key: string) => shown.match(new RegExp(`^${key}=(.*)$`, 'm'))?.[1] ?? '';
    loaded = { dropIns: value('DropInPaths').split(/\s+/).filter(Boolean), needsReload: value('NeedDaemonReload') === 'yes' };
  }
  // /lib is /usr/lib on a merged-/usr host: systemd may name either.
  const ours = realOrSelf(USER_MANAGER_DROP_IN);
  return judgeUserManagerDropIn(existsSync(USER_MANAGER_DROP_IN), loaded, (path) => realOrSelf(path) === ours);
}

export function checkDebootstrap(): Finding {
  try {
    accessSync(DEBOOTSTRAP, constants.X_OK);
    return judgeDebootstrap(true);
  } catch {
    return judgeDebootstrap(false);
  }
}

export function checkScratchHeadroom(): Finding {
  return judgeScratchHeadroom(scratchHeadroom());
}

/** The host checks doctor runs after the engine's, in this order. */
export const HOST_CHECKS: readonly (() => Finding)[] = [checkGcTimer, checkUserManagerDropIn, checkDebootstrap, checkScratchHeadroom];

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
