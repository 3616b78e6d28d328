import assert from 'node:assert/strict';
import { printable, printableJson } from '../src/commands/printable';

describe("printable: text from the user database on an administrator's terminal", () => {
  it('escapes every C0 control, DEL and C1 control as \\xNN, and nothing else', () => {
    assert.equal(printable('a\u001b]0;title\u0007\rb\u007f\u009bc'), 'a\\x1b]0;title\\x07\\x0db\\x7f\\x9bc');
    assert.equal(printable('tab\there\nnext'), 'tab\\x09here\\x0anext');
    assert.equal(printable('Zoë /bin/bash ☃ \\x1b'), 'Zoë /bin/bash ☃ \\x1b');
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
