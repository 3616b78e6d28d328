import type { Identity } from '../identity/nss';
import { isOutdated, type Jail, type JailLimits, type JailStandard } from './jail';

/**
 * What gc and image update decide, as pure functions of what they read under a
 * jail's lock (gc.ts gathers it and carries the actions out, in order). Every
 * line they report is made here.
 */

/** A jail (jail.ts) as gc and image update see it, inspected under its lock: running since when, and whether busy. */
export interface JailState extends Pick<Jail, 'id' | 'name' | 'uid' | 'user' | 'imageId' | 'seccomp'> {
  running: boolean;
  /** Per-user jails: whether its init is the session agent; undefined for the shared jail, never measured by it. */
  agent?: boolean;
  /** The limits and network it was made with, as inspected (madeWith). */
  limits?: JailLimits;
  network?: string;
  startedAt: string;
  /** Sessions running, or processes of its users left (nohup'd jobs): not idle. */
  busy: boolean;
}

/** One step of gc or image update, carried out in order; a failing step ends the jail's (or image's) handling. */
export type GcAction =
  | { do: 'report'; line: string }
  /** Stop the jail (5 s before the engine kills it). */
  | { do: 'stop' }
  /** Remove the jail's container (its home is a bind mount and stays). */
  | { do: 'remove' }
  /** Make a jail anew for its owner, on the current image. */
  | { do: 'recreate'; owner: Identity }
  /** Do nothing more with it: this is reported as the jail's failure. */
  | { do: 'refuse'; reason: string }
  /** Write the grace mark: its grace period started at `since` (ms since the epoch). */
  | { do: 'markGrace'; since: number }
  | { do: 'clearGrace' }
  /** Lazily unmount the removed jail's staging view of its home. */
  | { do: 'unmountStaging' }
  /** Unmount and delete the /tmp and /var/tmp image. */
  | { do: 'removeScratch' };

/** What gc is configured with: [session] idle_stop (null: never) and [gc] grace. */
export interface GcLimits {
  idleStopSeconds: number | null;
  graceSeconds: number;
}

/** Who holds a uid now, as NSS answers: their name, and whether a login of theirs would be jailed. */
export interface UidHolder {
  user: string;
  jailable: boolean;
}

/**
 * Whether a jail's (or /tmp image's) owner still is who it was made for and a
 * login would jail them: not when the uid has no user (null), when they are no
 * longer jailed, or when the uid now belongs to another user name (userdel,
 * then a useradd that reused it).
 */
export function stillJailed(holder: UidHolder | null, madeFor: string | undefined): boolean {
  return holder !== null && (madeFor === undefined || holder.user === madeFor) && holder.jailable;
}

/**
 * The grace period of something found without a jailed owner, from its mark
 * (the time it was first found, ms since the epoch; null when unmarked): the
 * seconds left, 0 once it has passed. A mark that is missing, damaged (a crash
 * while writing it) or in the future starts the period now.
 */
export function graceOf(markedAt: number | null, now: number, graceSeconds: number): { left: number; startsNow: boolean } {
  const startsNow = markedAt === null || !Number.isFinite(markedAt) || markedAt <= 0 || markedAt > now;
  const since = startsNow ? now : markedAt;
  return { left: Math.max(0, graceSeconds - Math.floor((now - since) / 1000)), startsNow };
}

/** Seconds since the latest of these times (ISO 8601; null or unreadable ones are not counted). */
export function idleSeconds(times: (string | null)[], now: number): number {
  const latest = Math.max(...times.map((t) => (t ? Date.parse(t) : 0)).filter((t) => !Number.isNaN(t)));
  return Math.floor((now - latest) / 1000);
}

/** What gc reads about a jail's owner: gone (or no longer jailed) or not, and what each case needs. */
export type GcOwner =
  /** A jailed owner, or the shared jail: its recorded logins and logouts (anyone's, for the shared jail). */
  | { orphaned: false; activity: (string | null)[] }
  /** The owner is gone or no longer jailed: the jail's grace mark, and whom its uid's /tmp image was made for. */
  | { orphaned: true; graceMark: number | null; scratchOwner: string | null };

/**
 * gc's plan for one jail: a jail whose owner is gone or no longer jailed is
 * removed once its grace period has passed (never while busy); any other jail
 * loses its grace mark and is stopped when idle for idle_stop.
 */
export function planGc(jail: JailState, owner: GcOwner, now: number, limits: GcLimits): GcAction[] {
  if (owner.orphaned) return planOrphan(jail, owner, now, limits.graceSeconds);
  const actions: GcAction[] = [{ do: 'clearGrace' }];
  // Idle since its start, or its owner's last login or logout, whichever came last.
  const idleFor = idleSeconds([jail.startedAt, ...owner.activity], now);
  if (jail.running && !jail.busy && limits.idleStopSeconds !== null && idleFor >= limits.idleStopSeconds) {
    actions.push({ do: 'stop' }, report(`${jail.name}: stopped (idle for ${idleFor} s)`));
  }
  return actions;
}

function planOrphan(jail: JailState, owner: GcOwner & { orphaned: true }, now: number, graceSeconds: number): GcAction[] {
  if (jail.busy) return [report(`${jail.name}: owner uid ${jail.uid} is gone or no longer jailed, but the jail is busy`)];
  const grace = graceOf(owner.graceMark, now, graceSeconds);
  const actions: GcAction[] = grace.startsNow ? [{ do: 'markGrace', since: now }] : [];
  if (grace.left > 0) {
    return [...actions, report(`${jail.name}: owner uid ${jail.uid} is gone or no longer jailed; removed after the grace period (${grace.left} s left)`)];
  }
  actions.push({ do: 'remove' });
  // A new account that took the uid has its own jail, staging and /tmp by now: those are not this jail's.
  const taken = jail.user !== null && owner.scratchOwner !== null && owner.scratchOwner !== jail.user;
  if (!taken) actions.push({ do: 'unmountStaging' }, { do: 'removeScratch' });
  actions.push(
    { do: 'clearGrace' },
    report(`${jail.name}: removed${taken ? '' : ' with its /tmp and /var/tmp'} (owner uid ${jail.uid} is gone or no longer jailed; the home is kept)`),
  );
  return actions;
}

/** A /tmp and /var/tmp image as gc sees it, read under its jail's lock. */
export interface ScratchState {
  /** Its jail's owner; null: the shared jail's image. */
  uid: number | null;
  /** How many jails of ours have its uid (or are the shared jail). */
  jails: number;
  /** Whom it was made for (its owner file); null when it has none. */
  owner: string | null;
  /** Whether that user still holds the uid and is jailed; asked only when no jail has the uid and the image names an owner. */
  ownerJailed: boolean;
  /** [jail] mode is shared: the shared jail's image is still in use. */
  sharedMode: boolean;
  graceMark: number | null;
}

/**
 * gc's plan for a /tmp image that no jail has and no jailed owner would get
 * back (removed by hand, say, or its uid given to someone else): removed once
 * its grace period has passed, as for jails, since a user gone for a directory
 * outage is back before it ends. The shared jail's goes when per-user mode has
 * replaced it.
 */
export function planScratch(scratch: ScratchState, now: number, graceSeconds: number): GcAction[] {
  const stale = scratch.jails === 0 && (scratch.uid === null ? !scratch.sharedMode : scratch.owner === null || !scratch.ownerJailed);
  if (!stale) return [{ do: 'clearGrace' }];
  const grace = graceOf(scratch.graceMark, now, graceSeconds);
  const actions: GcAction[] = grace.startsNow ? [{ do: 'markGrace', since: now }] : [];
  const of = scratch.uid === null ? 'the shared jail' : `uid ${scratch.uid}`;
  if (grace.left > 0) {
    return [...actions, report(`/tmp and /var/tmp of ${of}: no jail and no jailed owner; removed after the grace period (${grace.left} s left)`)];
  }
  const madeFor = scratch.uid === null ? '' : ` (made for ${scratch.owner ?? 'an unknown user'})`;
  return [
    ...actions,
    { do: 'removeScratch' },
    { do: 'clearGrace' },
    report(`/tmp and /var/tmp of ${of}${madeFor}: removed (no jail and no jailed owner left)`),
  ];
}

/** A per-user jail's owner as image update needs them. */
export interface RollOwner {
  /** Who they are, if they still hold the uid and are jailed; null when gone or no longer jailed. */
  identity: Identity | null;
  /** Whether their home could be bound by a jail made now; checked only when a running jail would be recreated at once. */
  homeUsable: boolean | null;
}

/** Whether image update acts on this jail at all (only then is its owner looked up): outdated and idle. */
export function rollActsOn(jail: JailState, current: JailStandard): boolean {
  return isOutdated(jail, current) && !jail.busy;
}

/**
 * Image update's plan for one jail: an outdated, idle jail is made anew on
 * `image` when running (homes are kept: they are bind mounts), or removed when
 * stopped (the next login makes it); a busy one is left for its last session's
 * end, and one whose owner is gone for gc. `owner` is null for the shared
 * jail, and is looked up only for a jail the roll acts on (rollActsOn).
 */
export function planRoll(jail: JailState, current: JailStandard, owner: RollOwner | null, image: string): GcAction[] {
  if (!isOutdated(jail, current)) return [];
  if (jail.busy) return [report(`${jail.name}: busy; recreated when its last session ends`)];
  // The jail of an owner who is gone or no longer jailed is gc's, after its grace period: not removed here.
  if (jail.uid !== null && (owner === null || owner.identity === null)) {
    return [report(`${jail.name}: left for gc (owner uid ${jail.uid} is gone or no longer jailed)`)];
  }
  // A stopped jail stays stopped: the next login makes it anew.
  const identity = jail.running ? (owner?.identity ?? null) : null;
  if (identity === null) return [{ do: 'remove' }, report(`${jail.name}: removed (made anew on ${image} at the next login)`)];
  // Checked before the old jail goes: a home the new jail could not mount would leave the user with none.
  if (owner?.homeUsable !== true) {
    return [{ do: 'refuse', reason: `kept on the old image: the home ${identity.home} is missing, not owned by uid ${jail.uid} or not below [home] bases` }];
  }
  return [{ do: 'remove' }, { do: 'recreate', owner: identity }, report(`${jail.name}: recreated on ${image}`)];
}

/**
 * What a dry run prints for one plan instead of carrying it out: its lines
 * saying what would be done, a refusal as the reason the jail would be kept,
 * and for a jail the plan says nothing of (idle too briefly, busy, current),
 * that nothing would be done and its state.
 */
export function dryRunLines(actions: GcAction[], jail: Pick<JailState, 'name' | 'running' | 'busy'> | null): string[] {
  const lines = actions.flatMap((a) => {
    if (a.do === 'report') return [wouldBe(a.line)];
    if (a.do === 'refuse') return [`${jail?.name ?? '(no jail)'}: would not be handled: ${a.reason}`];
    return [];
  });
  if (lines.length === 0 && jail !== null) lines.push(`${jail.name}: nothing to do (${jail.running ? (jail.busy ? 'running, busy' : 'running') : 'stopped'})`);
  return lines;
}

/** A plan's line about what was done, said of what would be done: `NAME: stopped (...)` becomes `NAME: would be stopped (...)`. */
export function wouldBe(line: string): string {
  return line.replace(/^([^:]*): (stopped|removed|recreated)\b/, '$1: would be $2');
}

/** gc's line about a dangling image of ours: removed, or kept while a container still uses it (the engine refuses then). */
export function danglingImageLine(id: string, used: boolean): string {
  const short = id.replace(/^sha256:/, '').slice(0, 12);
  return used ? `image ${short}: kept (dangling, still used by a container)` : `image ${short}: would be removed (dangling)`;
}

function report(line: string): GcAction {
  return { do: 'report', line };
}
