import { mkdirSync, rmSync, statSync } from 'node:fs';
import { auditLog, formatRemovalRecord } from '../audit/syslog';
import type { Config } from '../config/types';
import { homeOutsideBases } from '../config/values';
import type { ContainerSummary } from '../engine/api';
import { type Engine, engineCall } from '../engine/client';
import { JailError } from '../errors';
import { withHostLock } from '../host/locks';
import { STAGING_ROOT, unmountLazily } from '../host/mounts';
import { GC_LAST_RUN, ORPHANS_DIR } from '../host/paths';
import { JAIL_NOBODY, jailProcesses } from '../host/procfs';
import { removeScratch, scratchKeys, scratchOwner } from '../host/scratch';
import { readStateFile, writeStateFile } from '../host/stateFiles';
import { groupIdByName, hostNss, type Identity } from '../identity/nss';
import { identityAndAccess } from '../policy/access';
import type { Report } from '../policy/enrolment';
import { pruneAgentStates } from '../session/agent';
import { sessionsIn } from '../session/hangup';
import { lastActivityOfAnyone, lastLoginOf, lastLogoutOf } from '../session/records';
import { jailCgroupOf } from './cgroup';
import {
  danglingImageLine,
  dryRunLines,
  type GcAction,
  type GcOwner,
  type JailState,
  planGc,
  planRoll,
  planScratch,
  type RollOwner,
  rollActsOn,
  stillJailed,
} from './gcPlan';
import { currentStandard, isOutdated, type Jail, madeWith, pruneIdentityCache, standardOf } from './jail';
import { LABEL_MANAGED, LABEL_SHARED, LABEL_UID, labelsOf } from './labels';
import { jailLockPath, placementOf } from './placement';
import { prepareJail } from './prepare';

/** gc and image update leave a jail whose lock a login holds this long for their next run, and say so. */
const GC_LOCK_WAIT_SECONDS = 15;

/**
 * `docker-jail gc`, safe to run from a timer: stops jails idle longer than
 * idle_stop, removes jails of users who are gone or no longer jailed once
 * [gc] grace has passed (never their homes), and removes dangling images of
 * ours. Each jail is handled under its lock, which a login holds until its
 * session has started, so a login never lands in a jail being removed.
 * `dryRun` plans the same and reports what would be done, changing nothing
 * (no jail, image, grace mark or cache).
 */
export async function collectGarbage(engine: Engine, config: Config, report: Report, dryRun = false): Promise<boolean> {
  // A directory outage makes every user look gone (getent answers "no such user"), and so does a misspelt
  // jail_group: while the jail group itself does not resolve, nothing is judged at all. An NSS error throws.
  if (groupIdByName(config.access.jailGroup) === null) {
    report(`the jail group ${config.access.jailGroup} does not resolve (a directory outage, or a misspelt jail_group): nothing collected`);
    return false;
  }
  let ok = await eachJailUnderLock(engine, config, report, async (jail, labelledUser) => {
    const owner = gcOwnerOf(config, jail, labelledUser);
    const limits = { idleStopSeconds: config.session.idleStopSeconds, graceSeconds: config.gc.graceSeconds };
    await carryOut(engine, config, subjectOf(jail), planGc(jail, owner, Date.now(), limits), report, dryRun);
  });
  ok = (await collectScratch(engine, config, report, dryRun)) && ok;
  if (dryRun) return (await reportDanglingImages(engine, report)) && ok;
  // A container made after this listing only has its passwd and group written once more at its next login.
  const existing = new Set((await managedJails(engine)).map((jail) => jail.Id));
  pruneIdentityCache(existing);
  pruneAgentStates(existing);
  const dangling = await engineCall(engine, 'listing images', () => engine.control.listImages({ dangling: ['true'], label: [`${LABEL_MANAGED}=true`] }));
  for (const image of dangling) {
    const removed = await engine.control
      .getImage(image.Id)
      .remove()
      .then(
        () => true,
        () => false,
      ); // still used by a jail: kept
    if (removed) report(`image ${image.Id.slice(7, 19)}: removed (dangling)`);
  }
  // For `metrics`: when gc last completed, and whether every jail was handled.
  writeStateFile(GC_LAST_RUN, JSON.stringify({ finished: new Date().toISOString(), ok }));
  return ok;
}

/**
 * Handles every jail of ours in turn, each under its lock and as inspected
 * there (one removed meanwhile is skipped): a jail's failure is reported and
 * the others are still handled. False when any failed.
 */
async function eachJailUnderLock(
  engine: Engine,
  config: Config,
  report: Report,
  handle: (jail: JailState, labelledUser: string | undefined) => Promise<void>,
): Promise<boolean> {
  let ok = true;
  for (const info of await managedJails(engine)) {
    const uid = uidLabelOf(info);
    try {
      await withHostLock(
        jailLockPath(config, uid ?? 0),
        async () => {
          const jail = await jailState(engine, info.Id, uid);
          if (jail !== null) await handle(jail, labelsOf(info.Labels).user ?? undefined);
        },
        GC_LOCK_WAIT_SECONDS,
      );
    } catch (error) {
      report(`${info.Names?.[0]?.replace(/^\//, '') ?? info.Id.slice(0, 12)}: not handled: ${error instanceof Error ? error.message : String(error)}`);
      ok = false;
    }
  }
  return ok;
}

/**
 * The second half of `docker-jail image update` (all of `image update
 * --config`): every outdated jail (outdatedReasons: on an older build of the
 * configured image, with limits or a network the config has changed since,
 * another seccomp profile than the shipped one, or the other kind of sessions)
 * is recreated on the current build and config when it is idle, at once
 * (homes are kept: they are bind mounts); busy ones are left for close_session
 * (their last session's end) or a later run. `dryRun` reports what would be
 * done against the image built now, changing nothing.
 */
export async function rollJails(engine: Engine, config: Config, report: Report, dryRun = false): Promise<boolean> {
  const image = await engineCall(engine, 'reading the image', () => engine.control.getImage(config.jail.image).inspect());
  const current = standardOf(image.Id, config);
  return eachJailUnderLock(engine, config, report, async (jail, labelledUser) => {
    const owner = rollActsOn(jail, current) ? rollOwnerOf(config, jail, labelledUser) : null;
    await carryOut(engine, config, subjectOf(jail), planRoll(jail, current, owner, config.jail.image), report, dryRun);
  });
}

/** close_session's part of a roll: an outdated jail whose last session has ended is removed; the next login makes it anew. */
export async function removeIfOutdatedAndIdle(engine: Engine, config: Config, jail: Jail, uid: number | null): Promise<boolean> {
  // Every logout asks; nearly always the jail is current, and one inspect of the image and one of the jail (its
  // limits and network) tell.
  const inspected = await engine.control
    .getContainer(jail.id)
    .inspect()
    .catch(() => null);
  if (inspected === null) return false; // removed meanwhile
  if (!isOutdated({ ...jail, agent: uid === null ? undefined : jail.agent, ...madeWith(inspected) }, await currentStandard(engine, config))) return false;
  const state = await jailState(engine, jail.id, uid);
  if (state === null || state.busy) return false;
  await engine.control.getContainer(jail.id).remove();
  const reason = `${jail.name}: removed at the end of its last session (outdated; made anew at the next login)`;
  await auditLog(formatRemovalRecord('jail', { jail: jail.name, ownerUid: jail.uid, owner: jail.user, reason }), 'notice');
  return true;
}

/** What the actions of one plan act on: a jail (gc, image update) or a /tmp image (gc), with its grace mark. */
interface PlanSubject {
  /** The jail; null for a /tmp image. */
  jail: JailState | null;
  /** Its grace mark's file name under ORPHANS_DIR. */
  mark: string;
  /** Its /tmp image's key: the uid, or `shared`. */
  scratchKey: string;
}

/** Carries out a plan's actions in order; the first that fails ends it (eachJail reports the failure). A dry run only reports them. */
async function carryOut(engine: Engine, config: Config, subject: PlanSubject, actions: GcAction[], report: Report, dryRun: boolean): Promise<void> {
  if (dryRun) {
    for (const line of dryRunLines(actions, subject.jail)) report(line);
    return;
  }
  const jailOf = (): JailState => {
    if (subject.jail === null) throw new Error(`a plan for the /tmp image ${subject.scratchKey} acts on a jail`);
    return subject.jail;
  };
  // Why a removal happens is the line its plan reports after it (gcPlan.ts makes every line): the audit record says it too.
  const why = (index: number) => actions.slice(index).find((a): a is GcAction & { do: 'report' } => a.do === 'report')?.line;
  for (const [index, action] of actions.entries()) {
    switch (action.do) {
      case 'report':
        report(action.line);
        break;
      case 'stop': {
        const jail = jailOf();
        await engineCall(engine, `stopping ${jail.name}`, () => engine.control.getContainer(jail.id).stop(5));
        break;
      }
      case 'remove': {
        const jail = jailOf();
        await engineCall(engine, `removing ${jail.name}`, () => engine.control.getContainer(jail.id).remove());
        await auditLog(formatRemovalRecord('jail', { jail: jail.name, ownerUid: jail.uid, owner: jail.user, reason: why(index) }), 'notice');
        break;
      }
      case 'recreate': {
        await prepareJail(engine, config, action.owner, placementOf(config, action.owner));
        break;
      }
      case 'refuse':
        throw new JailError(action.reason);
      case 'markGrace':
        mkdirSync(ORPHANS_DIR, { recursive: true, mode: 0o700 });
        writeStateFile(`${ORPHANS_DIR}/${subject.mark}`, String(action.since));
        break;
      case 'clearGrace':
        rmSync(`${ORPHANS_DIR}/${subject.mark}`, { force: true });
        break;
      case 'unmountStaging':
        unmountLazily(`${STAGING_ROOT}/${jailOf().uid}`);
        break;
      case 'removeScratch':
        removeScratch(subject.scratchKey);
        await auditLog(formatRemovalRecord('scratch', { of: subject.scratchKey, reason: why(index) }), 'notice');
        break;
    }
  }
}

/** When gc first found the thing marked `mark` without a jailed owner (ms since the epoch; NaN if damaged), or null. */
function graceMarkOf(mark: string): number | null {
  try {
    return Number(readStateFile(`${ORPHANS_DIR}/${mark}`));
  } catch {
    return null; // not marked yet
  }
}

function subjectOf(jail: JailState): PlanSubject {
  return { jail, mark: jail.id, scratchKey: jail.uid === null ? 'shared' : String(jail.uid) };
}

/** What gc reads of a jail's owner: NSS's verdict; then an orphan's grace mark and /tmp image's owner, or the activity of a jail in use. */
function gcOwnerOf(config: Config, jail: JailState, labelledUser: string | undefined): GcOwner {
  const uid = jail.uid;
  if (uid !== null && jailedOwner(config, uid, labelledUser) === null) {
    return { orphaned: true, graceMark: graceMarkOf(jail.id), scratchOwner: scratchOwner(String(uid)) };
  }
  return { orphaned: false, activity: uid === null ? lastActivityOfAnyone() : [lastLoginOf(uid), lastLogoutOf(uid)] };
}

/**
 * What image update reads of the owner of a jail it acts on (never of a busy
 * or current jail's: their broken NSS entry fails nothing); null for the
 * shared jail. Only a running jail is recreated at once, so only then is the
 * home looked at.
 */
function rollOwnerOf(config: Config, jail: JailState, labelledUser: string | undefined): RollOwner | null {
  if (jail.uid === null) return null;
  const identity = jailedOwner(config, jail.uid, labelledUser);
  return { identity, homeUsable: identity !== null && jail.running ? homeUsable(identity, config) : null };
}

/**
 * The /tmp images of users who are gone or no longer jailed (or whose uid was
 * given to someone else) and have no jail left, removed by hand, say, once the
 * grace period has passed, as for jails: a user gone for a directory outage is
 * back before it ends. A jail removed with its owner still jailed keeps its
 * image for the next one, as after image update. The shared jail's goes when
 * per-user mode has replaced it.
 */
async function collectScratch(engine: Engine, config: Config, report: Report, dryRun: boolean): Promise<boolean> {
  let ok = true;
  for (const key of scratchKeys()) {
    const uid = key === 'shared' ? null : Number(key);
    try {
      await withHostLock(
        jailLockPath(config, uid ?? 0),
        async () => {
          const label = uid === null ? `${LABEL_SHARED}=true` : `${LABEL_UID}=${uid}`;
          const jails = await engineCall(engine, 'listing the jails', () => engine.control.listContainers({ label: [`${LABEL_MANAGED}=true`, label] }));
          const mark = `scratch-${key}`;
          const owner = scratchOwner(key);
          // NSS is asked only about the owner of an image no jail has: an image in use is never judged.
          const ownerJailed = jails.length === 0 && uid !== null && owner !== null && jailedOwner(config, uid, owner) !== null;
          const scratch = { uid, jails: jails.length, owner, ownerJailed, sharedMode: config.jail.mode === 'shared', graceMark: graceMarkOf(mark) };
          await carryOut(engine, config, { jail: null, mark, scratchKey: key }, planScratch(scratch, Date.now(), config.gc.graceSeconds), report, dryRun);
        },
        GC_LOCK_WAIT_SECONDS,
      );
    } catch (error) {
      report(`/tmp and /var/tmp of ${key}: not handled: ${error instanceof Error ? error.message : String(error)}`);
      ok = false;
    }
  }
  return ok;
}

/** gc's dry run of its last step: the dangling images of ours it would remove, those no container uses. */
async function reportDanglingImages(engine: Engine, report: Report): Promise<boolean> {
  const dangling = await engineCall(engine, 'listing images', () => engine.control.listImages({ dangling: ['true'], label: [`${LABEL_MANAGED}=true`] }));
  const used = new Set((await engineCall(engine, 'listing the containers', () => engine.control.listContainers({}))).map((c) => c.ImageID));
  for (const image of dangling) report(danglingImageLine(image.Id, used.has(image.Id)));
  return true;
}

async function managedJails(engine: Engine): Promise<ContainerSummary[]> {
  return engineCall(engine, 'listing the jails', () => engine.control.listContainers({ label: [`${LABEL_MANAGED}=true`] }));
}

/** A jail's state and whether it is busy: sessions of anyone, or processes left of its owner (of anyone, for uid null: the shared jail). */
export async function jailState(engine: Engine, id: string, uid: number | null): Promise<JailState | null> {
  const inspected = await engine.control
    .getContainer(id)
    .inspect()
    .catch(() => null);
  if (inspected === null) return null; // removed meanwhile
  const running = inspected.State.Running;
  const { sessions, leftovers } = running ? await jailActivity(engine, id, uid) : { sessions: 0, leftovers: 0 };
  const labels = labelsOf(inspected.Config.Labels);
  return {
    id,
    name: inspected.Name.replace(/^\//, ''),
    uid,
    user: labels.user,
    running,
    imageId: inspected.Image,
    seccomp: labels.seccomp,
    // A shared jail is never measured by the kind of its sessions.
    agent: uid === null ? undefined : labels.agent,
    ...madeWith(inspected),
    startedAt: inspected.State.StartedAt,
    busy: sessions + leftovers > 0,
  };
}

/** What runs in a running jail: its sessions (anyone's), and processes left of its owner (of anyone, for uid null: the shared jail). */
export async function jailActivity(engine: Engine, id: string, uid: number | null): Promise<{ sessions: number; leftovers: number }> {
  const sessions = await sessionsIn(engine, id, null, null, null);
  const leftovers = jailProcesses(await jailCgroupOf(engine, id), null).filter((p) => p.uid !== JAIL_NOBODY && (uid === null || p.uid === uid)).length;
  return { sessions, leftovers };
}

function uidLabelOf(info: ContainerSummary): number | null {
  return labelsOf(info.Labels).uid;
}

/**
 * The jail's owner, if they still are who the jail was made for and a login
 * would let them in (in the jail group, not in the exempt group); null when
 * they are gone, no longer jailed, or their uid now belongs to another user
 * name (userdel, then useradd).
 */
function jailedOwner(config: Config, uid: number, labelledUser: string | undefined): Identity | null {
  if (hostNss.passwdByUid(uid) === null) return null;
  const { identity, access } = identityAndAccess(uid, config); // a malformed entry is an error, not a departure
  return stillJailed({ user: identity.user, jailable: access === 'jailed' }, labelledUser) ? identity : null;
}

/** Whether a jail made now could bind this home: below [home] bases, a directory owned by the user (prepareJail refuses any other). */
export function homeUsable(identity: Identity, config: Config): boolean {
  if (homeOutsideBases(identity.home, config.home.bases) !== null) return false; // prepareJail would refuse it
  const home = statSync(identity.home, { throwIfNoEntry: false });
  return home?.isDirectory() === true && home.uid === identity.uid;
}
