import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { withConfig } from './support/config';
import { jailedUser } from './support/fixtures';
import { requireHost, run } from './support/host';

/**
 * On a systemd host, pam_systemd starts `systemd --user` (user@UID.service) at
 * every login, and that manager would run, on the host, the units a jailed
 * user writes in ~/.config/systemd/user. The package's drop-in makes the
 * manager's start depend on `docker-jail user-manager UID`. PID 1 is not
 * systemd here: the drop-in is checked by systemd's own parser, and the
 * condition by running it for each kind of user.
 */
const DROP_IN = '/lib/systemd/system/user@.service.d/docker-jail.conf';
const CLI = '/usr/sbin/docker-jail';

/** systemd's verdict on user@UID.service with the given drop-in beside the installed unit: its complaints. */
function verify(dropIn: string): string {
  const dir = mkdtempSync('/tmp/djt-units-');
  try {
    cpSync('/lib/systemd/system/user@.service', `${dir}/user@.service`);
    mkdirSync(`${dir}/user@.service.d`);
    cpSync(dropIn, `${dir}/user@.service.d/docker-jail.conf`);
    const result = run('/usr/bin/systemd-analyze', ['verify', 'user@1000.service'], { env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` }, timeout: 30_000 });
    return (result.stdout + result.stderr)
      .split('\n')
      .filter((line) => line.includes('docker-jail.conf'))
      .join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('no systemd user manager for jailed users (pam_systemd on a systemd host)', function () {
  this.timeout(60_000);

  before(() => requireHost('systemd-analyze'));
  const jailed = jailedUser({ groups: ['jailed'] });
  const admin = jailedUser({ groups: ['jailed', 'admins'], shell: '/bin/bash' });
  const plain = jailedUser({ groups: [], shell: '/bin/bash' });

  it('installs a drop-in for user@.service whose ExecCondition, run as root, is docker-jail user-manager', () => {
    assert.match(readFileSync(DROP_IN, 'utf8'), /^\[Service\]\nExecCondition=\+\/usr\/sbin\/docker-jail user-manager %i\n$/m);
  });

  it('systemd reads the drop-in without a complaint; control: a broken one is named', () => {
    assert.equal(verify(DROP_IN), '');
    const broken = `${mkdtempSync('/tmp/djt-dropin-')}/docker-jail.conf`;
    writeFileSync(broken, '[Service]\nExecCondition=+sbin/docker-jail user-manager %i\n');
    assert.match(verify(broken), /docker-jail\.conf:2: Neither a valid executable name nor an absolute path/);
  });

  it('fails for a jailed user with one line (the manager is skipped), and passes root, an administrator and a user outside the jail group', () => {
    const refused = run(CLI, ['user-manager', String(jailed.uid)]);
    assert.equal(refused.status, 77);
    assert.equal(refused.stdout, '');
    assert.equal(refused.stderr, `docker-jail: uid ${jailed.uid} is jailed: no systemd user manager on the host for it (it would run units from its home)\n`);
    for (const uid of [0, admin.uid, plain.uid]) {
      const passed = run(CLI, ['user-manager', String(uid)]);
      assert.deepEqual({ status: passed.status, out: passed.stdout + passed.stderr }, { status: 0, out: '' }, `uid ${uid}`);
    }
  });

  it('fails, skipping the manager, for an unknown uid and bad usage', () => {
    assert.notEqual(run(CLI, ['user-manager', '4000000000']).status, 0);
    for (const args of [[], ['x'], ['1', '2'], ['-1']]) assert.equal(run(CLI, ['user-manager', ...args]).status, 2, args.join(' '));
  });

  it('with a config that does not load, still passes root and users outside the jail group, and refuses those who might be jailed', async () => {
    const verdicts = () =>
      Object.fromEntries(
        [
          ['root', 0],
          ['plain', plain.uid],
          ['admin', admin.uid],
          ['jailed', jailed.uid],
        ].map(([name, uid]) => [name, run(CLI, ['user-manager', String(uid)]).status]),
      );
    // A typo (the section the manual page once taught), and a file anyone may write: neither loads.
    for (const [text, mode] of [
      ['[ENGINE]\nsocket = /var/run/docker.sock\n', 0o644],
      ['[jail]\npids_limit = 1\n', 0o666],
    ] as const) {
      await withConfig(
        text,
        () => {
          assert.notEqual(run(CLI, ['config', 'check']).status, 0, 'the config loads: this test proves nothing');
          // The exempt group is not honoured without a config: an administrator in the jail group waits for the fix.
          assert.deepEqual(verdicts(), { root: 0, plain: 0, admin: 77, jailed: 77 }, text);
        },
        mode,
      );
    }
    // A group the broken file names as jail_group counts as jailed too; its text may add refusals, never take one away.
    const plainGroup = run('/usr/bin/id', ['-gn', plain.name]).stdout.trim();
    await withConfig(`[access]\njail_group = ${plainGroup}\n[jail]\npids_limit = lots\n`, () => {
      assert.deepEqual(verdicts(), { root: 0, plain: 77, admin: 77, jailed: 77 });
      const refused = run(CLI, ['user-manager', String(plain.uid)]);
      assert.match(
        refused.stderr,
        new RegExp(`^docker-jail: uid ${plain.uid} is jailed: .*; the config does not load, so group ${plainGroup} counts as jailed\n$`),
      );
    });
    // Control: with the config loading again, the administrator is exempt.
    assert.deepEqual(verdicts(), { root: 0, plain: 0, admin: 0, jailed: 77 });
  });

  it("cannot be run by a jailed user: administration commands are root's", () => {
    const result = run('/usr/bin/setpriv', [
      '--reuid',
      String(jailed.uid),
      '--regid',
      String(jailed.gid),
      '--clear-groups',
      CLI,
      'user-manager',
      String(jailed.uid),
    ]);
    assert.notEqual(result.status, 0);
  });
});
