/**
 * The installed command line as an administrator meets it: -h, an unknown
 * option named, several users at once going on past one that fails, the bash
 * completion the package ships, and the gc unit as systemd reads it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { JAILSH } from '../src/host/paths';
import { jailedUsers } from './support/fixtures';
import { requireHost, run, sh } from './support/host';

const CLI = '/usr/sbin/docker-jail';
const COMPLETION = '/usr/share/bash-completion/completions/docker-jail';
const cli = (...args: string[]) => run(CLI, args);
const shellOf = (name: string) => sh(`getent passwd ${name} | cut -d: -f7`).trim();

describe('the installed command line: -h, unknown options, several users, completion', function () {
  this.timeout(60_000);
  const users = jailedUsers();

  before(() => requireHost('bash', 'systemd-analyze', 'gpasswd', 'usermod'));

  it('answers -h as --help, at the top level and for a command', () => {
    const top = cli('-h');
    assert.equal(top.status, 0, top.stderr);
    assert.match(top.stdout, /^usage: docker-jail COMMAND\n/);
    const gc = cli('gc', '-h');
    assert.equal(gc.status, 0, gc.stderr);
    assert.equal(gc.stdout, cli('gc', '--help').stdout);
  });

  it('names an unknown option with the command and its usage, exit 2, and does nothing', () => {
    const result = cli('list', '--bogus');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^docker-jail list: unknown option --bogus\nusage: docker-jail list/);
    assert.equal(result.stdout, '');
  });

  it('enables several users, going on past one that fails: each failure names its user, the status says one failed', () => {
    const [a, c] = [users.make({ groups: [], shell: '/bin/bash' }), users.make({ groups: [], shell: '/bin/bash' })];
    const result = cli('enable', a.name, 'djt-no-such-user', c.name);
    assert.equal(result.status, 2, result.stderr);
    assert.equal(shellOf(a.name), JAILSH);
    assert.equal(shellOf(c.name), JAILSH);
    assert.match(result.stdout, new RegExp(`^${a.name}: enabled$`, 'm'));
    assert.match(result.stdout, new RegExp(`^${c.name}: enabled$`, 'm'));
    assert.equal(
      result.stderr,
      'docker-jail: djt-no-such-user: no such user: djt-no-such-user\ndocker-jail: enable failed for 1 of 3 users: djt-no-such-user\n',
    );
    const back = cli('disable', a.name, 'djt-no-such-user', c.name);
    assert.equal(back.status, 2, back.stderr);
    assert.equal(shellOf(a.name), '/bin/bash');
    assert.equal(shellOf(c.name), '/bin/bash');
    assert.match(back.stderr, /^docker-jail: djt-no-such-user: no such user: djt-no-such-user$/m);
    assert.match(back.stderr, /^docker-jail: disable failed for 1 of 3 users: djt-no-such-user$/m);
  });

  it('ships a bash completion of the commands, their options and user names', () => {
    assert.ok(existsSync(COMPLETION), `${COMPLETION} is not installed`);
    const complete = (line: string) =>
      run('/bin/bash', [
        '--norc',
        '-c',
        'source "$1"; read -ra COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _docker_jail; printf "%s\\n" "${COMPREPLY[@]}"',
        'bash',
        COMPLETION,
        line,
      ]).stdout;
    assert.equal(complete('docker-jail ena'), 'enable\n');
    assert.equal(complete('docker-jail doctor --j'), '--json\n');
    assert.match(complete('docker-jail enable ro'), /^root$/m);
  });

  it('installs a gc service that systemd accepts, which runs without /etc/docker-jail.ini', () => {
    const unit = '/lib/systemd/system/docker-jail-gc.service';
    const verify = run('/usr/bin/systemd-analyze', ['verify', unit]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr, '');
    assert.doesNotMatch(sh(`cat ${unit}`), /ConditionPathExists/);
  });
});
