import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { defaultConfig } from '../../src/config/defaults';
import { LABEL_MANAGED, LABEL_UID } from '../../src/jail/labels';
import { requireHost, run, runBinary, sh } from '../support/host';
import { keepHostFile } from '../support/hostFiles';

const CLI = '/usr/sbin/docker-jail';
const TITLE = '\u001b]0;djt-pwned-title\u0007'; // an OSC that retitles the terminal
const TITLE_ESCAPED = '\\x1b]0;djt-pwned-title\\x07';

/** Every raw control byte an administrator's terminal would act on: C0 but the line end, DEL, and C1 as UTF-8 (C2 80-9F). */
function rawControls(output: Buffer): string[] {
  const found: string[] = [];
  for (let i = 0; i < output.length; i++) {
    const byte = output[i];
    if ((byte < 0x20 && byte !== 0x0a) || byte === 0x7f) found.push(`0x${byte.toString(16)} at ${i}`);
    if (byte === 0xc2 && i + 1 < output.length && output[i + 1] >= 0x80 && output[i + 1] <= 0x9f) found.push(`U+00${output[i + 1].toString(16)} at ${i}`);
  }
  return found;
}

/**
 * User names, GECOS and login shells come from the user database, which a
 * directory (or chfn) fills; `list`, `status` and `doctor` print them to root's
 * terminal. usermod refuses control characters, a directory does not: the users
 * here are libnss-extrausers entries, as in test/pam-nss.e2e.test.ts.
 */
describe('list, status and doctor print what the user database says with control characters escaped', function () {
  this.timeout(120_000);
  const nsswitch = readFileSync('/etc/nsswitch.conf', 'utf8');
  let putBackNsswitch: (() => void) | undefined;
  const tag = Math.random().toString(16).slice(2, 8);
  const uid = 48000 + Math.floor(Math.random() * 1000);
  // A jail-group member whose GECOS and shell carry a title sequence, a CR (to overwrite the line) and a C1 CSI.
  const member = `djq${tag}`;
  const gecos = `GECOS${TITLE}\rdjt-gecos-overwritten`;
  const shell = `/bin/sh${TITLE}\r\u009b31m`;
  // A user whose very name does; their jail is a container carrying the labels, as a jail made by hand would.
  const owner = `djn${tag}${TITLE}`;
  const ownerUid = uid + 1;
  const container = `djt-esc-${tag}`;

  before(() => {
    requireHost('docker', 'getent', 'gpasswd');
    if (!run('/usr/bin/dpkg-query', ['-W', '-f=${Status}', 'libnss-extrausers']).stdout.includes('ok installed')) {
      throw new Error('libnss-extrausers is not installed (./build.sh test installs it)');
    }
    for (const id of [uid, ownerUid]) assert.equal(run('/usr/bin/getent', ['passwd', String(id)]).status, 2, `uid ${id} is taken`);
    mkdirSync('/var/lib/extrausers', { recursive: true });
    writeFileSync(
      '/var/lib/extrausers/passwd',
      `${member}:x:${uid}:${uid}:${gecos}:/home/${member}:${shell}\n${owner}:x:${ownerUid}:${ownerUid}:${gecos}:/home/djn${tag}:${shell}\n`,
    );
    writeFileSync('/var/lib/extrausers/group', `${member}:x:${uid}:\n`);
    writeFileSync('/var/lib/extrausers/shadow', `${member}:*:19000:0:99999:7:::\n`);
    putBackNsswitch = keepHostFile('/etc/nsswitch.conf'); // put back by the next ./build.sh test if this run is killed
    writeFileSync('/etc/nsswitch.conf', nsswitch.replace(/^(passwd|group|shadow):(.*)$/gm, '$1:$2 extrausers'));
    assert.equal(run('/usr/bin/getent', ['passwd', String(ownerUid)]).stdout.split(':')[0], owner);
    sh(`gpasswd -a ${member} ${defaultConfig.access.jailGroup} >/dev/null`);
    sh(`docker create --label ${LABEL_MANAGED}=true --label ${LABEL_UID}=${ownerUid} --name ${container} ${defaultConfig.jail.image} true >/dev/null`);
  });
  after(() => {
    sh(`gpasswd -d ${member} ${defaultConfig.access.jailGroup} >/dev/null 2>&1 || true`);
    sh(`docker rm -f ${container} >/dev/null 2>&1 || true`);
    putBackNsswitch?.();
    for (const file of ['passwd', 'group', 'shadow']) rmSync(`/var/lib/extrausers/${file}`, { force: true });
  });

  const cli = (...args: string[]) => runBinary(CLI, args, Buffer.alloc(0));
  const assertNoRawControls = (what: string, output: Buffer) => {
    assert.deepEqual(rawControls(output), [], `${what} printed raw control characters`);
    assert.ok(!output.includes(gecos), `${what} printed the GECOS raw`);
  };

  it("list and status USER show the owner's name escaped, never a raw ESC, BEL or CR", () => {
    for (const args of [['list'], ['status', owner]]) {
      const result = cli(...args);
      assert.equal(result.status, 0, result.stderr.toString());
      assertNoRawControls(args.join(' '), result.stdout);
      const row = result.stdout
        .toString()
        .split('\n')
        .find((line) => line.startsWith(`${container} `));
      assert.ok(row !== undefined, `no row for ${container}: ${result.stdout.toString()}`);
      assert.ok(row.includes(`djn${tag}${TITLE_ESCAPED}`), row);
    }
  });

  it('list --json and status --json escape them as JSON does, C1 characters included', () => {
    for (const args of [
      ['list', '--json'],
      ['status', owner, '--json'],
    ]) {
      const result = cli(...args);
      assert.equal(result.status, 0, result.stderr.toString());
      assertNoRawControls(args.join(' '), result.stdout);
      const jails = JSON.parse(result.stdout.toString()) as Array<{ name: string; owner: string }>;
      assert.equal(jails.find((j) => j.name === container)?.owner, owner);
    }
  });

  it('doctor names the member and their login shell escaped (text and --json)', () => {
    const text = cli('doctor');
    assertNoRawControls('doctor', text.stdout);
    assert.ok(
      text.stdout.toString().includes(`FAIL user ${member}: login shell is /bin/sh${TITLE_ESCAPED}\\x0d\\x9b31m, not /usr/bin/jailsh`),
      text.stdout.toString(),
    );
    const json = cli('doctor', '--json');
    assertNoRawControls('doctor --json', json.stdout);
    const findings = JSON.parse(json.stdout.toString()) as Array<{ check: string; detail: string }>;
    assert.ok(findings.find((f) => f.check === `user ${member}`)?.detail.includes(shell), json.stdout.toString());
  });
});
