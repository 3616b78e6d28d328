import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { METRICS_FILE, METRICS_TEXTFILE_DIR } from '../src/host/paths';
import { jailedUsers, loginAs, spawnLogin } from './support/fixtures';
import { requireHost, run, sh, waitFor } from './support/host';
import { jailOf, type TestUser } from './support/users';

const CLI = '/usr/sbin/docker-jail';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  samples: Sample[];
}

/** Prometheus's own Python client parses the text (Debian's python3-prometheus-client): it raises on anything malformed. */
const PARSE = `import sys, json
from prometheus_client.parser import text_string_to_metric_families
families = text_string_to_metric_families(sys.stdin.read())
print(json.dumps([{"name": f.name, "type": f.type, "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]} for f in families]))`;

function parsePrometheus(text: string): Family[] {
  const parsed = run('/usr/bin/python3', ['-c', PARSE], { input: text });
  assert.equal(parsed.status, 0, `the Prometheus parser refused the metrics:\n${parsed.stderr}\n${text}`);
  return JSON.parse(parsed.stdout) as Family[];
}

/** The value of one sample, by its name and the labels it must carry (undefined when absent). */
function sampleValue(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  return families.flatMap((f) => f.samples).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

function metricsNow(): Family[] {
  const result = run(CLI, ['metrics', '--output', '-']);
  assert.equal(result.status, 0, result.stderr);
  return parsePrometheus(result.stdout);
}

describe('metrics and top: what an administrator watches', function () {
  this.timeout(120_000);
  const users = jailedUsers();
  let user: TestUser;
  let session: ChildProcess;

  before(async () => {
    requireHost('docker', 'su', 'tmux', 'setpriv', '/usr/bin/python3');
    const module = run('/usr/bin/python3', ['-c', 'import prometheus_client.parser']);
    if (module.status !== 0) throw new Error('prerequisite missing: python3-prometheus-client (./build.sh test installs it)');
    user = users.make({});
    // One session held open for the whole suite: the user is logged in while the metrics and top look.
    session = spawnLogin(user, 'sleep 600', { via: 'su' }, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    session.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(
      'the session to run',
      () => {
        if (session.exitCode !== null) throw new Error(`the login ended (${session.exitCode}): ${stderr}`);
        return run('/bin/sh', ['-c', `docker top ${jailOf(user)} -eo pid,args`]).stdout.includes('sleep 600');
      },
      30_000,
    );
  });

  after(() => {
    session?.kill('SIGKILL');
  });

  it('writes metrics a Prometheus parser reads: the logged-in user as a session, their memory, logins and refusals counted', () => {
    const before = metricsNow();
    const jail = { user: user.name, jail: `jail-${user.name}` };
    assert.equal(sampleValue(before, 'docker_jail_sessions', jail), 1);
    assert.ok((sampleValue(before, 'docker_jail_memory_bytes', jail) ?? 0) > 0, 'no memory use for the running jail');
    assert.ok((sampleValue(before, 'docker_jail_jails', { state: 'running' }) ?? 0) >= 1);
    assert.equal(before.find((f) => f.name === 'docker_jail_logins')?.type, 'counter');
    assert.equal(before.find((f) => f.name === 'docker_jail_jails')?.type, 'gauge');

    // A login counts; a refusal counts under its reason: a member of both the jail and the exempt group is refused.
    assert.equal(loginAs(user, 'true').status, 0);
    const both = users.make({ groups: ['jailed', 'admins'] });
    const refused = loginAs(both, 'true', { via: 'launcher' });
    assert.equal(refused.status, 77, refused.stderr);
    const after = metricsNow();
    const count = (families: Family[], name: string, labels = {}) => sampleValue(families, name, labels) ?? Number.NaN;
    assert.equal(count(after, 'docker_jail_logins_total') - count(before, 'docker_jail_logins_total'), 1);
    assert.equal(count(after, 'docker_jail_refusals_total', { reason: 'access' }) - count(before, 'docker_jail_refusals_total', { reason: 'access' }), 1);
    assert.equal(count(after, 'docker_jail_refusals_total', { reason: 'unavailable' }), count(before, 'docker_jail_refusals_total', { reason: 'unavailable' }));
  });

  it('writes the file whole and world-readable where it is told, and refuses a missing directory naming it', () => {
    const dir = mkdtempSync('/tmp/djt-textfile-');
    try {
      const written = run('/bin/sh', ['-c', `umask 077; exec ${CLI} metrics --output ${dir}/docker-jail.prom`]);
      assert.equal(written.status, 0, written.stderr);
      assert.equal(statSync(`${dir}/docker-jail.prom`).mode & 0o777, 0o644);
      assert.ok(parsePrometheus(readFileSync(`${dir}/docker-jail.prom`, 'utf8')).some((f) => f.name === 'docker_jail_sessions'));
      assert.equal(sh(`ls -A ${dir}`), 'docker-jail.prom\n', 'a temp file was left beside it');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const missing = run(CLI, ['metrics', '--output', '/nonexistent-djt/docker-jail.prom']);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /^docker-jail: \/nonexistent-djt: no such directory/);
    assert.equal(missing.stderr.split('\n').length, 2, missing.stderr);
  });

  it('shows when gc last completed', () => {
    const gc = run(CLI, ['gc']);
    assert.equal(gc.status, 0, gc.stderr);
    const when = sampleValue(metricsNow(), 'docker_jail_gc_last_run_timestamp_seconds');
    assert.ok(when !== undefined && Math.abs(when * 1000 - Date.now()) < 60_000, `gc last ran at ${when}`);
  });

  it("ships a timer that runs it every minute where node_exporter's directory exists, and its service works", () => {
    const unit = '/lib/systemd/system/docker-jail-metrics';
    const verified = run('/usr/bin/systemd-analyze', ['verify', `${unit}.service`, `${unit}.timer`]);
    assert.equal(verified.status, 0, verified.stderr);
    assert.equal(verified.stderr, '');
    assert.match(readFileSync(`${unit}.timer`, 'utf8'), /^OnCalendar=minutely$/m);
    assert.ok(existsSync('/etc/systemd/system/timers.target.wants/docker-jail-metrics.timer'), 'the timer is not enabled');
    const service = readFileSync(`${unit}.service`, 'utf8');
    assert.match(service, new RegExp(`^ConditionPathIsDirectory=${METRICS_TEXTFILE_DIR}$`, 'm'));
    assert.match(service, new RegExp(`^ReadWritePaths=${METRICS_TEXTFILE_DIR}$`, 'm'));
    assert.match(service, /^TimeoutStartSec=/m);
    const execStart = /^ExecStart=(.+)$/m.exec(service);
    assert.ok(execStart, 'no ExecStart');
    const made = !existsSync(METRICS_TEXTFILE_DIR);
    mkdirSync(METRICS_TEXTFILE_DIR, { recursive: true });
    try {
      const [file, ...args] = execStart[1].split(' ');
      const ran = run(file, args);
      assert.equal(ran.status, 0, ran.stderr);
      assert.ok((sampleValue(parsePrometheus(readFileSync(METRICS_FILE, 'utf8')), 'docker_jail_sessions', { user: user.name }) ?? 0) >= 1);
    } finally {
      rmSync(METRICS_FILE, { force: true });
      if (made) rmSync('/var/lib/prometheus', { recursive: true, force: true });
    }
  });

  it('top | cat prints one table and exits', () => {
    const piped = run('/bin/sh', ['-c', `${CLI} top | cat`], { timeout: 30_000 });
    assert.equal(piped.status, 0, piped.stderr);
    const lines = piped.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^JAIL +OWNER +STATE +SESS +CPU% +MEM /);
    assert.equal(lines.filter((l) => l.startsWith('JAIL ')).length, 1);
    assert.match(piped.stdout, new RegExp(`^jail-${user.name} +${user.name} +running +1 `, 'm'));
    assert.doesNotMatch(piped.stdout, /\x1b/);
  });

  describe('top in a real terminal (tmux)', () => {
    const server = `djt-top-${process.pid}`;
    const tmux = (...args: string[]) => run('/usr/bin/tmux', ['-L', server, '-f', '/dev/null', ...args]);
    const screen = () => tmux('capture-pane', '-p', '-t', 'top').stdout;
    const pane = (format: string) => tmux('display-message', '-p', '-t', 'top', format).stdout.trim();
    /** After top: its exit status, and whether the terminal is back to line mode with echo. */
    const afterTop = `echo TOP-EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo; sleep 600`;

    afterEach(() => {
      tmux('kill-server');
    });

    it('redraws in place on the alternate screen, sorts on m and c, and q gives the terminal back', async () => {
      const started = tmux('new-session', '-d', '-s', 'top', '-x', '160', '-y', '30', `${CLI} top; ${afterTop}`);
      assert.equal(started.status, 0, started.stderr);
      await waitFor('top to show the jail', () => screen().includes(`jail-${user.name}`), 30_000);
      assert.equal(pane('#{alternate_on}'), '1', 'not on the alternate screen');
      const first = screen();
      assert.match(first, /^docker-jail top - \d\d:\d\d:\d\d .*sorted by cpu/);
      // Refreshed in place: the clock moves, and the screen still holds one view, not one after another.
      await waitFor('a refresh', () => /^docker-jail top - (\S+)/.exec(screen())?.[1] !== /^docker-jail top - (\S+)/.exec(first)?.[1], 15_000);
      assert.equal(screen().split('docker-jail top - ').length - 1, 1);
      tmux('send-keys', '-t', 'top', 'm');
      await waitFor('the memory order', () => screen().includes('sorted by memory'));
      tmux('send-keys', '-t', 'top', 'c');
      await waitFor('the CPU order', () => screen().includes('sorted by cpu'));
      tmux('send-keys', '-t', 'top', 'q');
      await waitFor('top to end', () => screen().includes('TOP-EXIT='));
      const back = screen();
      assert.match(back, /TOP-EXIT=0\n/);
      assert.match(back, /\bicanon echo\b|\becho icanon\b/, 'the terminal was left raw');
      assert.doesNotMatch(back, /docker-jail top - /, 'the view was left on the main screen');
      assert.equal(pane('#{alternate_on}'), '0');
      assert.equal(pane('#{cursor_flag}'), '1', 'the cursor was left hidden');
    });

    it('gives the terminal back when it is sent SIGTERM', async () => {
      assert.equal(tmux('new-session', '-d', '-s', 'top', '-x', '160', '-y', '30', `${CLI} top; ${afterTop}`).status, 0);
      await waitFor('top to show the jail', () => screen().includes(`jail-${user.name}`), 30_000);
      const shell = pane('#{pane_pid}');
      const top = sh(`pgrep -P ${shell} -f 'docker-jail top'`).trim();
      sh(`kill -TERM ${top}`);
      await waitFor('top to end', () => screen().includes('TOP-EXIT='));
      assert.match(screen(), /TOP-EXIT=143\n/);
      assert.match(screen(), /\bicanon echo\b|\becho icanon\b/, 'the terminal was left raw');
      assert.equal(pane('#{alternate_on}'), '0');
    });
  });
});
