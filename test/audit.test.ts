import assert from 'node:assert/strict';
import { formatRecord } from '../src/audit/syslog';

describe('audit: the syslog record of a session', () => {
  const base = { user: 'jo', uid: 1001, jail: 'jail-jo', tty: false };

  it('names user, uid, jail, tty, status and duration, with the command last', () => {
    assert.equal(
      formatRecord('end', { ...base, command: 'ls -l "x"', exitStatus: 3, durationMs: 12, hangup: false }),
      'session=end user="jo" uid=1001 jail="jail-jo" tty=false exitStatus=3 durationMs=12 hangup=false command="ls -l \\"x\\""',
    );
  });

  it('escapes newlines, control and non-ASCII characters so nothing can forge a field or a line', () => {
    const line = formatRecord('start', { ...base, command: 'a\nsession=end uid=0\u001b[2J\u00e9' });
    assert.equal(line.split('\n').length, 1);
    assert.match(line, /command="a\\u000asession=end uid=0\\u001b\[2J\\u00e9"$/);
    assert.ok(!/[^\x20-\x7e]/.test(line));
  });

  it("keeps a record under logger's 1 KiB whatever the command, with the exit status intact", () => {
    const line = formatRecord('end', { ...base, command: '\u0001'.repeat(5000), exitStatus: 9, durationMs: 1, hangup: true });
    assert.ok(line.length < 1024, `${line.length} bytes`);
    assert.match(line, /exitStatus=9 durationMs=1 hangup=true command="(\\u0001)+\.\.\."$/);
  });
});
