import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type Docker from 'dockerode';
import type { Config } from '../config/types';
import { type Engine, engineError } from '../engine/client';
import { STAGING_ROOT } from '../engine/homeMount';
import { withHostLock } from '../engine/hostLock';
import { LABEL_MANAGED, LABEL_UID } from '../engine/jail';
import { expandTemplate } from '../engine/names';
import { jailProcesses } from '../engine/processes';
import { otherSessions } from '../engine/session';
import { groupIdByName, hostNss, resolveIdentity } from '../identity/nss';
import { enterJail, jailLockPath } from '../provision/jail';
import { lastLoginOf, lastLogoutOf } from '../provision/sessions';
import type { Report } from './users';

/** When gc first found each jail without a jailed owner: one file per container id. */
const ORPHANS_DIR = '/var/lib/docker-jail/orphaned';

/** A jail as gc and image update see it, read under the jail's lock. */
interface JailState {
  id: string;
  name: string;
  uid: number | null;
  running: boolean;
  imageId: string;
  startedAt: string;
  /** Sessions running, or processes of its users left (nohup'd jobs): not idle. */
  busy: boolean;
}

/**
 * `docker-jail gc`, safe to run from a timer: stops jails idle longer than
 * idle_stop, removes jails of users who are gone or no longer jailed once
 * [gc] grace has passed (never their homes), and removes dangling images of
 * ours. Each jail is handled under its lock, which a login holds until its
 * session has started, so a login never lands in a jail being removed.
 */
export async function collectGarbage(engine: Engine, config: Config, report: Report): Promise<void> {
  for (const info of await managedJails(engine)) {
    const uid = uidLabelOf(info);
    await withHostLock(jailLockPath(config, uid ?? 0), async () => {
      const jail = await jailState(engine, info.Id, uid);
      if (jail === null) return;
      if (uid !== null && !isJailedUser(config, uid)) return removeOrphan(engine, config, jail, report);
      rmSync(`${ORPHANS_DIR}/${jail.id}`, { force: true });
      const idleFor = idleSeconds(jail);
      if (jail.running && !jail.busy && config.session.idleStopSeconds !== null && idleFor >= config.session.idleStopSeconds) {
        await attempt(engine, `stopping ${jail.name}`, () => engine.control.getContainer(jail.id).stop({ t: 5 }));
        report(`${jail.name}: stopped (idle for ${idleFor} s)`);
      }
    });
  }
  const dangling = await attempt(engine, 'listing images', () => engine.control.listImages({ filters: { dangling: ['true'], label: [`${LABEL_MANAGED}=true`] } }));
  for (const image of dangling) {
    const removed = await engine.control.getImage(image.Id).remove().then(() => true, () => false); // still used by a jail: kept
    if (removed) report(`image ${image.Id.slice(7, 19)}: removed (dangling)`);
  }
}

/**
 * The second half of `docker-jail image update`: every jail on an older build
 * of the configured image is recreated on the new one when it is idle, at once
 * (homes are kept: they are bind mounts); busy ones are left for close_session
 * (their last session's end) or a later run.
 */
export async function rollJails(engine: Engine, config: Config, report: Report): Promise<void> {
  const current = await attempt(engine, 'reading the image', () => engine.control.getImage(config.jail.image).inspect());
  for (const info of await managedJails(engine)) {
    const uid = uidLabelOf(info);
    await withHostLock(jailLockPath(config, uid ?? 0), async () => {
      const jail = await jailState(engine, info.Id, uid);
      if (jail === null || jail.imageId === current.Id) return;
      if (jail.busy) return report(`${jail.name}: busy; recreated when its last session ends`);
      await attempt(engine, `removing ${jail.name}`, () => engine.control.getContainer(jail.id).remove({ force: true }));
      // A stopped jail stays stopped: the next login makes it anew, on the new image.
      if (jail.running && uid !== null && isJailedUser(config, uid)) {
        const identity = resolveIdentity(uid);
        const vars = { user: identity.user, uid: String(uid), home: identity.home };
        await enterJail(engine, config, identity, vars, expandTemplate(config.jail.homeMount, vars));
        report(`${jail.name}: recreated on ${config.jail.image}`);
      } else report(`${jail.name}: removed (made anew on ${config.jail.image} at the next login)`);
    });
  }
}

/** close_session's part of a roll: an outdated jail whose last session has ended is removed; the next login makes it anew. */
export async function removeIfOutdatedAndIdle(engine: Engine, config: Config, jailId: string, uid: number | null): Promise<boolean> {
  const current = await engine.control.getImage(config.jail.image).inspect().catch(() => null);
  const jail = await jailState(engine, jailId, uid);
  if (current === null || jail === null || jail.imageId === current.Id || jail.busy) return false;
  await engine.control.getContainer(jailId).remove({ force: true });
  return true;
}

async function removeOrphan(engine: Engine, config: Config, jail: JailState, report: Report): Promise<void> {
  if (jail.busy) return report(`${jail.name}: owner uid ${jail.uid} is gone or no longer jailed, but the jail is busy`);
  mkdirSync(ORPHANS_DIR, { recursive: true, mode: 0o700 });
  const marked = `${ORPHANS_DIR}/${jail.id}`;
  let since: number;
  try {
    since = Number(readFileSync(marked, 'utf8'));
  } catch {
    since = Date.now();
    writeFileSync(marked, String(since), { mode: 0o600 });
  }
  const waited = Math.floor((Date.now() - since) / 1000);
  if (waited < config.gc.graceSeconds) return report(`${jail.name}: owner uid ${jail.uid} is gone or no longer jailed; removed after the grace period (${config.gc.graceSeconds - waited} s left)`);
  await attempt(engine, `removing ${jail.name}`, () => engine.control.getContainer(jail.id).remove({ force: true }));
  spawnSync('/usr/bin/umount', ['-l', '--', `${STAGING_ROOT}/${jail.uid}`], { env: {}, stdio: 'ignore' });
  rmSync(marked, { force: true });
  report(`${jail.name}: removed (owner uid ${jail.uid} is gone or no longer jailed; the home is kept)`);
}

async function managedJails(engine: Engine): Promise<Docker.ContainerInfo[]> {
  return attempt(engine, 'listing the jails', () => engine.control.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } }));
}

async function jailState(engine: Engine, id: string, uid: number | null): Promise<JailState | null> {
  const inspected = await engine.control.getContainer(id).inspect().catch(() => null);
  if (inspected === null) return null; // removed meanwhile
  const running = inspected.State.Running;
  const sessions = running ? await otherSessions(engine, id, null, null) : 0;
  const leftovers = running ? jailProcesses(id, null).filter((p) => p.uid !== 65534 && (uid === null || p.uid === uid)).length : 0;
  return { id, name: inspected.Name.replace(/^\//, ''), uid, running, imageId: inspected.Image, startedAt: inspected.State.StartedAt, busy: sessions + leftovers > 0 };
}

function uidLabelOf(info: Docker.ContainerInfo): number | null {
  const label = info.Labels?.[LABEL_UID];
  return label === undefined ? null : Number(label);
}

function isJailedUser(config: Config, uid: number): boolean {
  if (hostNss.passwdByUid(uid) === null) return false;
  const gid = groupIdByName(config.access.jailGroup);
  return gid !== null && resolveIdentity(uid).groups.some((g) => g.gid === gid);
}

/** Seconds since the jail last saw a login, a logout or a start. */
function idleSeconds(jail: JailState): number {
  const times = [jail.startedAt, jail.uid === null ? null : lastLoginOf(jail.uid), jail.uid === null ? null : lastLogoutOf(jail.uid)];
  const latest = Math.max(...times.map((t) => (t ? Date.parse(t) : 0)).filter((t) => !Number.isNaN(t)));
  return Math.floor((Date.now() - latest) / 1000);
}

async function attempt<T>(engine: Engine, doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw engineError(engine.socket, error, doing);
  }
}
