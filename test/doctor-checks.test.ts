import assert from 'node:assert/strict';
import { defaultConfig } from '../src/config/load';
import { type Finding, severityOf } from '../src/doctor/finding';
import { judgeExemptGroup, judgeJailGroup } from '../src/doctor/groupChecks';
import { bytes, judgeDebootstrap, judgeGcTimer, judgeLimits, judgeLiveRestore, judgeScratchHeadroom, judgeUserManagerDropIn } from '../src/doctor/hostChecks';
import { judgeSshdReload } from '../src/doctor/sshdReload';
import { GC_TIMER_UNIT, SCRATCH_IMAGES, USER_MANAGER_DROP_IN } from '../src/host/paths';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const level = (f: Finding) => `${f.check}:${severityOf(f)}`;

describe("doctor's checks beside the login path: ok, WARN or FAIL, each with its fix", () => {
  it('live-restore: off (or not said) is a warning with the daemon.json key and a reload, which keeps the jails running', () => {
    assert.equal(level(judgeLiveRestore(true)), 'live-restore:ok');
    for (const off of [false, undefined]) {
      const finding = judgeLiveRestore(off);
      assert.equal(level(finding), 'live-restore:warn');
      assert.match(finding.detail, /restarting dockerd .* kills every jail's processes/);
      assert.match(finding.fix ?? '', /"live-restore": true to \/etc\/docker\/daemon\.json, then systemctl reload docker/);
    }
  });

  it('limits: a limit the config sets that the engine cannot enforce fails (the jail would run without it, and flap as outdated)', () => {
    const all = { MemoryLimit: true, PidsLimit: true, CpuCfsQuota: true };
    assert.equal(level(judgeLimits(all, defaultConfig.jail)), 'limits:ok');
    const noMemory = judgeLimits({ ...all, MemoryLimit: false }, defaultConfig.jail);
    assert.equal(level(noMemory), 'limits:fail');
    assert.match(noMemory.detail, /^the engine cannot enforce memory_limit \(the memory controller\): jails would run without it/);
    assert.match(judgeLimits({}, defaultConfig.jail).detail, /memory_limit .*, pids_limit .*, cpus /);
    // A limit the config does not set needs no controller.
    const unlimited = { ...defaultConfig.jail, memoryBytes: 0, pidsLimit: 0, cpus: 0 };
    assert.equal(level(judgeLimits({}, unlimited)), 'limits:ok');
  });

  it('gc timer: missing unit fails; no systemd, or a timer not enabled and active, is a warning with what to run', () => {
    assert.equal(level(judgeGcTimer(false, null)), 'gc timer:fail');
    assert.match(judgeGcTimer(false, { enabled: 'enabled', active: 'active' }).detail, new RegExp(`${GC_TIMER_UNIT} is missing`));
    const noSystemd = judgeGcTimer(true, null);
    assert.equal(level(noSystemd), 'gc timer:warn');
    assert.match(noSystemd.detail, /^systemd is not running here \(no \/run\/systemd\/system\): docker-jail-gc\.timer never fires/);
    assert.match(noSystemd.fix ?? '', /\/etc\/cron\.d\/docker-jail-gc/);
    const disabled = judgeGcTimer(true, { enabled: 'disabled', active: 'inactive' });
    assert.equal(level(disabled), 'gc timer:warn');
    assert.equal(disabled.fix, 'systemctl enable --now docker-jail-gc.timer');
    assert.equal(level(judgeGcTimer(true, { enabled: 'enabled', active: 'inactive' })), 'gc timer:warn');
    assert.equal(level(judgeGcTimer(true, { enabled: 'enabled', active: 'active' })), 'gc timer:ok');
  });

  it('user@ drop-in: systemd must have loaded it (else a jailed user gets a manager on the host); without systemd it is skipped with the reason', () => {
    const same = (path: string) => path === USER_MANAGER_DROP_IN || path === `/usr${USER_MANAGER_DROP_IN}`;
    const loaded = { dropIns: [`/usr${USER_MANAGER_DROP_IN}`], needsReload: false };
    assert.equal(level(judgeUserManagerDropIn(true, loaded, same)), 'user@ drop-in:ok');
    const notLoaded = judgeUserManagerDropIn(true, { dropIns: [], needsReload: true }, same);
    assert.equal(level(notLoaded), 'user@ drop-in:fail');
    assert.equal(notLoaded.fix, 'systemctl daemon-reload');
    assert.equal(level(judgeUserManagerDropIn(true, { ...loaded, needsReload: true }, same)), 'user@ drop-in:warn');
    assert.equal(level(judgeUserManagerDropIn(false, loaded, same)), 'user@ drop-in:fail');
    const skipped = judgeUserManagerDropIn(true, null, same);
    assert.equal(level(skipped), 'user@ drop-in:ok');
    assert.match(skipped.detail, /^systemd is not running here .*: no user manager starts/);
    assert.equal(level(judgeUserManagerDropIn(false, null, same)), 'user@ drop-in:warn');
  });

  it('debootstrap: missing is a warning naming image build and apt install debootstrap', () => {
    assert.equal(level(judgeDebootstrap(true)), 'debootstrap:ok');
    const missing = judgeDebootstrap(false);
    assert.equal(level(missing), 'debootstrap:warn');
    assert.match(missing.detail, /image build/);
    assert.equal(missing.fix, 'apt install debootstrap');
  });

  it('tmp headroom: what the sparse images may still take against the free space, both named', () => {
    assert.equal(level(judgeScratchHeadroom(null)), 'tmp headroom:ok');
    assert.equal(level(judgeScratchHeadroom({ images: 0, apparentBytes: 0, allocatedBytes: 0, freeBytes: 0 })), 'tmp headroom:ok');
    const over = judgeScratchHeadroom({ images: 3, apparentBytes: 3 * GiB, allocatedBytes: 300 * MiB, freeBytes: GiB });
    assert.equal(level(over), 'tmp headroom:warn');
    assert.equal(
      over.detail,
      `the 3 /tmp images in ${SCRATCH_IMAGES} (3.0 GiB in all, 300.0 MiB on disk now) may take 2.7 GiB more; their filesystem has 1.0 GiB free: jails filling their /tmp would fill it, for the engine and the host too`,
    );
    assert.match(over.fix ?? '', /tmp_size in \[jail\]/);
    // Already allocated blocks take nothing more: only what is left to grow counts.
    assert.equal(level(judgeScratchHeadroom({ images: 1, apparentBytes: 2 * GiB, allocatedBytes: 2 * GiB, freeBytes: MiB })), 'tmp headroom:ok');
    assert.equal(level(judgeScratchHeadroom({ images: 2, apparentBytes: 2 * GiB, allocatedBytes: 0, freeBytes: 2 * GiB })), 'tmp headroom:ok');
  });

  it('bytes: as df -h shows them', () => {
    assert.deepEqual([bytes(0), bytes(1023), bytes(1536), bytes(5 * GiB), bytes(1024 ** 5)], ['0 B', '1023 B', '1.5 KiB', '5.0 GiB', '1.0 PiB']);
  });

  it('sshd reloaded: a listener that last read its files before the drop-in changed is a warning naming both times and the reload', () => {
    const changed = new Date('2026-12-01T10:00:00.000Z');
    const stale = judgeSshdReload(812, { pid: 812, at: new Date('2026-12-01T09:59:59.500Z'), by: 'pid file' }, changed);
    assert.equal(level(stale), 'sshd reloaded:warn');
    assert.equal(
      stale.detail,
      'sshd (pid 812) last read its configuration at 2026-12-01T09:59:59.500Z (pid file), before /etc/ssh/sshd_config.d/docker-jail.conf changed at 2026-12-01T10:00:00.000Z: it still applies what the file said before',
    );
    assert.equal(stale.fix, 'systemctl reload ssh (or kill -HUP 812)');
    assert.equal(level(judgeSshdReload(812, { pid: 812, at: new Date('2026-12-01T10:00:00.001Z'), by: 'pid file' }, changed)), 'sshd reloaded:ok');
    // A start time is known to the second only: within it, no warning.
    assert.equal(level(judgeSshdReload(812, { pid: 812, at: new Date('2026-12-01T09:59:59.500Z'), by: 'start' }, changed)), 'sshd reloaded:ok');
    assert.equal(level(judgeSshdReload(812, { pid: 812, at: new Date('2026-12-01T09:59:58.000Z'), by: 'start' }, changed)), 'sshd reloaded:warn');
    assert.equal(level(judgeSshdReload(812, null, changed)), 'sshd reloaded:warn');
  });

  it("groups: a missing one gets Debian's addgroup --system; an exempt group docker-jail did not make names its members", () => {
    assert.deepEqual(judgeJailGroup('jailed', null), {
      check: 'jail group',
      ok: false,
      detail: 'group jailed does not exist',
      fix: 'addgroup --system jailed',
    });
    assert.equal(level(judgeJailGroup('jailed', 990)), 'jail group:ok');
    assert.equal(judgeExemptGroup('admins', null, null, []).fix, 'addgroup --system admins');
    // Made by postinst (the record names this group and gid): its members were put there knowing what it does.
    assert.equal(level(judgeExemptGroup('admins', 991, 'admins 991\n', ['alice'])), 'exempt group:ok');
    const before = judgeExemptGroup('admins', 991, null, ['alice', 'bob']);
    assert.equal(level(before), 'exempt group:warn');
    assert.equal(before.detail, 'exempt group admins existed before docker-jail and has members alice, bob: they are never jailed');
    assert.match(before.fix ?? '', /^deluser USER admins .*addgroup --system NAME/);
    // A record for another group, or for a group of that name made again since (another gid), is not this group's.
    assert.equal(level(judgeExemptGroup('admins', 991, 'staff 991\n', ['alice'])), 'exempt group:warn');
    assert.equal(level(judgeExemptGroup('admins', 991, 'admins 992\n', ['alice'])), 'exempt group:warn');
    assert.equal(level(judgeExemptGroup('admins', 991, null, [])), 'exempt group:ok');
    const many = Array.from({ length: 25 }, (_, i) => `u${i}`);
    assert.match(judgeExemptGroup('admins', 991, null, many).detail, /has members u0, u1, .*, u19 and 5 more: they are never jailed$/);
  });
});
