import assert from 'node:assert/strict';
import type { Identity } from '../src/identity/nss';
import {
  danglingImageLine,
  dryRunLines,
  type GcAction,
  type GcLimits,
  graceOf,
  idleSeconds,
  type JailState,
  planGc,
  planRoll,
  planScratch,
  rollActsOn,
  type ScratchState,
  stillJailed,
  wouldBe,
} from '../src/jail/gcPlan';
import type { JailStandard } from '../src/jail/jail';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();
const HOUR = { idleStopSeconds: 3600, graceSeconds: 3600 } satisfies GcLimits;

const jail = (over: Partial<JailState> = {}): JailState => ({
  id: 'c0ffee',
  name: 'jail-alice',
  uid: 1001,
  user: 'alice',
  running: true,
  imageId: 'sha256:new',
  seccomp: 'f00d',
  agent: true,
  startedAt: ago(7200),
  busy: false,
  ...over,
});

const alice: Identity = { user: 'alice', uid: 1001, gid: 1001, gecos: '', home: '/home/alice', groups: [{ name: 'alice', gid: 1001 }] };
const CURRENT: JailStandard = { imageId: 'sha256:new', seccomp: 'f00d', agent: true };
const IMAGE = 'docker-jail/debian:12';

const kinds = (actions: GcAction[]): string[] => actions.map((a) => a.do);
const lines = (actions: GcAction[]): string[] => actions.flatMap((a) => (a.do === 'report' ? [a.line] : []));
const orphan = (graceMark: number | null, scratchOwner: string | null = 'alice') => ({ orphaned: true as const, graceMark, scratchOwner });
const inUse = (...activity: (string | null)[]) => ({ orphaned: false as const, activity });

describe('gc plan: the grace period of what has no jailed owner', () => {
  it('starts at the first sighting, with all of it left', () => {
    assert.deepEqual(graceOf(null, NOW, 3600), { left: 3600, startsNow: true });
    const actions = planGc(jail(), orphan(null), NOW, HOUR);
    assert.deepEqual(actions, [
      { do: 'markGrace', since: NOW },
      { do: 'report', line: 'jail-alice: owner uid 1001 is gone or no longer jailed; removed after the grace period (3600 s left)' },
    ]);
  });

  it('counts the seconds left from the mark, rounding the time passed down', () => {
    assert.deepEqual(graceOf(NOW - 600_500, NOW, 3600), { left: 3000, startsNow: false });
    assert.deepEqual(lines(planGc(jail(), orphan(NOW - 600_000), NOW, HOUR)), [
      'jail-alice: owner uid 1001 is gone or no longer jailed; removed after the grace period (3000 s left)',
    ]);
  });

  it('starts anew from a damaged, zero or future mark instead of removing at once', () => {
    for (const mark of [Number.NaN, 0, -5, NOW + 86_400_000, Number.POSITIVE_INFINITY]) {
      assert.deepEqual(graceOf(mark, NOW, 3600), { left: 3600, startsNow: true }, `mark ${mark}`);
      assert.deepEqual(kinds(planGc(jail(), orphan(mark), NOW, HOUR)), ['markGrace', 'report'], `mark ${mark}`);
    }
  });

  it('removes the jail once it has passed, with its staging and /tmp, then clears the mark', () => {
    assert.deepEqual(graceOf(NOW - 3600_000, NOW, 3600), { left: 0, startsNow: false });
    assert.deepEqual(planGc(jail(), orphan(NOW - 3601_000), NOW, HOUR), [
      { do: 'remove' },
      { do: 'unmountStaging' },
      { do: 'removeScratch' },
      { do: 'clearGrace' },
      { do: 'report', line: 'jail-alice: removed with its /tmp and /var/tmp (owner uid 1001 is gone or no longer jailed; the home is kept)' },
    ]);
  });

  it('with no grace at all, marks and removes at the first sighting', () => {
    assert.deepEqual(kinds(planGc(jail(), orphan(null), NOW, { ...HOUR, graceSeconds: 0 })), [
      'markGrace',
      'remove',
      'unmountStaging',
      'removeScratch',
      'clearGrace',
      'report',
    ]);
  });
});

describe('gc plan: orphans (owners gone or no longer jailed)', () => {
  it('finds no jailed owner when the uid has no user, or its user is no longer jailed', () => {
    assert.equal(stillJailed(null, 'alice'), false);
    assert.equal(stillJailed({ user: 'alice', jailable: false }, 'alice'), false);
    assert.equal(stillJailed({ user: 'alice', jailable: true }, 'alice'), true);
  });

  it('keeps a busy orphan, and says so, without starting its grace period', () => {
    for (const mark of [null, NOW - 86_400_000]) {
      assert.deepEqual(planGc(jail({ busy: true }), orphan(mark), NOW, HOUR), [
        { do: 'report', line: 'jail-alice: owner uid 1001 is gone or no longer jailed, but the jail is busy' },
      ]);
    }
  });

  it('never stops an orphan for being idle: only its grace decides', () => {
    assert.ok(!kinds(planGc(jail({ startedAt: ago(86_400) }), orphan(NOW - 60_000), NOW, HOUR)).includes('stop'));
  });

  it('clears the grace mark of a jail whose owner is jailed again', () => {
    assert.deepEqual(planGc(jail(), inUse(ago(10)), NOW, HOUR), [{ do: 'clearGrace' }]);
  });
});

describe('gc plan: reused uids (userdel, then useradd)', () => {
  it('counts a uid that now belongs to another user name as the owner gone, however jailed the new one is', () => {
    assert.equal(stillJailed({ user: 'bob', jailable: true }, 'alice'), false);
  });

  it('judges a jail made before the user label by the uid alone', () => {
    assert.equal(stillJailed({ user: 'bob', jailable: true }, undefined), true);
  });

  it("leaves the staging and /tmp of the uid's new owner when removing the old owner's jail", () => {
    assert.deepEqual(planGc(jail(), orphan(NOW - 3601_000, 'bob'), NOW, HOUR), [
      { do: 'remove' },
      { do: 'clearGrace' },
      { do: 'report', line: 'jail-alice: removed (owner uid 1001 is gone or no longer jailed; the home is kept)' },
    ]);
  });

  it('takes /tmp along when it has no owner file, or the jail no user label', () => {
    assert.ok(kinds(planGc(jail(), orphan(NOW - 3601_000, null), NOW, HOUR)).includes('removeScratch'));
    assert.ok(kinds(planGc(jail({ user: null }), orphan(NOW - 3601_000, 'bob'), NOW, HOUR)).includes('removeScratch'));
  });

  it('removes, after the grace, a /tmp image whose owner file names a user who no longer holds (or no longer is jailed at) its uid', () => {
    const image: ScratchState = { uid: 1001, jails: 0, owner: 'alice', ownerJailed: false, sharedMode: false, graceMark: null };
    assert.deepEqual(planScratch(image, NOW, 3600), [
      { do: 'markGrace', since: NOW },
      { do: 'report', line: '/tmp and /var/tmp of uid 1001: no jail and no jailed owner; removed after the grace period (3600 s left)' },
    ]);
    assert.deepEqual(planScratch({ ...image, graceMark: NOW - 3600_000 }, NOW, 3600), [
      { do: 'removeScratch' },
      { do: 'clearGrace' },
      { do: 'report', line: '/tmp and /var/tmp of uid 1001 (made for alice): removed (no jail and no jailed owner left)' },
    ]);
    assert.equal(
      lines(planScratch({ ...image, owner: null, graceMark: NOW - 3600_000 }, NOW, 3600))[0],
      '/tmp and /var/tmp of uid 1001 (made for an unknown user): removed (no jail and no jailed owner left)',
    );
  });

  it("keeps a /tmp image a jail of its uid still has, or whose jailed owner's next login takes it back", () => {
    const image: ScratchState = { uid: 1001, jails: 1, owner: 'alice', ownerJailed: false, sharedMode: false, graceMark: NOW - 86_400_000 };
    assert.deepEqual(planScratch(image, NOW, 3600), [{ do: 'clearGrace' }]);
    assert.deepEqual(planScratch({ ...image, jails: 0, ownerJailed: true }, NOW, 3600), [{ do: 'clearGrace' }]);
  });

  it("keeps the shared jail's /tmp image in shared mode, and removes it once per-user mode has replaced the jail", () => {
    const image: ScratchState = { uid: null, jails: 0, owner: null, ownerJailed: false, sharedMode: true, graceMark: null };
    assert.deepEqual(planScratch(image, NOW, 3600), [{ do: 'clearGrace' }]);
    assert.deepEqual(lines(planScratch({ ...image, sharedMode: false }, NOW, 3600)), [
      '/tmp and /var/tmp of the shared jail: no jail and no jailed owner; removed after the grace period (3600 s left)',
    ]);
    assert.deepEqual(lines(planScratch({ ...image, sharedMode: false, graceMark: NOW - 3600_000 }, NOW, 3600)), [
      '/tmp and /var/tmp of the shared jail: removed (no jail and no jailed owner left)',
    ]);
  });
});

describe('gc plan: idle jails', () => {
  it('stops a running jail idle for exactly idle_stop, and says for how long', () => {
    assert.deepEqual(planGc(jail({ startedAt: ago(3600) }), inUse(null, null), NOW, HOUR), [
      { do: 'clearGrace' },
      { do: 'stop' },
      { do: 'report', line: 'jail-alice: stopped (idle for 3600 s)' },
    ]);
  });

  it('leaves one idle for less than idle_stop, counting from its start or its last login or logout, whichever came last', () => {
    assert.deepEqual(kinds(planGc(jail({ startedAt: ago(3599) }), inUse(null, null), NOW, HOUR)), ['clearGrace']);
    assert.deepEqual(kinds(planGc(jail(), inUse(ago(3599), ago(86_400)), NOW, HOUR)), ['clearGrace']);
    assert.deepEqual(kinds(planGc(jail(), inUse(ago(86_400), ago(60)), NOW, HOUR)), ['clearGrace']);
    assert.deepEqual(lines(planGc(jail(), inUse(ago(5000), ago(4000)), NOW, HOUR)), ['jail-alice: stopped (idle for 4000 s)']);
  });

  it("counts a shared jail's activity as anyone's", () => {
    const shared = jail({ uid: null, user: null, agent: undefined, name: 'jail-shared' });
    assert.deepEqual(lines(planGc(shared, inUse(ago(9000), ago(7000), ago(3700), ''), NOW, HOUR)), ['jail-shared: stopped (idle for 3700 s)']);
    assert.deepEqual(kinds(planGc(shared, inUse(ago(9000), ago(10)), NOW, HOUR)), ['clearGrace']);
  });

  it('ignores times that are missing or unreadable', () => {
    assert.equal(idleSeconds([ago(100), null, '', 'garbage'], NOW), 100);
  });

  it('never stops a jail when idle_stop is off, nor a busy or stopped one', () => {
    const longIdle = { startedAt: ago(86_400 * 30) };
    assert.deepEqual(kinds(planGc(jail(longIdle), inUse(null, null), NOW, { ...HOUR, idleStopSeconds: null })), ['clearGrace']);
    assert.deepEqual(kinds(planGc(jail({ ...longIdle, busy: true }), inUse(null, null), NOW, HOUR)), ['clearGrace']);
    assert.deepEqual(kinds(planGc(jail({ ...longIdle, running: false }), inUse(null, null), NOW, HOUR)), ['clearGrace']);
  });

  it('stops at once with idle_stop 0', () => {
    assert.deepEqual(lines(planGc(jail({ startedAt: ago(0) }), inUse(ago(0), null), NOW, { ...HOUR, idleStopSeconds: 0 })), [
      'jail-alice: stopped (idle for 0 s)',
    ]);
  });
});

describe('image update plan: outdated jails', () => {
  const jailed = (homeUsable: boolean | null = true) => ({ identity: alice, homeUsable });

  it('leaves a jail on the current image, profile and kind of sessions alone', () => {
    assert.equal(rollActsOn(jail(), CURRENT), false);
    assert.deepEqual(planRoll(jail(), CURRENT, null, IMAGE), []);
    assert.deepEqual(planRoll(jail({ busy: true }), CURRENT, null, IMAGE), []);
  });

  it('recreates an idle running jail on an older build, another seccomp profile or none, or the other kind of sessions', () => {
    for (const outdated of [{ imageId: 'sha256:old' }, { seccomp: 'beef' }, { seccomp: null }, { agent: false }]) {
      const old = jail(outdated);
      assert.equal(rollActsOn(old, CURRENT), true, JSON.stringify(outdated));
      assert.deepEqual(planRoll(old, CURRENT, jailed(), IMAGE), [
        { do: 'remove' },
        { do: 'recreate', owner: alice },
        { do: 'report', line: `jail-alice: recreated on ${IMAGE}` },
      ]);
    }
  });

  it('does not count the image as outdated while it is not built', () => {
    assert.deepEqual(planRoll(jail({ imageId: 'sha256:old' }), { ...CURRENT, imageId: null }, jailed(), IMAGE), []);
  });

  it('never recreates a busy jail: it waits for its last session to end', () => {
    const busy = jail({ imageId: 'sha256:old', busy: true });
    assert.equal(rollActsOn(busy, CURRENT), false);
    assert.deepEqual(planRoll(busy, CURRENT, null, IMAGE), [{ do: 'report', line: 'jail-alice: busy; recreated when its last session ends' }]);
  });

  it("leaves the jail of an owner gone or no longer jailed for gc's grace period", () => {
    const old = jail({ imageId: 'sha256:old' });
    assert.deepEqual(planRoll(old, CURRENT, { identity: null, homeUsable: null }, IMAGE), [
      { do: 'report', line: 'jail-alice: left for gc (owner uid 1001 is gone or no longer jailed)' },
    ]);
  });

  it('removes a stopped jail, which the next login makes anew, without looking at the home', () => {
    const stopped = jail({ imageId: 'sha256:old', running: false });
    assert.deepEqual(planRoll(stopped, CURRENT, jailed(null), IMAGE), [
      { do: 'remove' },
      { do: 'report', line: `jail-alice: removed (made anew on ${IMAGE} at the next login)` },
    ]);
  });

  it('keeps a running jail on the old image when the home the new one would bind is unusable', () => {
    assert.deepEqual(planRoll(jail({ seccomp: 'beef' }), CURRENT, jailed(false), IMAGE), [
      { do: 'refuse', reason: 'kept on the old image: the home /home/alice is missing, not owned by uid 1001 or not below [home] bases' },
    ]);
  });

  it('removes an outdated shared jail, running or not: the next login makes it anew', () => {
    const shared = jail({ uid: null, user: null, agent: undefined, name: 'jail-shared', imageId: 'sha256:old' });
    for (const running of [true, false]) {
      assert.deepEqual(lines(planRoll({ ...shared, running }, CURRENT, null, IMAGE)), [`jail-shared: removed (made anew on ${IMAGE} at the next login)`]);
    }
    assert.deepEqual(planRoll({ ...shared, imageId: 'sha256:new' }, CURRENT, null, IMAGE), [], "the shared jail's kind of sessions is never measured");
  });
});

describe('image update plan: config drift (limits, network)', () => {
  const LIMITS = { memoryBytes: 512 * 1048576, pidsLimit: 512, nanoCpus: 1e9 };
  const STANDARD: JailStandard = { ...CURRENT, limits: LIMITS, network: 'none' };
  const made = (over: Partial<JailState> = {}) => jail({ limits: LIMITS, network: 'none', ...over });
  const jailed = { identity: alice, homeUsable: true };

  it('leaves a jail made with the configured limits and network alone', () => {
    assert.equal(rollActsOn(made(), STANDARD), false);
    assert.deepEqual(planRoll(made(), STANDARD, jailed, IMAGE), []);
  });

  it('recreates an idle running jail whose memory, pids or CPU limit, or network, the config has changed', () => {
    const drifts: Partial<JailState>[] = [
      { limits: { ...LIMITS, memoryBytes: 256 * 1048576 } },
      { limits: { ...LIMITS, pidsLimit: 0 } },
      { limits: { ...LIMITS, nanoCpus: 5e8 } },
      { network: 'bridge' },
    ];
    for (const drift of drifts) {
      const old = made(drift);
      assert.equal(rollActsOn(old, STANDARD), true, JSON.stringify(drift));
      assert.deepEqual(kinds(planRoll(old, STANDARD, jailed, IMAGE)), ['remove', 'recreate', 'report'], JSON.stringify(drift));
    }
  });

  it('removes a drifted stopped jail and the shared jail; leaves a busy one for its last session', () => {
    assert.deepEqual(kinds(planRoll(made({ network: 'bridge', running: false }), STANDARD, { identity: alice, homeUsable: null }, IMAGE)), [
      'remove',
      'report',
    ]);
    const shared = made({ uid: null, user: null, agent: undefined, name: 'jail-shared', limits: { ...LIMITS, pidsLimit: 100 } });
    assert.deepEqual(kinds(planRoll(shared, STANDARD, null, IMAGE)), ['remove', 'report']);
    const busy = made({ limits: { ...LIMITS, memoryBytes: 1 }, busy: true });
    assert.equal(rollActsOn(busy, STANDARD), false);
    assert.deepEqual(lines(planRoll(busy, STANDARD, null, IMAGE)), ['jail-alice: busy; recreated when its last session ends']);
  });

  it('does not measure what was not inspected', () => {
    assert.equal(rollActsOn(jail(), STANDARD), false, 'a jail read without its HostConfig');
    assert.equal(rollActsOn(made({ network: 'bridge' }), CURRENT), false, 'a standard without limits and network');
  });
});

describe('gc and image update --dry-run: the plan said, not carried out', () => {
  const dry = (actions: GcAction[], state: JailState | null = jail()) => dryRunLines(actions, state);

  it('says what would be done to an idle jail, an orphan past its grace and an outdated one', () => {
    assert.deepEqual(dry(planGc(jail({ startedAt: ago(7300) }), inUse(ago(7200)), NOW, HOUR)), ['jail-alice: would be stopped (idle for 7200 s)']);
    assert.deepEqual(dry(planGc(jail(), orphan(NOW - 7_200_000), NOW, HOUR)), [
      'jail-alice: would be removed with its /tmp and /var/tmp (owner uid 1001 is gone or no longer jailed; the home is kept)',
    ]);
    const outdated = jail({ imageId: 'sha256:old' });
    assert.deepEqual(dry(planRoll(outdated, CURRENT, { identity: alice, homeUsable: true }, IMAGE), outdated), [`jail-alice: would be recreated on ${IMAGE}`]);
  });

  it('says what waits (grace left, busy) as the plan says it, and that nothing would be done to a busy or current jail', () => {
    assert.deepEqual(dry(planGc(jail(), orphan(null), NOW, HOUR)), [
      'jail-alice: owner uid 1001 is gone or no longer jailed; removed after the grace period (3600 s left)',
    ]);
    const busy = jail({ busy: true, startedAt: ago(7300) });
    assert.deepEqual(dry(planGc(busy, inUse(ago(7200)), NOW, HOUR), busy), ['jail-alice: nothing to do (running, busy)']);
    assert.deepEqual(dry(planRoll(jail(), CURRENT, null, IMAGE)), ['jail-alice: nothing to do (running)']);
    assert.deepEqual(dry(planGc(jail({ running: false }), inUse(), NOW, HOUR), jail({ running: false })), ['jail-alice: nothing to do (stopped)']);
  });

  it('says why a jail would be kept where the real run would refuse it', () => {
    const outdated = jail({ imageId: 'sha256:old' });
    assert.deepEqual(dry(planRoll(outdated, CURRENT, { identity: alice, homeUsable: false }, IMAGE), outdated), [
      'jail-alice: would not be handled: kept on the old image: the home /home/alice is missing, not owned by uid 1001 or not below [home] bases',
    ]);
  });

  it('says which /tmp images would go, and nothing of those that stay', () => {
    const stale: ScratchState = { uid: 1001, jails: 0, owner: 'alice', ownerJailed: false, sharedMode: false, graceMark: NOW - 7_200_000 };
    assert.deepEqual(dry(planScratch(stale, NOW, 3600), null), [
      '/tmp and /var/tmp of uid 1001 (made for alice): would be removed (no jail and no jailed owner left)',
    ]);
    assert.deepEqual(dry(planScratch({ ...stale, jails: 1 }, NOW, 3600), null), []);
  });

  it('rewrites only the line of what was done, never a name that happens to say it', () => {
    assert.equal(wouldBe('jail-stopped: stopped (idle for 5 s)'), 'jail-stopped: would be stopped (idle for 5 s)');
    assert.equal(wouldBe('jail-x: busy; recreated when its last session ends'), 'jail-x: busy; recreated when its last session ends');
    assert.equal(danglingImageLine('sha256:0123456789abcdef', false), 'image 0123456789ab: would be removed (dangling)');
    assert.equal(danglingImageLine('sha256:0123456789abcdef', true), 'image 0123456789ab: kept (dangling, still used by a container)');
  });
});
