import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { formatAdminRecord, formatPamRecord, formatRecord, formatRemovalRecord } from '../src/audit/syslog';
import { commandFor } from '../src/commands/registry';
import { startTimeOf } from '../src/host/procfs';
import { actingHuman } from '../src/identity/actor';
import { originOf } from '../src/session/origin';
import { forgetPamSession, pamSessionOf, recordPamSession } from '../src/session/records';

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

describe('audit: the records of the PAM hook, administrators and gc', () => {
  it('names what PAM said about the session, quoted like every string', () => {
    assert.equal(
      formatPamRecord('failed', { type: 'open_session', user: 'jo', service: 'sshd', rhost: '192.0.2.7', pamTty: undefined, reason: 'no "engine"\nhere' }),
      'pam=failed type="open_session" user="jo" service="sshd" rhost="192.0.2.7" reason="no \\"engine\\"\\u000ahere"',
    );
  });

  it('names the command, the acting human and the status, the arguments last with their boundaries kept', () => {
    const who = { command: 'enable', uid: 0, loginuid: { word: 'unset' }, loginUser: null, sudoUser: 'bob' };
    assert.equal(
      formatAdminRecord('end', { ...who, exitStatus: 0, durationMs: 5 }, ['--now', 'a b', "it's", 'x\ny']),
      `admin=end command="enable" uid=0 loginuid=unset sudoUser="bob" exitStatus=0 durationMs=5 args="--now 'a b' 'it'\\\\''s' 'x\\u000ay'"`,
    );
    const long = formatAdminRecord('end', { ...who, exitStatus: 2, durationMs: 1 }, ['x'.repeat(5000)]);
    assert.ok(long.length < 1024 && /exitStatus=2 durationMs=1 args="x+\.\.\."$/.test(long), long);
  });

  it("names a removed jail's owner and why", () => {
    assert.equal(
      formatRemovalRecord('jail', { jail: 'jail-jo', ownerUid: 1001, owner: 'jo', reason: 'gone' }),
      'jail=removed jail="jail-jo" ownerUid=1001 owner="jo" reason="gone"',
    );
  });

  it('records every command that changes something, and no read-only one (registry: audited)', () => {
    const audited = (args: string[]) => {
      const command = commandFor(args);
      assert.ok(command !== undefined, args.join(' '));
      return typeof command.audited === 'function' ? command.audited(args.slice(1)) : command.audited;
    };
    for (const args of [['enable', 'jo'], ['disable', 'jo'], ['shell', 'jo'], ['image', 'build'], ['image', 'update'], ['gc'], ['config', 'edit']]) {
      assert.ok(audited(args), `${args.join(' ')} is not audited`);
    }
    for (const args of [['list'], ['status', 'jo'], ['doctor'], ['config', 'check'], ['shell', '--login', '--'], ['pam-hook'], ['user-manager', '1001']]) {
      assert.ok(!audited(args), `${args.join(' ')} is audited`);
    }
  });
});

describe("audit: the PAM session's record a login's records join", () => {
  const dir = () => mkdtempSync(`${tmpdir()}/djt-pam-sessions-`);
  const self = { pid: process.pid, start: startTimeOf(process.pid) ?? 0 };

  it('is found for the login under that very process only', () => {
    const where = dir();
    try {
      recordPamSession(self, { user: 'jo', service: 'sshd', rhost: '192.0.2.7', tty: 'ssh' }, where);
      assert.deepEqual(pamSessionOf([{ pid: 1, start: 1 }, self], where), { user: 'jo', service: 'sshd', rhost: '192.0.2.7', tty: 'ssh' });
      // A later process reusing the pid (another start time) never finds it.
      assert.equal(pamSessionOf([{ pid: self.pid, start: self.start + 1 }], where), null);
    } finally {
      rmSync(where, { recursive: true, force: true });
    }
  });

  it("goes at close_session, with those of PAM sessions whose process is gone; others' stay", () => {
    const where = dir();
    try {
      const gone = { pid: 2 ** 22 + 7, start: 5 }; // above any pid_max: never running
      const other = { pid: process.ppid, start: startTimeOf(process.ppid) ?? 0 };
      for (const id of [self, gone, other]) recordPamSession(id, { user: 'jo' }, where);
      forgetPamSession(self, where);
      assert.deepEqual(readdirSync(where), [`${other.pid}-${other.start}.json`]);
    } finally {
      rmSync(where, { recursive: true, force: true });
    }
  });
});

describe("audit: a login's origin", () => {
  const origin = { service: 'sshd', rhost: '192.0.2.7', pamTty: 'ssh', ttyName: '/dev/pts/3', claimedConnection: '192.0.2.7 5 192.0.2.1 22' };
  it('keeps what PAM said only when PAM opened the session for this very user', () => {
    assert.deepEqual(originOf(origin, 'jo', 'jo'), origin);
    assert.deepEqual(originOf(origin, null, 'jo'), origin);
    assert.deepEqual(originOf(origin, 'al', 'jo'), { ttyName: '/dev/pts/3', claimedConnection: '192.0.2.7 5 192.0.2.1 22' });
  });
});

describe('audit: the acting human', () => {
  it('keeps SUDO_USER printable and bounded, as a claim', () => {
    const nss = { passwdByUid: () => 'bob:x:1000:1000::/home/bob:/bin/bash', passwdByName: () => null, groupIdsOf: () => [], groupLines: () => [] };
    const actor = actingHuman(`a\nb${'c'.repeat(100)}`, nss);
    assert.equal(actor.sudoUser, `a?b${'c'.repeat(61)}`);
    assert.equal(actingHuman(undefined, nss).sudoUser, null);
    // The test's own loginuid, whatever it is: a uid and its name, or unset and none.
    assert.equal(actor.loginUser === null, actor.loginUid === null);
  });
});
