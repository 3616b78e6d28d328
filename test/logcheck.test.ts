import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { formatAdminRecord, formatPamRecord, formatRecord, formatRemovalRecord } from '../src/audit/syslog';

/** The rules the package installs as /etc/logcheck/ignore.d.server/docker-jail and violations.ignore.d/docker-jail. */
const RULES = 'etc/logcheck/ignore.d.server/docker-jail';

/** The rules as logcheck uses them: comment and blank lines dropped. */
const rules = () =>
  readFileSync(RULES, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));

/** The lines of `input` that grep -E (logcheck's egrep) matches with these rules. */
function matched(ruleLines: string[], input: string[]): string[] {
  const dir = mkdtempSync(`${tmpdir()}/djt-logcheck-`);
  try {
    writeFileSync(`${dir}/rules`, `${ruleLines.join('\n')}\n`);
    const grep = spawnSync('grep', ['-E', '-f', `${dir}/rules`], { input: `${input.join('\n')}\n`, encoding: 'utf8' });
    assert.ok(grep.status === 0 || grep.status === 1, grep.stderr);
    return grep.stdout.split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A message as rsyslog writes it to auth.log: Debian 12's RFC 3339 stamp, and the traditional one. */
const asLogged = (message: string) => [
  `2026-12-02T13:17:40.511193+00:00 vm docker-jail[26436]: ${message}`,
  `Dec  2 13:17:40 shell-box.example docker-jail[26436]: ${message}`,
];

const session = { user: 'alice', uid: 1001, jail: 'jail-alice', tty: true, service: 'sshd', rhost: '192.0.2.7', pamTty: 'ssh', ttyName: '/dev/pts/3' };
const admin = { command: 'enable', uid: 0, loginuid: 1000, loginUser: 'bob', sudoUser: 'bob' };

/** What docker-jail writes in the normal course of things, by the real formatting code. */
const ROUTINE = [
  formatRecord('start', { ...session, claimedConnection: '192.0.2.7 50022 192.0.2.1 22', command: null }),
  formatRecord('start', { ...session, tty: false, command: 'grep -r "failed password" /var/log; echo denied\n\u001b[2J' }),
  formatRecord('end', { ...session, exitStatus: 130, durationMs: 5321, hangup: true, command: 'tmux' }),
  // attach's end record: session=end, the head, the status, the tail (agent/attach.c, session/agentSession.ts).
  `session=end ${formatRecord('end', session).slice('session=end '.length)} exitStatus=0 durationMs=12 hangup=false ${formatRecord('end', { command: 'ls' }).slice('session=end '.length)}`,
  formatPamRecord('open_session', {
    user: 'alice',
    uid: 1001,
    jail: 'jail-alice',
    homeCreated: true,
    durationMs: 305,
    service: 'sshd',
    rhost: '192.0.2.7',
    pamTty: 'ssh',
  }),
  formatAdminRecord('start', admin, ['--now', 'alice']),
  formatAdminRecord('end', { ...admin, exitStatus: 0, durationMs: 41 }, ['--now', 'alice']),
  formatAdminRecord('end', { ...admin, command: 'gc', loginuid: { word: 'unset' }, loginUser: null, sudoUser: null, exitStatus: 0, durationMs: 900 }, []),
  formatRemovalRecord('jail', {
    jail: 'jail-carol',
    ownerUid: 1003,
    owner: 'carol',
    reason: 'jail-carol: removed with its /tmp and /var/tmp (owner uid 1003 is gone or no longer jailed; the home is kept)',
  }),
  formatRemovalRecord('scratch', { of: '1003', reason: '/tmp and /var/tmp of uid 1003 (made for carol): removed (no jail and no jailed owner left)' }),
];

/** What an administrator must see: refusals, failures, a root shell in a user's jail, and forgeries of routine lines. */
const REPORTED = [
  formatRecord('refused', { user: 'alice', uid: 1001, service: 'sshd', rhost: '192.0.2.7', reason: 'cannot connect to the Docker engine', command: null }),
  formatRecord('refused', { uid: 0, reason: 'root is never jailed; jailsh refuses to run for root', command: 'id' }),
  formatPamRecord('failed', { type: 'open_session', user: 'alice', service: 'sshd', rhost: '192.0.2.7', reason: 'the PAM hook gave up after 20 s' }),
  formatAdminRecord('end', { ...admin, exitStatus: 1, durationMs: 3, reason: 'no such user: mallory' }, ['mallory', 'exitStatus=0']),
  formatAdminRecord('end', { ...admin, exitStatus: 77, durationMs: 3 }, ['x" exitStatus=0 y="']),
  // `docker-jail shell alice`: root in a user's jail.
  formatRecord('start', { user: 'root', uid: 0, jail: 'jail-alice', tty: true, command: 'admin shell in the jail of alice' }),
  formatRecord('end', {
    user: 'root',
    uid: 0,
    jail: 'jail-alice',
    tty: true,
    exitStatus: 0,
    durationMs: 9,
    hangup: false,
    command: 'admin shell in the jail of alice',
  }),
  // A refusal whose command tries to look like a start record, and lines of another program or tag.
  formatRecord('refused', { uid: 1001, reason: 'x', command: '" session=start user="alice" uid=1001' }),
  'session=start user="alice" uid=1001 jail="jail-alice" tty=true unterminated="',
];

describe('logcheck: the package ignores its routine lines and nothing else', () => {
  it('ships at least one rule, each a valid extended regular expression', () => {
    assert.ok(rules().length >= 5, RULES);
    for (const rule of rules()) assert.deepEqual(matched([rule], ['x']), [], rule);
  });

  it('ignores every routine record as rsyslog writes it, with either timestamp', () => {
    const lines = ROUTINE.flatMap(asLogged);
    assert.deepEqual(matched(rules(), lines), lines);
  });

  it('reports refusals, PAM hook failures, failed commands, root shells in a jail and forged lines', () => {
    assert.deepEqual(matched(rules(), REPORTED.flatMap(asLogged)), []);
  });

  it('ignores only docker-jail: the same message from another program is reported', () => {
    const other = ROUTINE.map((message) => `2026-12-02T13:17:40.511193+00:00 vm sshd[7]: ${message}`);
    assert.deepEqual(matched(rules(), other), []);
  });

  it('has no rule that matches nothing routine', () => {
    const lines = ROUTINE.flatMap(asLogged);
    for (const rule of rules()) assert.ok(matched([rule], lines).length > 0, `${rule} matches no routine line`);
  });
});
