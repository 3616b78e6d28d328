import assert from 'node:assert/strict';
import { humanBytes, humanDuration, localTime, printable, printableJson } from '../src/commands/printable';

describe("printable: text from the user database on an administrator's terminal", () => {
  it('escapes every C0 control, DEL and C1 control as \\xNN, and nothing else', () => {
    assert.equal(printable('a\u001b]0;title\u0007\rb\u007f\u009bc'), 'a\\x1b]0;title\\x07\\x0db\\x7f\\x9bc');
    assert.equal(printable('tab\there\nnext'), 'tab\\x09here\\x0anext');
    assert.equal(printable('Zoë /bin/bash ☃ \\x1b'), 'Zoë /bin/bash ☃ \\x1b');
    // A command that reads backwards (RLO), a hidden break or separator: shown as code points.
    assert.equal(printable('ls \u202etxt.exe\u200b\u2028\ufeff'), 'ls \\u202etxt.exe\\u200b\\u2028\\ufeff');
    assert.equal(printableJson({ command: 'a\u202eb\u2066' }), '{\n  "command": "a\\u202eb\\u2066"\n}');
    assert.equal(printable('\u061c\u00ad\u180e\u3164\u{e0041}x'), '\\u061c\\xad\\u180e\\u3164\\u{e0041}x');
    assert.equal(printableJson('\u{e0041}\u00ad'), '"\\udb40\\udc41\\u00ad"');
  });

  it('keeps line ends when asked, for messages of several lines', () => {
    assert.equal(printable('usage: x\n  y\u001b', true), 'usage: x\n  y\\x1b');
  });

  it('leaves no raw control in JSON, which escapes C0 itself', () => {
    const text = printableJson({ shell: '/bin/sh\u001b\u007f\u0085\u009b' });
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(text), text);
    assert.deepEqual(JSON.parse(text), { shell: '/bin/sh\u001b\u007f\u0085\u009b' });
  });
});

describe('printable: human units for tables', () => {
  it('gives a duration in its two largest units, never a bare count of seconds past a minute', () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [42, '42s'],
      [60, '1m'],
      [303, '5m 3s'],
      [3600, '1h'],
      [7500, '2h 5m'],
      [7559, '2h 5m'],
      [86400, '1d'],
      [3 * 86400 + 4 * 3600 + 59, '3d 4h'],
      [400 * 86400, '400d'],
      [-5, '0s'],
      [12.9, '12s'],
      [Number.NaN, '0s'],
    ];
    for (const [seconds, shown] of cases) assert.equal(humanDuration(seconds), shown, String(seconds));
  });

  it('gives a size in binary units as ls -h does', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [1000, '1000'],
      [36 * 1024, '36K'],
      [1536 * 1024, '1.5M'],
      [120 * 1048576, '120M'],
      [512 * 1048576, '512M'],
      [1073741824, '1G'],
      [1.25 * 1073741824, '1.3G'],
    ];
    for (const [bytes, shown] of cases) assert.equal(humanBytes(bytes), shown, String(bytes));
  });

  it('gives a time in local time to the minute, and - for none', () => {
    assert.equal(localTime(new Date(2026, 11, 2, 14, 5, 59).toISOString()), '2026-12-02 14:05');
    assert.equal(localTime(new Date(2027, 0, 9, 3, 7).toISOString()), '2027-01-09 03:07');
    assert.equal(localTime(null), '-');
    assert.equal(localTime('never'), '-');
  });
});
