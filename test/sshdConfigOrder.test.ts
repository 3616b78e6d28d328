import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doorsIn } from '../src/doctor/sshdChecks';
import { expandGlob, openingDirectives, parseLine, placePolicy, readSshdConfig } from '../src/doctor/sshdConfigOrder';
import { JAILED_SSHD_SETTINGS, renderSshdPolicy } from '../src/doctor/sshdPolicy';

/** A tree like /etc/ssh: sshd_config including sshd_config.d/*.conf (relative, as sshd resolves it), and the drop-in. */
describe("doctor's reading of sshd's configuration files in sshd's order", () => {
  let dir: string;
  let dropIn: string;
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  const place = () => placePolicy(readSshdConfig(join(dir, 'sshd_config'), dir), dropIn, JAILED_SSHD_SETTINGS, 'jailed');
  const shadowed = () => place().shadows.map((s) => `${s.directive.file.slice(dir.length + 1)}:${s.directive.line} ${s.setting}`);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'djt-sshd-'));
    mkdirSync(join(dir, 'sshd_config.d'));
    dropIn = join(dir, 'sshd_config.d', 'docker-jail.conf');
    write('sshd_config', 'Include sshd_config.d/*.conf\nX11Forwarding yes\nSubsystem sftp /usr/lib/openssh/sftp-server\n');
    writeFileSync(dropIn, renderSshdPolicy('jailed'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names a Match block anywhere, before or after the drop-in, that forces in-process sftp or accepts any variable; not one that rules the jail group out', () => {
    write('sshd_config.d/zz-local.conf', 'Match Address 172.16.0.0/12\n\tForceCommand internal-sftp\n\tAcceptEnv *\nMatch Group *,!jailed\n\tAcceptEnv *\n');
    const opening = openingDirectives(readSshdConfig(join(dir, 'sshd_config'), dir), 'jailed', (keyword, values) => doorsIn(keyword, values, ['LANG']));
    assert.deepEqual(
      opening.map((o) => `${o.directive.line} ${o.match.criteria.join(' ')}: ${o.doors.join()}`),
      [
        "2 Address 172.16.0.0/12: forcecommand internal-sftp (serves the host's files)",
        '3 Address 172.16.0.0/12: acceptenv * (wider than [session] env_whitelist LANG)',
      ],
    );
  });

  it('finds the shipped drop-in read at top level, nothing ahead of it (global settings do not count: a Match block overrides them)', () => {
    write('sshd_config.d/00-global.conf', 'AllowTcpForwarding yes\nX11Forwarding yes\n');
    assert.deepEqual(place(), { read: true, within: null, shadows: [] });
  });

  it("names a Match block in an earlier file that sets one of the policy's settings otherwise, with file, line and block", () => {
    write('sshd_config.d/00-test-remote.conf', '# remote clients\nMatch Address 10.0.0.0/8\n\tAllowTcpForwarding yes\n\tPermitTTY yes\n');
    const [shadow, ...rest] = place().shadows;
    assert.deepEqual(rest, []);
    assert.equal(shadow.directive.file, join(dir, 'sshd_config.d/00-test-remote.conf'));
    assert.equal(shadow.directive.line, 3);
    assert.equal(shadow.setting, 'AllowTcpForwarding');
    assert.deepEqual(shadow.match.criteria, ['Address', '10.0.0.0/8']);
    assert.equal(shadow.match.line, 2);
  });

  it('reads keywords in any case, with = or blanks, quotes and trailing comments, as sshd does', () => {
    write('sshd_config.d/10-a.conf', 'match user "bob"\n  x11FORWARDING=yes\n  permittunnel = ethernet # for the lab\n  GatewayPorts no\n');
    assert.deepEqual(shadowed(), ['sshd_config.d/10-a.conf:2 X11Forwarding', 'sshd_config.d/10-a.conf:3 PermitTunnel']);
    assert.deepEqual(parseLine('  AllowUsers "a b" c\\ d #x'), { keyword: 'allowusers', args: ['a b', 'c d'] });
    assert.equal(parseLine('   # Match All'), null);
    assert.equal(parseLine(''), null);
  });

  it("ends a Match block at the end of its file: a later file's top lines are global again", () => {
    write('sshd_config.d/10-a.conf', 'Match User bob\n\tPermitTTY no\n');
    write('sshd_config.d/20-b.conf', 'AllowTcpForwarding yes\n');
    assert.deepEqual(shadowed(), []);
  });

  it('counts only what comes before the drop-in in byte order, not what follows it', () => {
    write('sshd_config.d/Zeta.conf', 'Match all\nAllowAgentForwarding yes\n'); // 'Z' < 'd'
    write('sshd_config.d/zz-local.conf', 'Match Address 10.0.0.0/8\nAllowTcpForwarding yes\n');
    write('sshd_config.d/.hidden.conf', 'Match all\nAllowTcpForwarding yes\n'); // glob skips dot files
    write('sshd_config.d/00-a.conf.disabled', 'Match all\nAllowTcpForwarding yes\n');
    assert.deepEqual(shadowed(), ['sshd_config.d/Zeta.conf:2 AllowAgentForwarding']);
  });

  it("passes a block that rules the jail group out, and one that sets the policy's own value", () => {
    write('sshd_config.d/00-admins.conf', 'Match Address 10.0.0.0/8 Group *,!jailed\nAllowTcpForwarding yes\nMatch Group jailed\nAllowTcpForwarding no\n');
    assert.deepEqual(shadowed(), []);
  });

  it('follows nested and absolute Includes, and a Match block in sshd_config ahead of the Include', () => {
    mkdirSync(join(dir, 'extra'));
    write('extra/one.conf', 'Match Host *.example.org\nX11Forwarding yes\n');
    write('sshd_config.d/00-inc.conf', `Include ${join(dir, 'extra')}/*.conf\n`);
    write('sshd_config', 'Match User carol\n\tPermitUserRC yes\nMatch all\nInclude sshd_config.d/*.conf\n');
    assert.deepEqual(shadowed(), ['sshd_config:2 PermitUserRC', 'extra/one.conf:2 X11Forwarding']);
  });

  it('names a drop-in read inside a Match block, and one sshd never reads', () => {
    write('sshd_config', 'Match Address 192.168.0.0/16\nInclude sshd_config.d/*.conf\n');
    assert.deepEqual(place().within?.criteria, ['Address', '192.168.0.0/16']);
    write('sshd_config', 'Include conf.d/*.conf\n');
    assert.equal(place().read, false);
  });

  it('throws on an Include loop, as sshd fails on it', () => {
    write('sshd_config.d/00-loop.conf', 'Include sshd_config.d/00-loop.conf\n');
    assert.throws(() => place(), /Include nested deeper than 16/);
  });

  it('globs as glob(3): *, ? and [...] per component, only what exists, sorted', () => {
    for (const name of ['a1.conf', 'a2.conf', 'b.conf', 'B.conf']) write(`sshd_config.d/${name}`, '');
    assert.deepEqual(expandGlob(join(dir, 'sshd_config.d/a?.conf')), [join(dir, 'sshd_config.d/a1.conf'), join(dir, 'sshd_config.d/a2.conf')]);
    assert.deepEqual(expandGlob(join(dir, 'sshd_config.d/[!a]*.conf')), [
      join(dir, 'sshd_config.d/B.conf'),
      join(dir, 'sshd_config.d/b.conf'),
      join(dir, 'sshd_config.d/docker-jail.conf'),
    ]);
    assert.deepEqual(expandGlob(join(dir, 's*/b.conf')), [join(dir, 'sshd_config.d/b.conf')]);
    assert.deepEqual(expandGlob(join(dir, 'nothing.conf')), []);
  });
});
