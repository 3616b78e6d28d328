import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { formatJailTable } from '../src/commands/list';
import { defaultConfig } from '../src/config/load';
import { oomKillsOf, ptyName, startedAtOf, terminalOf, ttyNameOf } from '../src/host/procfs';
import { configuredLimits, type JailStandard, madeWith, outdatedReasons } from '../src/jail/jail';
import { type JailStatus, usageFrom } from '../src/jail/status';
import { type ProcessId, type SessionRecord, sessionRecordsIn, startOf } from '../src/session/records';
import { type SessionProbe, sessionRows } from '../src/session/who';

const LIMITS = { memoryBytes: 512 * 1048576, pidsLimit: 512, nanoCpus: 1e9 };
const STANDARD: JailStandard = { imageId: 'sha256:new', seccomp: 'f00d', agent: true, limits: LIMITS, network: 'none' };
const JAIL = { imageId: 'sha256:new', seccomp: 'f00d', agent: true, limits: LIMITS, network: 'none' };

describe('status: why a jail is outdated', () => {
  it('names nothing for a jail made as the config would make it now', () => {
    assert.deepEqual(outdatedReasons(JAIL, STANDARD), []);
  });

  it('names each reason, in a fixed order', () => {
    assert.deepEqual(outdatedReasons({ ...JAIL, imageId: 'sha256:old' }, STANDARD), ['image']);
    assert.deepEqual(outdatedReasons({ ...JAIL, limits: { ...LIMITS, memoryBytes: 1 } }, STANDARD), ['limits']);
    assert.deepEqual(outdatedReasons({ ...JAIL, limits: { ...LIMITS, pidsLimit: 0 } }, STANDARD), ['limits']);
    assert.deepEqual(outdatedReasons({ ...JAIL, limits: { ...LIMITS, nanoCpus: 2e9 } }, STANDARD), ['limits']);
    assert.deepEqual(outdatedReasons({ ...JAIL, network: 'bridge' }, STANDARD), ['network']);
    assert.deepEqual(outdatedReasons({ ...JAIL, seccomp: null }, STANDARD), ['seccomp']);
    assert.deepEqual(outdatedReasons({ ...JAIL, agent: false }, STANDARD), ['session kind']);
    assert.deepEqual(
      outdatedReasons({ imageId: 'sha256:old', seccomp: 'beef', agent: false, limits: { ...LIMITS, memoryBytes: 1 }, network: 'bridge' }, STANDARD),
      ['image', 'limits', 'network', 'seccomp', 'session kind'],
    );
  });

  it('takes the engine\'s "default" network for bridge', () => {
    assert.deepEqual(outdatedReasons({ ...JAIL, network: 'default' }, { ...STANDARD, network: 'bridge' }), []);
  });

  it('reads the limits a jail was made with as the config spells them: no limit is 0, whether the engine says 0, -1 or nothing', () => {
    assert.deepEqual(madeWith({ HostConfig: { Memory: 536870912, PidsLimit: 512, NanoCpus: 1e9, NetworkMode: 'none' } }), { limits: LIMITS, network: 'none' });
    assert.deepEqual(madeWith({ HostConfig: { Memory: 0, PidsLimit: -1, NetworkMode: 'bridge' } }), {
      limits: { memoryBytes: 0, pidsLimit: 0, nanoCpus: 0 },
      network: 'bridge',
    });
    assert.deepEqual(madeWith({ HostConfig: { PidsLimit: null } }), { limits: { memoryBytes: 0, pidsLimit: 0, nanoCpus: 0 } });
    assert.deepEqual(madeWith({}), {}, 'not inspected: not measured');
    const unlimited = { ...defaultConfig, jail: { ...defaultConfig.jail, memoryBytes: 0, pidsLimit: 0, cpus: 0 } };
    assert.deepEqual(configuredLimits(unlimited), madeWith({ HostConfig: { Memory: 0, PidsLimit: null, NanoCpus: 0 } }).limits);
    const half = { ...defaultConfig, jail: { ...defaultConfig.jail, cpus: 0.5 } };
    assert.equal(configuredLimits(half).nanoCpus, 5e8);
  });
});

describe('status: what the kernel and the engine say', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(`${tmpdir()}/status-`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names a pty slave by its device number, and nothing else', () => {
    assert.equal(ptyName((136n << 8n) | 3n), 'pts/3');
    // A minor above 255 (glibc's encoding: its high bits above the major's).
    assert.equal(ptyName((136n << 8n) | (0x12n << 20n) | 0x34n), `pts/${0x1234}`);
    assert.equal(ptyName((137n << 8n) | 1n), 'pts/257');
    assert.equal(ptyName((5n << 8n) | 2n), null, '/dev/ptmx');
    assert.equal(ptyName((4n << 8n) | 1n), null, 'a virtual console');
    assert.equal(ptyName((1n << 8n) | 3n), null, '/dev/null');
  });

  it("reads a jail process's pty by its link's text alone, and takes nothing else for one", () => {
    mkdirSync(`${dir}/7/fd`, { recursive: true });
    symlinkSync('/dev/pts/7', `${dir}/7/fd/0`);
    mkdirSync(`${dir}/8/fd`, { recursive: true });
    symlinkSync('/dev/pts/../../etc/shadow', `${dir}/8/fd/0`);
    mkdirSync(`${dir}/9/fd`, { recursive: true });
    symlinkSync('pipe:[1234]', `${dir}/9/fd/0`);
    assert.deepEqual(
      [7, 8, 9, 10].map((pid) => ttyNameOf(pid, dir)),
      ['pts/7', null, null, null],
    );
    // A login's own terminal is stat'ed: a regular file there is no terminal.
    mkdirSync(`${dir}/11/fd`, { recursive: true });
    writeFileSync(`${dir}/file`, '');
    symlinkSync(`${dir}/file`, `${dir}/11/fd/0`);
    assert.equal(terminalOf(11, dir), null);
  });

  it("counts OOM kills from the jail's cgroup, v2 or v1, and never leaves the hierarchy", () => {
    mkdirSync(`${dir}/system.slice/docker-c0ffee.scope`, { recursive: true });
    writeFileSync(`${dir}/system.slice/docker-c0ffee.scope/memory.events`, 'low 0\nhigh 0\nmax 7\noom 3\noom_kill 2\noom_group_kill 0\n');
    assert.equal(oomKillsOf({ cgroups: '0::/system.slice/docker-c0ffee.scope\n' }, dir), 2);
    assert.equal(oomKillsOf({ cgroups: '0::/system.slice/docker-beef.scope\n' }, dir), null, 'no such cgroup');
    assert.equal(oomKillsOf({ cgroups: '0::/system.slice/../../etc\n' }, dir), null);
    // v1 (a hybrid host: the unified hierarchy holds no controller, so no memory.events).
    mkdirSync(`${dir}/memory/docker/c0ffee`, { recursive: true });
    writeFileSync(`${dir}/memory/docker/c0ffee/memory.oom_control`, 'oom_kill_disable 0\nunder_oom 0\noom_kill 5\n');
    const hybrid = '9:name=systemd:/docker/c0ffee\n4:memory:/docker/c0ffee\n1:cpu,cpuacct:/docker/c0ffee\n0::/docker/c0ffee\n';
    assert.equal(oomKillsOf({ cgroups: hybrid }, dir), 5);
    assert.equal(oomKillsOf({ cgroups: '4:memory:/docker/../../c0ffee\n' }, dir), null);
    assert.equal(oomKillsOf({ cgroups: '1:cpu:/docker/c0ffee\n' }, dir), null, 'no memory hierarchy');
  });

  it('dates a process from its start time in clock ticks and the boot time', () => {
    writeFileSync(`${dir}/stat`, 'cpu  1 2 3\nbtime 1800000000\nprocesses 9\n');
    assert.equal(startedAtOf(12_345, dir)?.toISOString(), new Date((1800000000 + 123.45) * 1000).toISOString());
    rmSync(`${dir}/stat`);
    assert.equal(startedAtOf(1, dir), null);
  });

  it('reads CPU use and time, memory and pids from one stats sample', () => {
    const stats = {
      cpu_stats: { cpu_usage: { total_usage: 7_500_000_000 }, system_cpu_usage: 2_000_000_000, online_cpus: 4 },
      precpu_stats: { cpu_usage: { total_usage: 7_400_000_000 }, system_cpu_usage: 1_000_000_000 },
      memory_stats: { usage: 123 },
      pids_stats: { current: 9 },
    };
    assert.deepEqual(usageFrom(stats), { cpuPercent: 40, cpuSeconds: 7.5, memoryBytes: 123, pids: 9 });
    assert.deepEqual(usageFrom({ ...stats, pids_stats: undefined, memory_stats: {} }), { cpuPercent: 40, cpuSeconds: 7.5, memoryBytes: null, pids: null });
  });
});

describe('status: one row per session', () => {
  const NOW = Date.parse('2026-12-02T12:00:00Z');

  it('records where a session came from and its terminal as the login learnt them (PAM, fd 0), for the FROM and TTY columns', () => {
    const config = defaultConfig;
    const at = new Date(NOW);
    const ssh = startOf({ config, shellArgs: { command: null } as never, origin: { rhost: '192.0.2.7', pamTty: 'ssh', ttyName: '/dev/pts/4' } }, at);
    assert.deepEqual(ssh, { startedAt: at.toISOString(), command: '-bash', rhost: '192.0.2.7', tty: '/dev/pts/4' });
    const piped = startOf({ config, shellArgs: { command: 'ls' } as never, origin: { service: 'sshd', rhost: '192.0.2.7', pamTty: 'ssh' } }, at);
    assert.deepEqual([piped.command, piped.tty], ['ls', 'ssh']);
    const su = startOf({ config, shellArgs: { command: null } as never, origin: {} }, at);
    assert.deepEqual([su.rhost, su.tty], [null, null]);
  });
  const pid = (n: number): ProcessId => ({ pid: n, start: n * 10 });
  const record = (over: Partial<SessionRecord>): SessionRecord => ({
    pid: 100,
    ancestors: [pid(90), pid(80)],
    uid: 1001,
    jailId: 'c0ffee',
    exec: null,
    marker: 'DOCKER_JAIL_SESSION=x',
    ...over,
  });
  /** Processes alive, by pid, with their parent, terminal and start. */
  const probe = (alive: Record<number, { parent?: number; tty?: string; lastInputMs?: number; startedAt?: string; jailTty?: string }>): SessionProbe => ({
    stillRunning: (id) => (id !== null && alive[id.pid] !== undefined ? id.pid : null),
    parentOf: (n) => alive[n]?.parent ?? null,
    terminalOf: (n) => {
      const p = alive[n];
      return p?.tty === undefined ? null : { tty: p.tty, lastInputMs: p.lastInputMs ?? NOW };
    },
    ttyNameOf: (n) => alive[n]?.jailTty ?? null,
    startedAt: (n) => alive[n]?.startedAt ?? null,
    now: NOW,
  });

  it("shows an agent session while its attach process lives: where from, the client's terminal, since, idle, command", () => {
    const agent = record({ pid: 100, agent: pid(100), startedAt: '2026-12-02T10:00:00.000Z', command: '-bash', rhost: '192.0.2.7', tty: 'ssh' });
    const gone = record({ pid: 101, agent: pid(101), startedAt: '2026-12-02T09:00:00.000Z', command: 'ls' });
    const rows = sessionRows([agent, gone], [], probe({ 100: { tty: 'pts/4', lastInputMs: NOW - 125_500 } }));
    assert.deepEqual(rows, [{ rhost: '192.0.2.7', tty: 'ssh', since: '2026-12-02T10:00:00.000Z', idleSeconds: 125, command: '-bash' }]);
  });

  it('shows null where the record has no rhost or tty (made before they were recorded), and the pty seen instead of the tty', () => {
    const agent = record({ pid: 100, agent: pid(100) });
    const rows = sessionRows([agent], [], probe({ 100: { tty: 'pts/2', startedAt: '2026-12-02T11:00:00.000Z' } }));
    assert.deepEqual(rows, [{ rhost: null, tty: 'pts/2', since: '2026-12-02T11:00:00.000Z', idleSeconds: 0, command: null }]);
  });

  it("shows an exec session with its login's record, idle from the login's terminal, and one without a record from the engine", () => {
    const login = record({ pid: 200, ancestors: [pid(190)], exec: pid(300), startedAt: '2026-12-02T08:00:00.000Z', command: 'make' });
    const execs = [
      { pid: 300, command: '/bin/sh -c ...' },
      { pid: 400, command: '/bin/bash -l' },
    ];
    const alive = probe({
      190: {},
      200: { parent: 190, tty: 'pts/9', lastInputMs: NOW - 60_000 },
      300: { tty: 'pts/0', lastInputMs: NOW, jailTty: 'pts/0' },
      400: { startedAt: '2026-12-02T11:30:00.000Z', jailTty: 'pts/1', tty: 'pts/1' },
    });
    assert.deepEqual(sessionRows([login], execs, alive), [
      { rhost: null, tty: 'pts/9', since: '2026-12-02T08:00:00.000Z', idleSeconds: 60, command: 'make' },
      { rhost: null, tty: 'pts/1', since: '2026-12-02T11:30:00.000Z', idleSeconds: null, command: '/bin/bash -l' },
    ]);
    // The login's process gone (its pid taken by another process): the name of the exec's pty, never its times
    // (what a process in the jail has on fd 0 is its user's choice: it is never stat'ed).
    const orphaned = probe({ 200: { parent: 1, tty: 'pts/9' }, 300: { tty: 'pts/0', lastInputMs: NOW - 5000, jailTty: 'pts/0' } });
    assert.deepEqual(
      sessionRows([login], [execs[0]], orphaned).map((r) => [r.tty, r.idleSeconds]),
      [['pts/0', null]],
    );
  });

  it('reads the records of one jail only', () => {
    const dir = mkdtempSync(`${tmpdir()}/records-`);
    try {
      writeFileSync(`${dir}/100.json`, JSON.stringify(record({ pid: 100 })));
      writeFileSync(`${dir}/101.json`, JSON.stringify(record({ pid: 101, jailId: 'beef' })));
      writeFileSync(`${dir}/102.json`, '{');
      writeFileSync(`${dir}/notes`, '{}');
      assert.deepEqual(
        sessionRecordsIn('c0ffee', dir).map((r) => r.pid),
        [100],
      );
      assert.deepEqual(sessionRecordsIn('c0ffee', `${dir}/none`), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('status: the tables list prints', () => {
  const since = new Date(2026, 11, 2, 14, 5).toISOString();
  const jail: JailStatus = {
    name: 'jail-alice',
    owner: 'alice',
    uid: 1001,
    state: 'running',
    image: 'docker-jail/base:bookworm',
    outdated: true,
    outdatedReasons: ['limits', 'network'],
    sessionsVia: 'agent',
    startedAt: since,
    uptimeSeconds: 7500,
    sessions: 2,
    sessionList: [
      { rhost: '192.0.2.7', tty: 'pts/3', since, idleSeconds: 303, command: '-bash' },
      { rhost: null, tty: null, since, idleSeconds: null, command: 'echo \u001b]0;owned\u0007' },
    ],
    cpuPercent: 1.5,
    cpuSeconds: 3 * 86400 + 4 * 3600,
    memoryBytes: 120 * 1048576,
    memoryLimitBytes: 512 * 1048576,
    pids: 5,
    pidsLimit: 512,
    tmpUsedBytes: 36 * 1024,
    tmpLimitBytes: 1073741824,
    oomKills: 2,
    lastLogin: since,
  };

  it('shows use against limits, human durations, local times and why a jail is outdated, then one row per session', () => {
    const [header, row, blank, sessionHeader, first, second, ...rest] = formatJailTable([jail]).split('\n');
    assert.match(header, /^JAIL +OWNER +STATE +IMAGE +UPTIME +SESSIONS +VIA +CPU +CPU TIME +MEMORY +PIDS +\/TMP +OOM KILLS +LAST LOGIN$/);
    assert.deepEqual(row.split(/ {2,}/), [
      'jail-alice',
      'alice',
      'running',
      'docker-jail/base:bookworm (outdated: limits, network)',
      '2h 5m',
      '2',
      'agent',
      '1.5%',
      '3d 4h',
      '120M/512M',
      '5/512',
      '36K/1G',
      '2',
      '2026-12-02 14:05',
    ]);
    assert.equal(blank, '');
    assert.match(sessionHeader, /^JAIL +FROM +TTY +SINCE +IDLE +COMMAND$/);
    assert.deepEqual(first.split(/ {2,}/), ['jail-alice', '192.0.2.7', 'pts/3', '2026-12-02 14:05', '5m 3s', '-bash']);
    assert.deepEqual(second.split(/ {2,}/), ['jail-alice', '-', '-', '2026-12-02 14:05', '-', 'echo \\x1b]0;owned\\x07'], 'a command is escaped');
    assert.deepEqual(rest, ['']);
  });

  it('shows - for what is unknown or unlimited, and no session table without sessions', () => {
    const stopped: JailStatus = {
      ...jail,
      state: 'exited',
      outdated: false,
      outdatedReasons: [],
      uptimeSeconds: null,
      sessions: 0,
      sessionList: [],
      cpuPercent: null,
      cpuSeconds: null,
      memoryBytes: null,
      memoryLimitBytes: null,
      pids: null,
      oomKills: null,
      lastLogin: null,
    };
    const lines = formatJailTable([stopped]).split('\n');
    assert.deepEqual(lines[1].split(/ {2,}/), [
      'jail-alice',
      'alice',
      'exited',
      'docker-jail/base:bookworm',
      '-',
      '0',
      'agent',
      '-',
      '-',
      '-/-',
      '-/512',
      '36K/1G',
      '-',
      '-',
    ]);
    assert.deepEqual(lines.slice(2), ['']);
  });
});
