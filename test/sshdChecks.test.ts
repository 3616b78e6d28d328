import assert from 'node:assert/strict';
import { openSshdDoors } from '../src/cli/sshdChecks';
import { JAILED_SSHD_SETTINGS } from '../src/cli/sshdPolicy';

/** What `sshd -T -C user=...` prints for a jailed user under the shipped drop-in and Debian's sshd_config. */
const CLOSED = [
  'disableforwarding yes', 'permittunnel no', 'gatewayports no', 'permituserrc no', 'allowtcpforwarding no', 'x11forwarding no', 'allowagentforwarding no', 'allowstreamlocalforwarding no',
  'permituserenvironment no', 'acceptenv LANG', 'acceptenv LC_*', 'subsystem sftp /usr/lib/openssh/sftp-server', 'forcecommand none',
].join('\n');
const WHITELIST = ['TERM', 'LANG', 'LC_*', 'SSH_CONNECTION'];
const withLine = (from: string, to: string) => CLOSED.replace(from, to);

describe('doctor\'s reading of sshd\'s effective settings for a jailed user', () => {
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

  it('names internal-sftp as a forced command (a Subsystem, under any name, is the sftp check\'s)', () => {
    assert.match(openSshdDoors(withLine('forcecommand none', 'forcecommand internal-sftp'), WHITELIST).join(), /forcecommand internal-sftp/);
    assert.deepEqual(openSshdDoors(`${CLOSED}\nsubsystem files /usr/lib/openssh/sftp-server`, WHITELIST), []);
  });

  it('names any forwarding or ~/.ssh/rc left on', () => {
    assert.match(openSshdDoors(withLine('permituserrc no', 'permituserrc yes'), WHITELIST).join(), /permituserrc yes/);
    assert.match(openSshdDoors(withLine('allowtcpforwarding no', 'allowtcpforwarding local'), WHITELIST).join(), /allowtcpforwarding local/);
  });

  it('names every setting of the policy sshd does not apply, with the policy\'s value', () => {
    for (const [setting, value] of JAILED_SSHD_SETTINGS) {
      const keyword = setting.toLowerCase();
      const other = value === 'yes' ? 'no' : 'yes';
      assert.deepEqual(openSshdDoors(withLine(`${keyword} ${value}`, `${keyword} ${other}`), WHITELIST), [`${keyword} ${other} (policy: ${value})`]);
    }
    assert.match(openSshdDoors(withLine('permittunnel no', 'permittunnel point-to-point'), WHITELIST).join(), /permittunnel point-to-point \(policy: no\)/);
    assert.match(openSshdDoors(withLine('disableforwarding yes', ''), WHITELIST).join(), /disableforwarding \(not shown\) \(policy: yes\)/);
  });
});
