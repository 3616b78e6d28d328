import assert from 'node:assert/strict';
import { progressFor } from '../src/commands/progress';

function capture(isTTY: boolean, columns = 40) {
  const written: string[] = [];
  let now = 1_000_000;
  const clock = () => now;
  const progress = progressFor({ isTTY, columns, write: (text: string) => written.push(text) }, clock);
  return { progress, written, advance: (ms: number) => (now += ms) };
}

describe('progress display of long commands', () => {
  it('prints plain lines, nothing rewritten, when the output is not a terminal', () => {
    const { progress, written } = capture(false);
    progress.step('bootstrapping Debian bookworm');
    progress.detail('debootstrap: I: Retrieving libc6');
    progress.step('image built');
    progress.end();
    assert.equal(written.join(''), 'bootstrapping Debian bookworm\n  debootstrap: I: Retrieving libc6\nimage built\n');
    assert.doesNotMatch(written.join(''), /[\r\x1b]/);
  });

  it('numbers the steps on a terminal and rewrites one status line with the elapsed time', () => {
    const { progress, written, advance } = capture(true);
    progress.step('bootstrapping');
    advance(3_400);
    progress.detail('I: Retrieving libc6');
    advance(1_000);
    progress.detail('I: Retrieving bash');
    progress.step('importing');
    progress.end();
    assert.deepEqual(written, [
      '\x1b[1m[1]\x1b[0m bootstrapping\n',
      '\r\x1b[K  3s I: Retrieving libc6',
      '\r\x1b[K  4s I: Retrieving bash',
      '\r\x1b[K',
      '\x1b[1m[2]\x1b[0m importing\n',
    ]);
  });

  it('keeps the status line within the terminal width, so it never wraps', () => {
    const { progress, written } = capture(true, 30);
    progress.detail('x'.repeat(200));
    const line = written[0].replace('\r\x1b[K', '');
    assert.ok(line.length < 30, `status line of ${line.length} columns`);
    assert.match(line, /…$/);
  });

  it("lets no control character of a tool's output reach the terminal", () => {
    const { progress, written } = capture(true);
    progress.detail('evil \x1b]0;title\x07 \x9b2J done');
    progress.step('step \x1b[2J');
    const shown = written.map((w) => w.replace(/^\r\x1b\[K/, '').replace(/^\x1b\[1m\[\d+\]\x1b\[0m /, '')).join('');
    assert.doesNotMatch(shown, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  });

  it('lets no control character through in plain lines either (a log is read on a terminal later)', () => {
    const { progress, written } = capture(false);
    progress.step('step \x1b]0;owned\x07');
    progress.detail('I: Retrieving \x1b[2J\x9b1m');
    assert.doesNotMatch(written.join('').replace(/\n/g, ''), /[\x00-\x1f\x7f-\x9f]/);
  });

  it('never splits a character made of two UTF-16 units when it shortens the status line', () => {
    const { progress, written } = capture(true, 20);
    progress.detail('😀'.repeat(40));
    assert.doesNotMatch(written[0], /[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('leaves nothing behind when it ends', () => {
    const { progress, written } = capture(true);
    progress.detail('working');
    progress.end();
    progress.end();
    assert.deepEqual(written, ['\r\x1b[K  0s working', '\r\x1b[K']);
  });
});
