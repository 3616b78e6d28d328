import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { REFUSAL_REASONS, refusalReasonOf } from '../src/audit/counters';
import type { CommandIo } from '../src/commands/command';
import { dispatch } from '../src/commands/dispatch';
import { ExitCode, JailError } from '../src/errors';
import { escapeLabelValue, formatMetrics, type MetricsInput, publishMetrics } from '../src/jail/metrics';
import type { JailStatus } from '../src/jail/status';
import { jailStatus } from './fakes/jailStatus';

const jail = (fields: Partial<JailStatus>): JailStatus => jailStatus(fields);

const noRefusals = { access: 0, config: 0, unavailable: 0, failure: 0 };

function input(fields: Partial<MetricsInput>): MetricsInput {
  return { jails: [], counts: { logins: 0, refusals: noRefusals }, gc: null, cpuLimit: 0, ...fields };
}

/** The samples of one metric, as `name{labels} value` lines. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe('metrics: the Prometheus text format for the textfile collector', () => {
  it('gives every metric one HELP and one TYPE line before its samples, and no family without samples', () => {
    const text = formatMetrics(
      input({
        jails: [jail({ sessions: 2, memoryBytes: 5_000_000, memoryLimitBytes: 1 << 30, cpuPercent: 12.5, pids: 7, pidsLimit: 512 })],
        counts: { logins: 4, refusals: { ...noRefusals, access: 1 } },
        gc: { finished: '2026-12-02T10:00:00.000Z', ok: true },
        cpuLimit: 2,
      }),
    );
    assert.ok(text.endsWith('\n'));
    const names = new Set<string>();
    let current = '';
    for (const line of text.trimEnd().split('\n')) {
      const help = /^# HELP (\w+) \S/.exec(line);
      const type = /^# TYPE (\w+) (gauge|counter)$/.exec(line);
      if (help !== null) {
        assert.ok(!names.has(help[1]), `${help[1]} twice`);
        names.add(help[1]);
        current = help[1];
      } else if (type !== null) assert.equal(type[1], current);
      else assert.match(line, new RegExp(`^${current}(\\{[^}]*\\})? -?[0-9.e+]+$`), line);
    }
    for (const name of names) assert.match(name, /^docker_jail_/);
    assert.deepEqual(samples(text, 'docker_jail_sessions'), ['docker_jail_sessions{user="alice",jail="jail-alice"} 2']);
    assert.deepEqual(samples(text, 'docker_jail_logins_total'), ['docker_jail_logins_total 4']);
    assert.ok(samples(text, 'docker_jail_refusals_total').includes('docker_jail_refusals_total{reason="access"} 1'));
    assert.equal(samples(text, 'docker_jail_refusals_total').length, Object.keys(REFUSAL_REASONS).length);
    assert.deepEqual(samples(text, 'docker_jail_memory_limit_bytes'), ['docker_jail_memory_limit_bytes{user="alice",jail="jail-alice"} 1073741824']);
    assert.deepEqual(samples(text, 'docker_jail_cpu_usage_cpus'), ['docker_jail_cpu_usage_cpus{user="alice",jail="jail-alice"} 0.125']);
    assert.deepEqual(samples(text, 'docker_jail_pids_limit'), ['docker_jail_pids_limit{user="alice",jail="jail-alice"} 512']);
    assert.deepEqual(samples(text, 'docker_jail_cpu_limit_cpus'), ['docker_jail_cpu_limit_cpus 2']);
    assert.deepEqual(samples(text, 'docker_jail_gc_last_run_timestamp_seconds'), [
      `docker_jail_gc_last_run_timestamp_seconds ${Date.parse('2026-12-02T10:00:00Z') / 1000}`,
    ]);
    assert.deepEqual(samples(text, 'docker_jail_gc_last_run_success'), ['docker_jail_gc_last_run_success 1']);
    // No /tmp use known (not given), no OOM count: left out, HELP and TYPE too.
    assert.doesNotMatch(text, /docker_jail_tmp_used_bytes|docker_jail_oom_kills_total/);
  });

  it('counts jails by state, every state written (0 when none), an unknown one too', () => {
    const text = formatMetrics(input({ jails: [jail({}), jail({ name: 'jail-bob', state: 'exited' }), jail({ name: 'jail-x', state: 'odd' })] }));
    const states = samples(text, 'docker_jail_jails');
    assert.ok(states.includes('docker_jail_jails{state="running"} 1'));
    assert.ok(states.includes('docker_jail_jails{state="exited"} 1'));
    assert.ok(states.includes('docker_jail_jails{state="paused"} 0'));
    assert.ok(states.includes('docker_jail_jails{state="odd"} 1'));
    // Stopped jails have no use: nothing written for them, and no gc line before gc has run.
    assert.equal(samples(text, 'docker_jail_memory_bytes').length, 0);
    assert.doesNotMatch(text, /gc_last_run/);
  });

  it('escapes label values from the user database: backslash, double quote, line feed', () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    const text = formatMetrics(input({ jails: [jail({ owner: 'ev"il\\\n', sessions: 1 })] }));
    assert.deepEqual(samples(text, 'docker_jail_sessions'), ['docker_jail_sessions{user="ev\\"il\\\\\\n",jail="jail-alice"} 1']);
    for (const line of text.trimEnd().split('\n')) assert.match(line, /^(# |docker_jail_)/, 'a line feed in a label split a sample');
  });

  it("classes a login's refusal by its exit status", () => {
    assert.equal(refusalReasonOf(new JailError('not jailed', ExitCode.refused)), 'access');
    assert.equal(refusalReasonOf(new JailError('bad config', ExitCode.config)), 'config');
    assert.equal(refusalReasonOf(new JailError('engine down', ExitCode.unavailable)), 'unavailable');
    assert.equal(refusalReasonOf(new JailError('bad usage', ExitCode.usage)), 'failure');
    assert.equal(refusalReasonOf(new JailError('odd', 42)), 'failure');
    assert.equal(refusalReasonOf(new Error('plain')), 'failure');
  });

  describe('publishing the file', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(`${tmpdir()}/djt-metrics-`);
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('writes it whole, 0644 whatever the umask, over a link rather than through it, nothing left beside it', () => {
      writeFileSync(`${dir}/target`, 'untouched');
      symlinkSync(`${dir}/target`, `${dir}/docker-jail.prom`);
      const umask = process.umask(0o077);
      try {
        publishMetrics(`${dir}/docker-jail.prom`, 'docker_jail_x 1\n');
      } finally {
        process.umask(umask);
      }
      assert.equal(readFileSync(`${dir}/docker-jail.prom`, 'utf8'), 'docker_jail_x 1\n');
      assert.equal(statSync(`${dir}/docker-jail.prom`).mode & 0o777, 0o644);
      assert.equal(readFileSync(`${dir}/target`, 'utf8'), 'untouched');
      assert.deepEqual(readdirSync(dir).sort(), ['docker-jail.prom', 'target']);
    });

    it('never writes through a directory that is a link (the textfile directory may be another account’s to swap)', () => {
      mkdirSync(`${dir}/elsewhere`);
      symlinkSync(`${dir}/elsewhere`, `${dir}/textfile`);
      assert.throws(
        () => publishMetrics(`${dir}/textfile/docker-jail.prom`, 'x 1\n'),
        (e) => e instanceof JailError && /is a symbolic link: not followed/.test(e.message),
      );
      assert.deepEqual(readdirSync(`${dir}/elsewhere`), []);
    });

    it('refuses a missing directory with one error naming it', () => {
      assert.throws(
        () => publishMetrics(`${dir}/none/docker-jail.prom`, ''),
        (e) => e instanceof JailError && e.message.startsWith(`${dir}/none: no such directory`) && !e.message.includes('\n'),
      );
    });
  });

  it('refuses bad arguments with its usage (exit 2), naming a bad option', async () => {
    const io = { stdout: { write: () => true }, stderr: { write: () => true } } as unknown as CommandIo;
    const geteuid = process.geteuid;
    process.geteuid = () => 0;
    try {
      for (const args of [['--output'], ['--output='], ['--output', 'a', 'b'], ['file']]) {
        await assert.rejects(
          dispatch(['metrics', ...args], io),
          (e) => e instanceof JailError && e.exitCode === 2 && /usage: docker-jail metrics/.test(e.message),
          args.join(' '),
        );
      }
      assert.equal(await dispatch(['metrics', '-x'], io), 2, 'an undeclared option: dispatch names it (commands.test)');
    } finally {
      process.geteuid = geteuid;
    }
  });
});
