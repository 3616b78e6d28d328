import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { Config } from '../config/types';
import { homeOutsideBases } from '../config/values';
import type { ContainerSummary } from '../engine/api';
import { type Engine, engineError } from '../engine/client';
import { STAGING_ROOT, unmountLazily } from '../host/mounts';
import { ORPHANS_DIR } from '../host/paths';
import { writeStateFile } from '../host/stateFiles';
import { withHostLock } from '../host/locks';
import { agentJails, currentStandard, type FoundJail, isOutdated, pruneIdentityCache } from './jail';
import { JAIL_NOBODY, jailProcesses } from '../host/procfs';
import { removeScratch, scratchKeys, scratchOwner } from '../host/scratch';
import { loadSeccompProfile } from './seccomp';
import { JailError } from '../errors';
import { groupIdByName, hostNss, type Identity, resolveIdentityAndGroups } from '../identity/nss';
import { prepareJail } from './prepare';
import { lastActivityOfAnyone, lastLoginOf, lastLogoutOf } from '../session/records';
import { pruneAgentStates } from '../session/agent';
import type { Report } from '../policy/enrolment';
import { checkJailable } from '../policy/access';
import { sessionsIn } from '../session/hangup';
import { jailCgroupOf } from './cgroup';
import { LABEL_MANAGED, LABEL_SESSIONS, LABEL_SECCOMP, LABEL_SHARED, LABEL_UID, LABEL_USER } from './labels';
import { homeTargetFor, jailLockPath } from './placement';

/** gc and image update leave a jail whose lock a login holds this long for their next run, and say so. */
const GC_LOCK_WAIT_SECONDS = 15;

/** A jail as gc and image update see it, read under the jail's lock. */
interface JailState {
  id: string;
  name: string;
  uid: number | null;
  /** The user it was made for (per-user mode). */
  user: string | null;
  running: boolean;
  imageId: string;
  seccomp: string | null;
  /** Per-user jails: whether its init is the session agent. */
  agent?: boolean;
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
export async function collectGarbage(engine: Engine, config: Config, report: Report): Promise<boolean> {
  // A directory outage makes every user look gone (getent answers "no such user"), and so does a misspelt
  // jail_group: while the jail group itself does not resolve, nothing is judged at all. An NSS error throws.
  if (groupIdByName(config.access.jailGroup) === null) {
    report(`the jail group ${config.access.jailGroup} does not resolve (a directory outage, or a misspelt jail_group): nothing collected`);
    return false;
  }
  let ok = true;
  for (const info of await managedJails(engine)) {
    const uid = uidLabelOf(info);
    ok = (await eachJail(info, report, () => withHostLock(jailLockPath(config, uid ?? 0), async () => {
      const jail = await jailState(engine, info.Id, uid);
      if (jail === null) return;
      if (uid !== null && jailedOwner(config, uid, info.Labels?.[LABEL_USER]) === null) return removeOrphan(engine, config, jail, report);
      rmSync(`${ORPHANS_DIR}/${jail.id}`, { force: true });
      const idleFor = idleSeconds(jail);
      if (jail.running && !jail.busy && config.session.idleStopSeconds !== null && idleFor >= config.session.idleStopSeconds) {
        await attempt(engine, `stopping ${jail.name}`, () => engine.control.getContainer(jail.id).stop(5));
        report(`${jail.name}: stopped (idle for ${idleFor} s)`);
      }
    }, GC_LOCK_WAIT_SECONDS))) && ok;
  }
  ok = (await collectScratch(engine, config, report)) && ok;
  // A container made after this listing only has its passwd and group written once more at its next login.
  const existing = new Set((await managedJails(engine)).map((jail) => jail.Id));
  pruneIdentityCache(existing);
  pruneAgentStates(existing);
  const dangling = await attempt(engine, 'listing images', () => engine.control.listImages({ dangling: ['true'], label: [`${LABEL_MANAGED}=true`] }));
  for (const image of dangling) {
    const removed = await engine.control.getImage(image.Id).remove().then(() => true, () => false); // still used by a jail: kept
    if (removed) report(`image ${image.Id.slice(7, 19)}: removed (dangling)`);
  }
  return ok;
}

/** One jail's part of gc or image update: its failure is reported and the others are still handled. */
async function eachJail(info: ContainerSummary, report: Report, handle: () => Promise<void>): Promise<boolean> {
  try {
    await handle();
    return true;
  } catch (error) {
    report(`${info.Names?.[0]?.replace(/^\//, '') ?? info.Id.slice(0, 12)}: not handled: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

/**
 * The second half of `docker-jail image update`: every outdated jail (on an
 * older build of the configured image, or made with another seccomp profile
 * than the shipped one) is recreated on the new one when it is idle, at once
 * (homes are kept: they are bind mounts); busy ones are left for close_session
 * (their last session's end) or a later run.
 */
export async function rollJails(engine: Engine, config: Config, report: Report): Promise<boolean> {
  const image = await attempt(engine, 'reading the image', () => engine.control.getImage(config.jail.image).inspect());
  const current = { imageId: image.Id, seccomp: loadSeccompProfile().hash, agent: agentJails(config) };
  let ok = true;
  for (const info of await managedJails(engine)) {
    const uid = uidLabelOf(info);
    ok = (await eachJail(info, report, () => withHostLock(jailLockPath(config, uid ?? 0), async () => {
      const jail = await jailState(engine, info.Id, uid);
      if (jail === null || !isOutdated(jail, current)) return;
      if (jail.busy) return report(`${jail.name}: busy; recreated when its last session ends`);
      const owner = uid === null ? null : jailedOwner(config, uid, info.Labels?.[LABEL_USER]);
      // The jail of an owner who is gone or no longer jailed is gc's, after its grace period: not removed here.
      if (uid !== null && owner === null) return report(`${jail.name}: left for gc (owner uid ${uid} is gone or no longer jailed)`);
      // A stopped jail stays stopped: the next login makes it anew.
      const identity = jail.running ? owner : null;
      // Checked before the old jail goes: a home the new jail could not mount would leave the user with none.
      if (identity !== null && !homeUsable(identity, config)) throw new JailError(`kept on the old image: the home ${identity.home} is missing, not owned by uid ${uid} or not below [home] bases`);
      await attempt(engine, `removing ${jail.name}`, () => engine.control.getContainer(jail.id).remove());
      if (identity === null) return report(`${jail.name}: removed (made anew on ${config.jail.image} at the next login)`);
      const vars = { user: identity.user, uid: String(identity.uid), home: identity.home };
      await prepareJail(engine, config, identity, vars, homeTargetFor(config, vars));
      report(`${jail.name}: recreated on ${config.jail.image}`);
    }, GC_LOCK_WAIT_SECONDS))) && ok;
  }
  return ok;
}

/** close_session's part of a roll: an outdated jail whose last session has ended is removed; the next login makes it anew. */
export async function removeIfOutdatedAndIdle(engine: Engine, config: Config, jail: FoundJail, uid: number | null): Promise<boolean> {
  // Every logout asks; nearly always the jail is current, and one image inspect (and the profile's hash) tells.
  if (!isOutdated({ ...jail, agent: uid === null ? undefined : jail.agent }, await currentStandard(engine, config))) return false;
  const state = await jailState(engine, jail.id, uid);
  if (state === null || state.busy) return false;
  await engine.control.getContainer(jail.id).remove();
  return true;
}

async function removeOrphan(engine: Engine, config: Config, jail: JailState, report: Report): Promise<void> {
  if (jail.busy) return report(`${jail.name}: owner uid ${jail.uid} is gone or no longer jailed, but the jail is busy`);
  const left = graceLeft(jail.id, config);
  if (left > 0) return report(`${jail.name}: owner uid ${jail.uid} is gone or no longer jailed; removed after the grace period (${left} s left)`);
  await attempt(engine, `removing ${jail.name}`, () => engine.control.getContainer(jail.id).remove());
  const key = jail.uid === null ? 'shared' : String(jail.uid);
  // A new account that took the uid has its own jail, staging and /tmp by now: those are not this jail's.
  const owner = scratchOwner(key);
  const taken = jail.user !== null && owner !== null && owner !== jail.user;
  if (!taken) {
    unmountLazily(`${STAGING_ROOT}/${jail.uid}`);
    removeScratch(key);
  }
  rmSync(`${ORPHANS_DIR}/${jail.id}`, { force: true });
  report(`${jail.name}: removed${taken ? '' : ' with its /tmp and /var/tmp'} (owner uid ${jail.uid} is gone or no longer jailed; the home is kept)`);
}

/**
 * Seconds left of the grace period of something gc found without a jailed
 * owner, marked by `mark` (a file under ORPHANS_DIR); 0 once it has passed.
 * The first call starts the period.
 */
function graceLeft(mark: string, config: Config): number {
  mkdirSync(ORPHANS_DIR, { recursive: true, mode: 0o700 });
  const marked = `${ORPHANS_DIR}/${mark}`;
  let since = Number.NaN;
  try {
    since = Number(readFileSync(marked, 'utf8'));
  } catch {
    // not marked yet
  }
  // A mark that is missing, damaged (a crash while writing it) or in the future starts the grace period now.
  if (!Number.isFinite(since) || since <= 0 || since > Date.now()) {
    since = Date.now();
    writeStateFile(marked, String(since));
  }
  return Math.max(0, config.gc.graceSeconds - Math.floor((Date.now() - since) / 1000));
}

/**
 * The /tmp images of users who are gone or no longer jailed (or whose uid was
 * given to someone else) and have no jail left, removed by hand, say, once the
 * grace period has passed, as for jails: a user gone for a directory outage is
 * back before it ends. A jail removed with its owner still jailed keeps its
 * image for the next one, as after image update. The shared jail's goes when
 * per-user mode has replaced it.
 */
async function collectScratch(engine: Engine, config: Config, report: Report): Promise<boolean> {
  let ok = true;
  for (const key of scratchKeys()) {
    const uid = key === 'shared' ? null : Number(key);
    try {
      await withHostLock(jailLockPath(config, uid ?? 0), async () => {
        const label = uid === null ? `${LABEL_SHARED}=true` : `${LABEL_UID}=${uid}`;
        const jails = await attempt(engine, 'listing the jails', () => engine.control.listContainers({ label: [`${LABEL_MANAGED}=true`, label] }));
        const mark = `scratch-${key}`;
        const owner = scratchOwner(key);
        const stale = jails.length === 0 && (uid === null ? config.jail.mode !== 'shared' : owner === null || jailedOwner(config, uid, owner) === null);
        if (!stale) return rmSync(`${ORPHANS_DIR}/${mark}`, { force: true });
        const left = graceLeft(mark, config);
        if (left > 0) return report(`/tmp and /var/tmp of ${uid === null ? 'the shared jail' : `uid ${uid}`}: no jail and no jailed owner; removed after the grace period (${left} s left)`);
        removeScratch(key);
        rmSync(`${ORPHANS_DIR}/${mark}`, { force: true });
        report(`/tmp and /var/tmp of ${uid === null ? 'the shared jail' : `uid ${uid} (made for ${owner ?? 'an unknown user'})`}: removed (no jail and no jailed owner left)`);
      }, GC_LOCK_WAIT_SECONDS);
    } catch (error) {
      report(`/tmp and /var/tmp of ${key}: not handled: ${error instanceof Error ? error.message : String(error)}`);
      ok = false;
    }
  }
  return ok;
}

async function managedJails(engine: Engine): Promise<ContainerSummary[]> {
  return attempt(engine, 'listing the jails', () => engine.control.listContainers({ label: [`${LABEL_MANAGED}=true`] }));
}

/** A jail's state and whether it is busy: sessions of anyone, or processes left of its owner (of anyone, for uid null: the shared jail). */
export async function jailState(engine: Engine, id: string, uid: number | null): Promise<JailState | null> {
  const inspected = await engine.control.getContainer(id).inspect().catch(() => null);
  if (inspected === null) return null; // removed meanwhile
  const running = inspected.State.Running;
  const sessions = running ? await sessionsIn(engine, id, null, null, null) : 0;
  const leftovers = running ? jailProcesses(await jailCgroupOf(engine, id), null).filter((p) => p.uid !== JAIL_NOBODY && (uid === null || p.uid === uid)).length : 0;
  const seccomp = inspected.Config.Labels?.[LABEL_SECCOMP] ?? null;
  const agent = uid === null ? undefined : inspected.Config.Labels?.[LABEL_SESSIONS] === 'agent';
  return { id, name: inspected.Name.replace(/^\//, ''), uid, user: inspected.Config.Labels?.[LABEL_USER] ?? null, running, imageId: inspected.Image, seccomp, agent, startedAt: inspected.State.StartedAt, busy: sessions + leftovers > 0 };
}

function uidLabelOf(info: ContainerSummary): number | null {
  const label = info.Labels?.[LABEL_UID];
  return label === undefined ? null : Number(label);
}

/**
 * The jail's owner, if they still are who the jail was made for and a login
 * would let them in (in the jail group, not in the exempt group); null when
 * they are gone, no longer jailed, or their uid now belongs to another user
 * name (userdel, then useradd).
 */
function jailedOwner(config: Config, uid: number, labelledUser: string | undefined): Identity | null {
  if (hostNss.passwdByUid(uid) === null) return null;
  const { identity, groupIdOf } = resolveIdentityAndGroups(uid, [config.access.exemptGroup, config.access.jailGroup]); // a malformed entry is an error, not a departure
  if (labelledUser !== undefined && identity.user !== labelledUser) return null;
  try {
    checkJailable(identity, config, groupIdOf);
    return identity;
  } catch (error) {
    if (error instanceof JailError) return null;
    throw error;
  }
}

function homeUsable(identity: Identity, config: Config): boolean {
  if (homeOutsideBases(identity.home, config.home.bases) !== null) return false; // enterJail would refuse it
  const home = statSync(identity.home, { throwIfNoEntry: false });
  return home !== undefined && home.isDirectory() && home.uid === identity.uid;
}

/** Seconds since the jail last saw a login, a logout or a start; a shared jail's users are everyone's. */
function idleSeconds(jail: JailState): number {
  const times = [jail.startedAt, ...(jail.uid === null ? lastActivityOfAnyone() : [lastLoginOf(jail.uid), lastLogoutOf(jail.uid)])];
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
