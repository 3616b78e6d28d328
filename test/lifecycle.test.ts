import assert from 'node:assert/strict';
import type { CommandIo } from '../src/commands/command';
import { dispatch } from '../src/commands/dispatch';
import { JailError } from '../src/errors';
import { describeActivity, type JailActivity, type LifecycleVerb, lifecycleRefusal, planLifecycle } from '../src/jail/lifecycle';

const CONFIG = { access: { jailGroup: 'jailed', exemptGroup: 'admins' }, jail: { mode: 'per-user' } } as Parameters<typeof lifecycleRefusal>[3];
const SHARED = { ...CONFIG, jail: { ...CONFIG.jail, mode: 'shared' } } as Parameters<typeof lifecycleRefusal>[3];
const IDLE: JailActivity = { sessions: 0, leftovers: 0 };
const HOME = { usable: true, path: '/home/alice' };
const VERBS: LifecycleVerb[] = ['stop', 'start', 'restart', 'recreate'];

const running = { name: 'jail-alice', running: true };
const stopped = { name: 'jail-alice', running: false };
const steps = (plan: ReturnType<typeof planLifecycle>) => ('steps' in plan ? plan.steps : plan.refuse);

describe('jail lifecycle: who has a jail to act on', () => {
  it('refuses root, the exempt group and users outside the jail group, naming why, for every verb', () => {
    for (const verb of VERBS) {
      assert.equal(lifecycleRefusal(verb, 'root', 'root', CONFIG), `root is never jailed: it has no jail to ${verb}`);
      assert.equal(lifecycleRefusal(verb, 'ada', 'exempt', CONFIG), `ada is in the exempt group admins and is never jailed: no jail to ${verb}`);
      assert.match(lifecycleRefusal(verb, 'bob', 'outside', CONFIG) ?? '', new RegExp(`^bob is not in the group jailed, so not jailed: no jail to ${verb}`));
      assert.equal(lifecycleRefusal(verb, 'alice', 'jailed', CONFIG), null);
    }
  });

  it("refuses a jailed user in shared mode, naming the mode: their jail is everyone's", () => {
    for (const verb of VERBS) {
      assert.equal(
        lifecycleRefusal(verb, 'alice', 'jailed', SHARED),
        `[jail] mode is shared: the jail of alice is every jailed user's; docker-jail ${verb} acts on per-user jails only`,
      );
    }
    // Who is never jailed is said first, whatever the mode.
    assert.match(lifecycleRefusal('stop', 'root', 'root', SHARED) ?? '', /^root is never jailed/);
  });
});

describe('jail lifecycle: the plan for one jail', () => {
  it('stops a running idle jail, and says a stopped one is already stopped without doing anything', () => {
    assert.deepEqual(planLifecycle('stop', 'alice', running, IDLE, false, HOME), { steps: ['stop'], done: 'alice: jail jail-alice stopped' });
    assert.deepEqual(planLifecycle('stop', 'alice', stopped, IDLE, false, HOME), { steps: [], done: 'alice: jail jail-alice is already stopped' });
  });

  it('refuses to stop, restart or recreate a busy jail without --force, saying how many sessions and jobs', () => {
    const busy = { sessions: 2, leftovers: 1 };
    for (const verb of ['stop', 'restart', 'recreate'] as const) {
      assert.deepEqual(planLifecycle(verb, 'alice', running, busy, false, HOME), {
        refuse: `alice: jail jail-alice is busy (2 sessions open, 1 process of theirs running); ${verb} ends them: add --force to ${verb} it anyway`,
      });
    }
    assert.deepEqual(steps(planLifecycle('stop', 'alice', running, busy, true, HOME)), ['stop']);
    assert.deepEqual(steps(planLifecycle('restart', 'alice', running, busy, true, HOME)), ['stop', 'ensure']);
    assert.deepEqual(steps(planLifecycle('recreate', 'alice', running, busy, true, HOME)), ['stop', 'remove', 'ensure']);
    assert.match(
      (planLifecycle('stop', 'alice', running, busy, true, HOME) as { done: string }).done,
      /stopped \(--force: it had 2 sessions open, 1 process of theirs running\)$/,
    );
  });

  it('counts a lone session, or jobs alone, as busy too', () => {
    assert.equal(describeActivity({ sessions: 1, leftovers: 0 }), '1 session open');
    assert.equal(describeActivity({ sessions: 0, leftovers: 3 }), "no session open, but 3 processes of theirs still running (nohup'd jobs)");
    assert.ok('refuse' in planLifecycle('stop', 'alice', running, { sessions: 0, leftovers: 1 }, false, HOME));
  });

  it('starts a stopped jail through the login path; a running one is left as it is, busy or not', () => {
    assert.deepEqual(planLifecycle('start', 'alice', stopped, IDLE, false, HOME), { steps: ['ensure'], done: 'alice: jail jail-alice started' });
    assert.deepEqual(planLifecycle('start', 'alice', running, { sessions: 3, leftovers: 0 }, false, HOME), {
      steps: [],
      done: 'alice: jail jail-alice is already running',
    });
  });

  it('restarts a running jail (stop, then the login path) and just starts a stopped one', () => {
    assert.deepEqual(steps(planLifecycle('restart', 'alice', running, IDLE, false, HOME)), ['stop', 'ensure']);
    assert.deepEqual(steps(planLifecycle('restart', 'alice', stopped, IDLE, false, HOME)), ['ensure']);
  });

  it('recreates by removing the container and making it anew (a stopped one too), never touching home or /tmp', () => {
    assert.deepEqual(steps(planLifecycle('recreate', 'alice', running, IDLE, false, HOME)), ['stop', 'remove', 'ensure']);
    assert.deepEqual(planLifecycle('recreate', 'alice', stopped, IDLE, false, HOME), {
      steps: ['remove', 'ensure', 'stop'],
      done: 'alice: jail jail-alice recreated on the current image and config (home and /tmp kept; left stopped, as it was)',
    });
  });

  it('keeps the jail when the home could not be bound by a new one, even with --force', () => {
    for (const force of [false, true]) {
      assert.deepEqual(planLifecycle('recreate', 'alice', stopped, IDLE, force, { usable: false, path: '/home/alice' }), {
        refuse: 'alice: jail jail-alice kept: the home /home/alice is missing, not owned by the user or not below [home] bases',
      });
    }
  });
});

describe('jail lifecycle commands: arguments', () => {
  const io = { stdout: { write: () => true }, stderr: { write: () => true } } as unknown as CommandIo;
  let geteuid: typeof process.geteuid;
  before(() => {
    geteuid = process.geteuid;
    process.geteuid = () => 0;
  });
  after(() => {
    process.geteuid = geteuid;
  });

  const usageError = (message: RegExp) => (e: unknown) => e instanceof JailError && e.exitCode === 2 && message.test(e.message);

  it('takes exactly one user, and --force only where something is ended (not start)', async () => {
    for (const verb of VERBS) {
      await assert.rejects(dispatch([verb], io), usageError(new RegExp(`^usage: docker-jail ${verb} `)));
      await assert.rejects(dispatch([verb, 'a', 'b'], io), usageError(new RegExp(`^usage: docker-jail ${verb} `)));
      assert.equal(await dispatch([verb, '--now', 'a'], io), 2, 'an undeclared option: dispatch names it (commands.test)');
    }
    assert.equal(await dispatch(['start', '--force', 'a'], io), 2);
  });

  it('takes --dry-run for gc and image update only, naming anything else', async () => {
    assert.equal(await dispatch(['gc', '--dry-rub'], io), 2);
    await assert.rejects(dispatch(['image', 'build', '--dry-run'], io), usageError(/^usage: docker-jail image /));
  });
});
