import type { Config } from '../config/types';
import { type Engine, engineCall } from '../engine/client';
import { ExitCode, JailError } from '../errors';
import { withHostLock } from '../host/locks';
import { uidOfUser } from '../identity/nss';
import { type Access, identityAndAccess } from '../policy/access';
import type { Report } from '../policy/enrolment';
import { homeUsable, jailActivity } from './gc';
import { currentStandard, findJailOf } from './jail';
import { placementOf } from './placement';
import { prepareJail } from './prepare';

/**
 * `docker-jail stop|start|restart|recreate USER`: one user's jail, found by
 * its labels (uid and user name, never its name alone), changed under its lock
 * as gc does, so a login never lands in a jail being stopped or removed. What
 * to do is decided by the pure functions below; changeJail reads and acts.
 */
export type LifecycleVerb = 'stop' | 'start' | 'restart' | 'recreate';

/** A lifecycle command waits this long for a login holding the jail's lock (a login holds it until its session has started). */
const LOCK_WAIT_SECONDS = 30;

/** What runs in a jail: sessions (by its agent or docker exec), and processes of its owner left (nohup'd jobs). */
export interface JailActivity {
  sessions: number;
  leftovers: number;
}

/**
 * One step, in order: stop the jail (5 s, then the engine kills it), remove its
 * container (never its home or its /tmp image), or ensure it as a login does.
 */
export type LifecycleStep = 'stop' | 'remove' | 'ensure';

export type LifecyclePlan = { refuse: string } | { steps: LifecycleStep[]; done: string };

/**
 * Who may have a jail acted on: only a jailed user in per-user mode. Root, the
 * exempt group and users outside the jail group have none (SECURITY.md,
 * invariant 5); in shared mode a user's jail is everyone's, so stopping or
 * recreating it for one user would end the others' sessions: refused, naming
 * the mode. Null: go on.
 */
export function lifecycleRefusal(verb: LifecycleVerb, user: string, access: Access, config: Pick<Config, 'access' | 'jail'>): string | null {
  switch (access) {
    case 'root':
      return `root is never jailed: it has no jail to ${verb}`;
    case 'exempt':
      return `${user} is in the exempt group ${config.access.exemptGroup} and is never jailed: no jail to ${verb}`;
    case 'outside':
      return `${user} is not in the group ${config.access.jailGroup}, so not jailed: no jail to ${verb} (docker-jail gc removes one left from before)`;
    case 'jailed':
      break;
  }
  if (config.jail.mode === 'shared') {
    return `[jail] mode is shared: the jail of ${user} is every jailed user's; docker-jail ${verb} acts on per-user jails only`;
  }
  return null;
}

/**
 * What keeps a jail busy, for its refusal: "2 sessions open, 5 processes of
 * theirs running" (the sessions' own processes are counted among them), or
 * processes alone once every session has ended (nohup'd jobs).
 */
export function describeActivity(activity: JailActivity): string {
  const processes = `${activity.leftovers} process${activity.leftovers === 1 ? '' : 'es'} of theirs`;
  if (activity.sessions === 0) return `no session open, but ${processes} still running (nohup'd jobs)`;
  const sessions = `${activity.sessions} session${activity.sessions === 1 ? '' : 's'} open`;
  return activity.leftovers === 0 ? sessions : `${sessions}, ${processes} running`;
}

/**
 * The plan for one verb on a jail found under its lock. Stopping a running
 * jail with sessions or jobs of its owner in it (stop, restart, recreate) ends
 * them: refused unless `force`, saying how many. start goes through the path a
 * login takes (prepareJail): after a reboot the jail's /tmp must be mounted
 * again before it starts, a jail that serves sessions differently from one made
 * now is made anew, and its passwd and group are written; a plain engine start
 * would miss all three. recreate checks the home first: a home the new jail
 * could not bind would leave the user without a jail.
 */
export function planLifecycle(
  verb: LifecycleVerb,
  user: string,
  jail: { name: string; running: boolean },
  activity: JailActivity,
  force: boolean,
  home: { usable: boolean; path: string },
): LifecyclePlan {
  const busy = jail.running && activity.sessions + activity.leftovers > 0;
  if (busy && !force && verb !== 'start') {
    return { refuse: `${user}: jail ${jail.name} is busy (${describeActivity(activity)}); ${verb} ends them: add --force to ${verb} it anyway` };
  }
  const stopFirst: LifecycleStep[] = jail.running ? ['stop'] : [];
  switch (verb) {
    case 'stop':
      if (!jail.running) return { steps: [], done: `${user}: jail ${jail.name} is already stopped` };
      return { steps: ['stop'], done: `${user}: jail ${jail.name} stopped${busy ? ` (--force: it had ${describeActivity(activity)})` : ''}` };
    case 'start':
      if (jail.running) return { steps: [], done: `${user}: jail ${jail.name} is already running` };
      return { steps: ['ensure'], done: `${user}: jail ${jail.name} started` };
    case 'restart':
      return { steps: [...stopFirst, 'ensure'], done: `${user}: jail ${jail.name} restarted` };
    case 'recreate':
      if (!home.usable) {
        return { refuse: `${user}: jail ${jail.name} kept: the home ${home.path} is missing, not owned by the user or not below [home] bases` };
      }
      // Made through the login path, which starts it; a jail that was stopped is left stopped, as it was.
      return {
        steps: jail.running ? ['stop', 'remove', 'ensure'] : ['remove', 'ensure', 'stop'],
        done: `${user}: jail ${jail.name} recreated on the current image and config (home and /tmp kept${jail.running ? '' : '; left stopped, as it was'})`,
      };
  }
}

/**
 * Carries out `verb` on the jail of the user `name`; reports what was done.
 * Every refusal is one line and a non-zero exit: an unknown user (2), one who
 * is not jailed or is in shared mode (77), no jail or a busy one (1).
 */
export async function changeJail(engine: Engine, config: Config, verb: LifecycleVerb, name: string, force: boolean, report: Report): Promise<void> {
  const uid = uidOfUser(name);
  if (uid === null) throw new JailError(`no such user: ${name}`, ExitCode.usage);
  const { identity, access } = identityAndAccess(uid, config);
  const refusal = lifecycleRefusal(verb, identity.user, access, config);
  if (refusal !== null) throw new JailError(refusal, ExitCode.refused);
  const placement = placementOf(config, identity);
  await withHostLock(
    placement.lock,
    async () => {
      const jail = await findJailOf(engine, config, uid, identity.user);
      if (jail === null) {
        throw new JailError(`${identity.user} has no jail (it is made at their next login, or now with: docker-jail enable --now ${identity.user})`);
      }
      const running = jail.state === 'running';
      const activity = running ? await jailActivity(engine, jail.id, uid) : { sessions: 0, leftovers: 0 };
      if (verb === 'recreate') await checkCanMake(engine, config);
      const usable = verb === 'recreate' ? homeUsable(identity, config) : true;
      const plan = planLifecycle(verb, identity.user, { name: jail.name, running }, activity, force, { usable, path: identity.home });
      if ('refuse' in plan) throw new JailError(plan.refuse);
      // The container the next step acts on: the jail found, then the one ensure made or started.
      let id = jail.id;
      for (const step of plan.steps) {
        switch (step) {
          case 'stop':
            await engineCall(engine, `stopping ${jail.name}`, () => engine.control.getContainer(id).stop(5));
            break;
          case 'remove':
            // The home is a bind mount and the /tmp image a host file: both stay, and the new jail binds them again.
            await engineCall(engine, `removing ${jail.name}`, () => engine.control.getContainer(id).remove());
            break;
          case 'ensure': {
            const made = await prepareJail(engine, config, identity, placement);
            if (verb !== 'recreate' && made.id !== id) report(`${identity.user}: the stopped jail served sessions differently from one made now: made anew`);
            id = made.id;
            break;
          }
        }
      }
      report(plan.done);
    },
    LOCK_WAIT_SECONDS,
  );
}

/** Before a jail is removed to be made anew: the image is built and the seccomp profile loads (currentStandard throws naming it), or the user would be left without one. */
async function checkCanMake(engine: Engine, config: Config): Promise<void> {
  if ((await currentStandard(engine, config)).imageId === null) {
    throw new JailError(`the jail image ${config.jail.image} is not built, so the jail is kept; build it: docker-jail image build`, ExitCode.unavailable);
  }
}
