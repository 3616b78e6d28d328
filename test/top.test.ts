import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { CommandIo } from '../src/commands/command';
import { dispatch } from '../src/commands/dispatch';
import { type LiveView, showLive } from '../src/commands/liveScreen';
import { topLines } from '../src/commands/top';
import { JailError } from '../src/errors';
import type { JailStatus } from '../src/jail/status';
import { jailStatus } from './fakes/jailStatus';

function jail(name: string, fields: Partial<JailStatus>): JailStatus {
  return jailStatus({ uptimeSeconds: 7500, sessions: 1, ...fields, name });
}

const JAILS = [
  jail('jail-alice', { cpuPercent: 50, memoryBytes: 10 << 20 }),
  jail('jail-bob', { cpuPercent: 5, memoryBytes: 300 << 20, memoryLimitBytes: 1 << 30 }),
];

/** A terminal: what was written, keys to type, and the process's signals. */
function terminal() {
  const written: string[] = [];
  const input = Object.assign(new EventEmitter(), {
    isTTY: true,
    raw: false,
    setRawMode(raw: boolean) {
      input.raw = raw;
    },
    resume: () => undefined,
    pause: () => undefined,
  });
  const output = { isTTY: true, columns: 100, rows: 10, write: (text: string) => written.push(text) };
  const signals = new EventEmitter();
  return { input, output, signals, written, screen: () => written.join('') };
}

function view(fetches: { count: number }): LiveView<JailStatus[]> {
  return {
    fetch: async () => {
      fetches.count += 1;
      return JAILS;
    },
    render: (jails, order, live) => topLines(jails, order as 'memory' | 'cpu', live),
    orders: { m: 'memory', c: 'cpu' },
    order: 'cpu',
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('top: the jails, live on a terminal, plain in a pipe', () => {
  it('sorts busiest first by CPU or memory, numbers right-aligned, use against limits', () => {
    const byCpu = topLines(JAILS, 'cpu', false);
    assert.match(byCpu[0], /^JAIL +OWNER +STATE +SESS +CPU% +MEM +MEM% +PIDS +TMP +OOM +UPTIME$/);
    assert.match(byCpu[1], /^jail-alice +alice +running +1 +50\.0 +10M +- +- +- +- +2h 5m$/);
    assert.match(byCpu[2], /^jail-bob +bob +running +1 +5\.0 +300M +29\.3 /);
    assert.deepEqual(
      topLines(JAILS, 'memory', false).map((l) => l.split(' ')[0]),
      ['JAIL', 'jail-bob', 'jail-alice'],
    );
    const live = topLines(JAILS, 'memory', true, new Date(2026, 0, 1, 9, 5, 7));
    assert.match(live[0], /^docker-jail top - 09:05:07 {2}jails: 2 \(2 running\) {2}sessions: 2 {2}sorted by memory/);
    assert.equal(live[1], '');
    assert.equal(topLines([jail('jail-\x1b]0;x', {})], 'cpu', false)[1].split(' ')[0], 'jail-\\x1b]0;x');
  });

  it('prints the table once and nothing else when the output is not a terminal; -n N times', async () => {
    const fetches = { count: 0 };
    const written: string[] = [];
    const io = { stdin: terminal().input, stdout: { isTTY: false, write: (t: string) => written.push(t) } };
    assert.equal(await showLive(view(fetches), io, { batch: false, iterations: null, intervalMs: 1 }), 0);
    assert.equal(written.join(''), `${topLines(JAILS, 'cpu', false).join('\n')}\n`);
    assert.doesNotMatch(written.join(''), /\x1b/);
    written.length = 0;
    assert.equal(await showLive(view(fetches), { ...io, stdout: { ...io.stdout, isTTY: true } }, { batch: true, iterations: 2, intervalMs: 1 }), 0);
    assert.equal(written.join('').split('JAIL ').length - 1, 2);
    assert.equal(fetches.count, 3);
  });

  it('redraws in place on the alternate screen, sorts on m and c, and gives the terminal back on q', async () => {
    const t = terminal();
    const fetches = { count: 0 };
    const done = showLive(view(fetches), { stdin: t.input, stdout: t.output }, { batch: false, iterations: null, intervalMs: 10_000 }, t.signals);
    await tick();
    assert.ok(t.input.raw, 'the keys are read one by one');
    assert.ok(t.screen().startsWith('\x1b[?1049h'), 'not on the alternate screen');
    assert.match(t.screen(), /\x1b\[H.*sorted by cpu.*\x1b\[J$/s);
    t.input.emit('data', Buffer.from('m'));
    assert.match(t.written.at(-1) ?? '', /sorted by memory.*jail-bob.*jail-alice/s);
    t.input.emit('data', Buffer.from('c'));
    assert.match(t.written.at(-1) ?? '', /sorted by cpu.*jail-alice.*jail-bob/s);
    t.input.emit('data', Buffer.from('q'));
    assert.equal(await done, 0);
    assert.ok(!t.input.raw, 'the terminal was left raw');
    assert.ok(t.screen().endsWith('\x1b[?25h\x1b[?1049l'), 'the main screen is not back');
    assert.equal(t.input.listenerCount('data'), 0);
    assert.deepEqual(t.signals.eventNames(), []);
    assert.equal(fetches.count, 1);
  });

  it('gives the terminal back on SIGTERM and SIGINT too, with 128 + the signal', async () => {
    for (const [signal, status] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      const t = terminal();
      const done = showLive(view({ count: 0 }), { stdin: t.input, stdout: t.output }, { batch: false, iterations: null, intervalMs: 10_000 }, t.signals);
      await tick();
      t.signals.emit(signal);
      assert.equal(await done, status);
      assert.ok(!t.input.raw && t.screen().endsWith('\x1b[?25h\x1b[?1049l'), signal);
      assert.deepEqual(t.signals.eventNames(), []);
    }
  });

  it('cuts each line to the width and the screen to its rows, and shows an error over the last table', async () => {
    const t = terminal();
    t.output.columns = 20;
    t.output.rows = 3;
    let fetches = 0;
    const failing: LiveView<JailStatus[]> = {
      ...view({ count: 0 }),
      fetch: async () => {
        fetches += 1;
        if (fetches > 1) throw new Error('the engine\nis down');
        return JAILS;
      },
    };
    const done = showLive(failing, { stdin: t.input, stdout: t.output }, { batch: false, iterations: 2, intervalMs: 1 }, t.signals);
    assert.equal(await done, 0);
    const last = (t.written.at(-2) ?? '')
      .replace(/^\x1b\[H/, '')
      .replace(/\x1b\[J$/, '')
      .split('\x1b[K\n');
    assert.equal(last.length, 3);
    assert.equal(last[0], 'error: the engine is'); // the line feed shown as a space, cut at 20
    for (const line of last) assert.ok(line.replace('\x1b[K', '').length <= 20, line);
  });

  it('refuses bad arguments with its usage (exit 2), naming what is wrong, before it asks the engine', async () => {
    const io = { stdout: { write: () => true }, stderr: { write: () => true } } as unknown as CommandIo;
    const geteuid = process.geteuid;
    process.geteuid = () => 0;
    try {
      for (const [args, first] of [
        [['x'], 'unexpected argument x'],
        [['-n'], 'bad option -n'],
        [['-n', '0'], '-n 0: out of range'],
        [['-n', '1.5'], '-n 1.5: out of range'],
        [['-d', '0.1'], '-d 0.1: out of range'],
      ] as const) {
        await assert.rejects(
          dispatch(['top', ...args], io),
          (e) => e instanceof JailError && e.exitCode === 2 && e.message.startsWith(`${first}\nusage: docker-jail top`),
          args.join(' '),
        );
      }
    } finally {
      process.geteuid = geteuid;
    }
  });
});
