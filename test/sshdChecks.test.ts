import assert from 'node:assert/strict';
import { configOptions, doorsIn, openSshdDoors } from '../src/doctor/sshdChecks';
import { JAILED_SSHD_SETTINGS } from '../src/doctor/sshdPolicy';

/** What `sshd -T -C user=...` prints for a jailed user under the shipped drop-in and Debian's sshd_config. */
const CLOSED = [
  'disableforwarding yes',
  'permittunnel no',
  'gatewayports no',
  'permituserrc no',
  'allowtcpforwarding no',
  'x11forwarding no',
  'allowagentforwarding no',
  'allowstreamlocalforwarding no',
  'permituserenvironment no',
  'acceptenv LANG',
  'acceptenv LC_*',
  'subsystem sftp /usr/lib/openssh/sftp-server',
  'forcecommand none',
].join('\n');
const WHITELIST = ['TERM', 'LANG', 'LC_*', 'SSH_CONNECTION'];
const withLine = (from: string, to: string) => CLOSED.replace(from, to);

describe("doctor's reading of sshd's effective settings for a jailed user", () => {
  it('finds nothing open under the shipped policy', () => {
    assert.deepEqual(openSshdDoors(CLOSED, WHITELIST), []);
  });

  it('names PermitUserEnvironment yes or a pattern list (~/.ssh/environment reaches sshrc)', () => {
    assert.match(openSshdDoors(withLine('permituserenvironment no', 'permituserenvironment yes'), WHITELIST).join(), /permituserenvironment yes/);
    assert.match(openSshdDoors(withLine('permituserenvironment no', 'permituserenvironment LD_*'), WHITELIST).join(), /permituserenvironment LD_\*/);
  });

  it('names AcceptEnv patterns wider than the whitelist, and only those', () => {
    assert.match(openSshdDoors(`${CLOSED}\nacceptenv *`, WHITELIST).join(), /acceptenv \* \(wider/);
    assert.match(openSshdDoors(`${CLOSED}\nacceptenv LD_PRELOAD`, WHITELIST).join(), /acceptenv LD_PRELOAD/);
    assert.match(openSshdDoors(`${CLOSED}\nacceptenv L*`, WHITELIST).join(), /acceptenv L\*/);
    assert.deepEqual(openSshdDoors(`${CLOSED}\nacceptenv LC_ALL\nacceptenv TERM`, WHITELIST), []);
  });

  it("names internal-sftp as a forced command (a Subsystem, under any name, is the sftp check's)", () => {
    assert.match(openSshdDoors(withLine('forcecommand none', 'forcecommand internal-sftp'), WHITELIST).join(), /forcecommand internal-sftp/);
    assert.deepEqual(openSshdDoors(`${CLOSED}\nsubsystem files /usr/lib/openssh/sftp-server`, WHITELIST), []);
  });

  it("judges a Match block's directive alone: in-process sftp forced or as a subsystem, AcceptEnv beyond the whitelist, PermitUserEnvironment", () => {
    assert.deepEqual(doorsIn('forcecommand', ['internal-sftp -d /srv'], WHITELIST), ["forcecommand internal-sftp (serves the host's files)"]);
    assert.deepEqual(doorsIn('subsystem', ['files internal-sftp'], WHITELIST), ["subsystem files internal-sftp (serves the host's files)"]);
    assert.match(doorsIn('acceptenv', ['LANG *'], WHITELIST).join(), /^acceptenv \* \(wider/);
    assert.match(doorsIn('permituserenvironment', ['yes'], WHITELIST).join(), /^permituserenvironment yes/);
    for (const [keyword, value] of [
      ['forcecommand', '/usr/bin/true'],
      ['subsystem', 'sftp /usr/lib/openssh/sftp-server'],
      ['acceptenv', 'LANG LC_*'],
      ['permituserenvironment', 'no'],
      ['x11forwarding', 'yes'],
    ]) {
      assert.deepEqual(doorsIn(keyword, [value], WHITELIST), [], keyword);
    }
  });

  it("reads a daemon's -f and -o as getopt does: apart, joined, bundled after flags that take none", () => {
    assert.deepEqual(configOptions(['-D', '-f', '/etc/ssh/a', '-o', 'Port=2']), ['-f', '/etc/ssh/a', '-o', 'Port=2']);
    assert.deepEqual(configOptions(['-Df/etc/ssh/b', '-oAcceptEnv=*', '-e']), ['-f', '/etc/ssh/b', '-o', 'AcceptEnv=*']);
    assert.deepEqual(configOptions(['-Def', '/etc/ssh/c']), ['-f', '/etc/ssh/c']);
    // -p takes an argument: the f in its value is not an option; nothing after -- counts.
    assert.deepEqual(configOptions(['-p', '-f', '-D', '--', '-f', 'x']), []);
  });

  it('names any forwarding or ~/.ssh/rc left on', () => {
    assert.match(openSshdDoors(withLine('permituserrc no', 'permituserrc yes'), WHITELIST).join(), /permituserrc yes/);
    assert.match(openSshdDoors(withLine('allowtcpforwarding no', 'allowtcpforwarding local'), WHITELIST).join(), /allowtcpforwarding local/);
  });

  it("names every setting of the policy sshd does not apply, with the policy's value", () => {
    for (const [setting, value] of JAILED_SSHD_SETTINGS) {
      const keyword = setting.toLowerCase();
      const other = value === 'yes' ? 'no' : 'yes';
      assert.deepEqual(openSshdDoors(withLine(`${keyword} ${value}`, `${keyword} ${other}`), WHITELIST), [`${keyword} ${other} (policy: ${value})`]);
    }
    assert.match(openSshdDoors(withLine('permittunnel no', 'permittunnel point-to-point'), WHITELIST).join(), /permittunnel point-to-point \(policy: no\)/);
    assert.match(openSshdDoors(withLine('disableforwarding yes', ''), WHITELIST).join(), /disableforwarding \(not shown\) \(policy: yes\)/);
  });
});
