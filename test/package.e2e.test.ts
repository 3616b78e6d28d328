/**
 * The Debian package, on this machine, for real: install on a host without
 * docker-jail, a jailed login through it, an upgrade with a locally edited
 * conffile, remove (fail closed), purge (the host's PAM, shells and ssh
 * configuration as before), reinstall. It ends with the package installed,
 * as it found it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { EXAMPLE_CONFIG_PATH, EXEMPT_GROUP_RECORD } from '../src/host/paths';
import { requireHost, run, sh } from './support/host';
import { keepHostFile } from './support/hostFiles';
import { Terminal } from './support/pty';
import { type Sshd, ssh, sshOptions, startSshd } from './support/sshd';
import { createUser, jailOf, removeUser, type TestUser } from './support/users';

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const DEB = `${process.cwd()}/dist/docker-jail_${VERSION}_amd64.deb`;
const apt = (...args: string[]) =>
  run('/usr/bin/apt-get', ['-y', '-q', ...args], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 300_000 });
/** The conffile this build ships (short), and the full example, which the previous build shipped as its conffile. */
const CONFFILE_SOURCE = 'etc/docker-jail.ini';
const EXAMPLE_SOURCE = 'etc/examples/docker-jail.ini';
const installed = () => run('/usr/bin/dpkg-query', ['-W', '-f=${Status} ${Version}', 'docker-jail']).stdout;

/** Every file under the directories, with its type, mode, owner and content hash: what "byte-identical" compares. */
function snapshot(...roots: string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (path: string) => {
    const stat = lstatSync(path);
    let content = '';
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(`${path}/${entry}`);
    else if (stat.isSymbolicLink()) content = readlinkSync(path);
    else content = createHash('sha256').update(readFileSync(path)).digest('hex');
    files.set(path, `${stat.mode.toString(8)} ${stat.uid}:${stat.gid} ${content}`);
  };
  roots.forEach(walk);
  return files;
}

/** This build repacked as the version before it: "the previous build" an administrator upgrades from. */
function previousBuild(dir: string): string {
  sh(`dpkg-deb -R ${DEB} ${dir}/tree && sed -i 's/^Version: .*/Version: ${VERSION}~previous/' ${dir}/tree/DEBIAN/control`);
  // Before issue 17 the conffile was the whole commented example: the file this build replaces.
  writeFileSync(`${dir}/tree/etc/docker-jail.ini`, readFileSync(EXAMPLE_SOURCE));
  sh(`dpkg-deb -Znone -b ${dir}/tree ${dir}/previous.deb >/dev/null`); // uncompressed: xz under a loaded machine outran the 60 s limit
  return `${dir}/previous.deb`;
}

describe('the Debian package: install, a jailed login, upgrade, remove, purge, reinstall', function () {
  this.timeout(300_000);
  let sshd: Sshd;
  let scratch: string;
  let pristine: Map<string, string>;
  let putBackConfig: (() => void) | undefined;
  const users: TestUser[] = [];

  before(async () => {
    requireHost('docker', 'sshd', 'ssh', 'scp', 'su', 'dpkg', 'apt-get', 'dpkg-deb', 'dpkg-buildpackage', 'lintian', 'git', 'man');
    assert.ok(existsSync(DEB), `${DEB} is missing: ./build.sh test builds it`);
    scratch = mkdtempSync('/tmp/djt-package-');
    // Purge takes the config, and the tests write their own: a run killed in here has it put back by the next ./build.sh test.
    putBackConfig = keepHostFile('/etc/docker-jail.ini');
    // A host without docker-jail: the package purged, if the run installed it.
    assert.equal(apt('purge', 'docker-jail').status, 0);
    pristine = snapshot('/etc/pam.d', '/etc/shells', '/etc/ssh');
    sshd = await startSshd();
  });

  after(async () => {
    await sshd?.stop();
    users.forEach(removeUser);
    // Leave the host as the run had it: this build installed.
    if (!installed().startsWith(`install ok installed ${VERSION}`)) assert.equal(apt('install', '--reinstall', DEB).status, 0);
    putBackConfig?.();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('installs on a host without docker-jail: launcher 4754 root:jailed through dpkg-statoverride, shell, PAM profile, sshd policy, timer, manuals', () => {
    assert.equal(installed().startsWith('install ok installed'), false);
    assert.doesNotMatch(readFileSync('/etc/shells', 'utf8'), /jailsh/);
    const result = apt('install', previousBuild(scratch));
    assert.equal(result.status, 0, result.stderr);
    const launcher = statSync('/usr/bin/jailsh');
    assert.equal((launcher.mode & 0o7777).toString(8), '4754');
    assert.equal(launcher.uid, 0);
    assert.equal(sh('getent group jailed | cut -d: -f3').trim(), String(launcher.gid));
    assert.match(sh('dpkg-statoverride --list /usr/bin/jailsh'), /^root jailed 4754 \/usr\/bin\/jailsh$/m);
    assert.match(readFileSync('/etc/shells', 'utf8'), /^\/usr\/bin\/jailsh$/m);
    assert.match(readFileSync('/etc/pam.d/common-session', 'utf8'), /pam_exec\.so .*\/usr\/lib\/docker-jail\/docker-jail-pam-hook/);
    assert.match(sh('dpkg -L docker-jail'), /\/etc\/ssh\/sshd_config\.d\/docker-jail\.conf/);
    assert.match(sh('cat /var/lib/dpkg/info/docker-jail.conffiles'), /^\/etc\/docker-jail\.ini$/m);
    assert.ok(existsSync('/lib/systemd/system/docker-jail-gc.timer'));
    for (const page of ['jailsh.8', 'docker-jail.8', 'docker-jail.ini.5']) {
      const [name, section] = [page.slice(0, -2), page.slice(-1)];
      const rendered = run('/usr/bin/man', ['--warnings', '-P', 'cat', section, name], { env: { ...process.env, MANWIDTH: '80' } });
      assert.equal(rendered.status, 0, `${page}: ${rendered.stderr}`);
      assert.equal(rendered.stderr, '', `${page}: roff warnings`);
    }
    assert.match(sh('man -P cat 5 docker-jail.ini'), /grace = 7d/);
    // Where a Debian administrator looks first; debianutils' trigger put jailsh in /etc/shells (shells.d).
    assert.match(sh('zcat -f /usr/share/doc/docker-jail/README.Debian*'), /docker-jail image build/);
    assert.match(sh('zcat -f /usr/share/doc/docker-jail/NEWS.Debian*'), /^docker-jail \(/);
    assert.match(sh('zcat -f /usr/share/doc/docker-jail/README.md*'), /^# docker-jail$/m);
    assert.match(sh('zcat -f /usr/share/doc/docker-jail/SECURITY.md*'), /invariant/i);
    assert.equal(readFileSync('/usr/share/debianutils/shells.d/docker-jail', 'utf8'), '/usr/bin/jailsh\n');
    assert.match(readFileSync('/var/lib/shells.state', 'utf8'), /^\/usr\/bin\/jailsh$/m);
    // No image yet on this host? postinst said what is left to do; otherwise nothing.
    if (run('/usr/bin/docker', ['image', 'ls', '-q', '--filter', 'label=io.docker-jail.managed=true']).stdout === '')
      assert.match(result.stdout + result.stderr, /docker-jail image build/);
    // Everything but this test's own sshd, which accepts every variable on purpose (doctor rightly names it).
    const doctor = JSON.parse(run('/usr/sbin/docker-jail', ['doctor', '--json']).stdout) as { check: string; ok: boolean; detail: string }[];
    assert.deepEqual(
      doctor.filter((f) => !f.ok && !/^the running sshd \(pid \d+, -f \/run\/docker-jail-test-sshd-/.test(f.detail)),
      [],
    );
  });

  it('jails an enabled user: ssh -tt lands in the jail, scp puts a file in the home; disable gives the host back', async () => {
    const user = createUser({ groups: [], shell: '/bin/bash' });
    users.push(user);
    assert.equal(run('/usr/sbin/docker-jail', ['enable', user.name]).status, 0);
    const term = new Terminal('/usr/bin/ssh', [...sshOptions(sshd, user), '-tt', `${user.name}@127.0.0.1`]);
    await term.expect(/\$ $/m, 30_000);
    assert.equal(await term.command('hostname; tty'), `${user.name}-jail\n/dev/pts/0\n`);
    term.write('exit\r');
    assert.equal(await term.exited, 0);
    writeFileSync(`${scratch}/up.txt`, 'through scp\n');
    const scpOptions = sshOptions(sshd, user)
      .map((o) => (o === '-p' ? '-P' : o))
      .filter((o) => o !== '-a');
    assert.equal(run('/usr/bin/scp', [...scpOptions, `${scratch}/up.txt`, `${user.name}@127.0.0.1:up.txt`]).status, 0);
    assert.equal(ssh(sshd, user, ['cat up.txt; hostname']).stdout, `through scp\n${user.name}-jail\n`);
    assert.equal(run('/usr/sbin/docker-jail', ['disable', user.name]).status, 0);
    assert.equal(ssh(sshd, user, ['hostname']).stdout, `${sh('hostname')}`);
  });

  it('upgrades to this build without a prompt: an untouched conffile becomes the short one, a locally edited one is kept', () => {
    assert.equal(readFileSync('/etc/docker-jail.ini', 'utf8'), readFileSync(EXAMPLE_SOURCE, 'utf8'), 'the previous build’s conffile');
    // The builds before shells.d registered jailsh with add-shell: in /etc/shells, unknown to update-shells'
    // state. So made here; the upgrade must leave the line, now the package's (and so removed with it).
    writeFileSync('/var/lib/shells.state', readFileSync('/var/lib/shells.state', 'utf8').replace(/^\/usr\/bin\/jailsh\n/m, ''));
    assert.match(readFileSync('/etc/shells', 'utf8'), /^\/usr\/bin\/jailsh$/m);
    // No terminal and no --force-conf* option: a conffile prompt would fail the upgrade.
    const result = run('/usr/bin/dpkg', ['-i', DEB], { input: '' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.doesNotMatch(result.stdout, /Configuration file/);
    assert.equal(readFileSync('/etc/docker-jail.ini', 'utf8'), readFileSync(CONFFILE_SOURCE, 'utf8'));
    assert.equal(readFileSync(EXAMPLE_CONFIG_PATH, 'utf8'), readFileSync(EXAMPLE_SOURCE, 'utf8'));
    assert.equal(run('/usr/sbin/docker-jail', ['config', 'check']).status, 0);

    appendFileSync('/etc/docker-jail.ini', '\n# edited here\n');
    const edited = readFileSync('/etc/docker-jail.ini', 'utf8');
    const again = run('/usr/bin/dpkg', ['-i', DEB], { input: '' });
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.doesNotMatch(again.stdout, /Configuration file/);
    assert.equal(readFileSync('/etc/docker-jail.ini', 'utf8'), edited);
    assert.match(installed(), new RegExp(`^install ok installed ${VERSION.replace(/\./g, '\\.')}$`));
    assert.equal((statSync('/usr/bin/jailsh').mode & 0o7777).toString(8), '4754');
    assert.match(readFileSync('/etc/shells', 'utf8'), /^\/usr\/bin\/jailsh$/m);
    assert.match(readFileSync('/var/lib/shells.state', 'utf8'), /^\/usr\/bin\/jailsh$/m);
  });

  it('removes cleanly and fails closed: PAM profile off, /etc/shells clean, jailed users cannot log in; jails and homes kept', () => {
    const user = createUser();
    users.push(user);
    assert.equal(ssh(sshd, user, ['echo mine > kept; hostname']).stdout, `${user.name}-jail\n`);
    const jail = jailOf(user);
    const result = apt('remove', 'docker-jail');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout + result.stderr, /jails and the homes of jailed users are kept/);
    assert.equal(sh('grep -rl docker-jail /etc/pam.d || true'), '');
    assert.doesNotMatch(readFileSync('/etc/shells', 'utf8'), /jailsh/);
    // Neither ssh nor su gives a jailed user anything on the host.
    const viaSsh = ssh(sshd, user, ['echo on-the-host']);
    assert.notEqual(viaSsh.status, 0);
    assert.doesNotMatch(viaSsh.stdout, /on-the-host/);
    const viaSu = run('/bin/su', ['-l', user.name, '-c', 'echo on-the-host']);
    assert.notEqual(viaSu.status, 0);
    assert.doesNotMatch(viaSu.stdout, /on-the-host/);
    assert.equal(jailOf(user), jail);
    assert.equal(readFileSync(`${user.home}/kept`, 'utf8'), 'mine\n');
    assert.ok(existsSync('/etc/docker-jail.ini'), 'remove took the conffile');
  });

  it('purges: /etc/pam.d, /etc/shells and /etc/ssh byte-identical to before the first install; homes and jails kept', () => {
    // Groups: kept, with their gids (files may still carry them); the purge says how to remove them by hand.
    const gids = ['jailed', 'admins'].map((name) => sh(`getent group ${name} | cut -d: -f3`));
    const result = apt('purge', 'docker-jail');
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(
      ['jailed', 'admins'].map((name) => sh(`getent group ${name} | cut -d: -f3`)),
      gids,
    );
    for (const name of ['jailed', 'admins']) assert.match(result.stdout + result.stderr, new RegExp(`group ${name} is kept .*groupdel ${name}`));
    const after = snapshot('/etc/pam.d', '/etc/shells', '/etc/ssh');
    const changed = [...new Set([...pristine.keys(), ...after.keys()])].filter((path) => pristine.get(path) !== after.get(path));
    assert.deepEqual(changed, []);
    assert.equal(existsSync('/etc/docker-jail.ini'), false);
    assert.equal(existsSync('/var/lib/docker-jail'), false);
    assert.equal(run('/usr/bin/dpkg-statoverride', ['--list', '/usr/bin/jailsh']).status, 1);
    const user = users[1];
    assert.notEqual(jailOf(user), '');
    assert.equal(readFileSync(`${user.home}/kept`, 'utf8'), 'mine\n');
  });

  it('reinstalls onto a config an administrator wrote first: makes the exempt group it names, records making it, and a jailed user logs in again to their home', () => {
    // The administrator's /etc/docker-jail.ini, there before the package (kept: --force-confold).
    const exempt = `djtx${Math.random().toString(16).slice(2, 6)}`;
    assert.equal(run('/usr/bin/getent', ['group', exempt]).status, 2);
    writeFileSync('/etc/docker-jail.ini', `[access]\nexempt_group = ${exempt}\n`, { mode: 0o644 });
    try {
      const result = apt('-o', 'Dpkg::Options::=--force-confold', 'install', DEB);
      assert.equal(result.status, 0, result.stderr);
      const gid = sh(`getent group ${exempt} | cut -d: -f3`).trim();
      assert.match(gid, /^\d+$/, `postinst made no group ${exempt}`);
      assert.ok(Number(gid) < 1000, `group ${exempt} is a system group (gid ${gid})`);
      const record = statSync(EXEMPT_GROUP_RECORD);
      assert.equal(`${record.uid} ${(record.mode & 0o7777).toString(8)}`, '0 644');
      assert.equal(readFileSync(EXEMPT_GROUP_RECORD, 'utf8'), `${exempt} ${gid}\n`);
      const doctor = JSON.parse(run('/usr/sbin/docker-jail', ['doctor', '--json']).stdout) as {
        check: string;
        ok: boolean;
        warning?: boolean;
        detail: string;
      }[];
      const finding = doctor.find((f) => f.check === 'exempt group');
      assert.equal(finding?.ok, true);
      assert.equal(finding?.warning, undefined);
      assert.match(finding?.detail ?? '', new RegExp(`^group ${exempt} \\(gid ${gid}\\) was made by docker-jail's install`));
    } finally {
      // The shipped file again, byte for byte (dpkg sees it unmodified), and no trace of the test's group.
      sh(`dpkg-deb --fsys-tarfile ${DEB} | tar -xO ./etc/docker-jail.ini > /etc/docker-jail.ini`);
      run('/usr/sbin/groupdel', [exempt]);
    }
    const user = users[1];
    assert.equal(run('/usr/sbin/docker-jail', ['enable', user.name]).status, 0);
    assert.equal(ssh(sshd, user, ['cat kept; hostname']).stdout, `mine\n${user.name}-jail\n`);
  });

  it('builds the same package again from the same checkout: only the V8 code cache in the executable differs', function () {
    this.timeout(600_000);
    // A copy of this checkout (node_modules hard-linked: the same dependencies, no download).
    const copy = `${scratch}/checkout`;
    sh(`mkdir ${copy} && git ls-files -z | xargs -0 cp --parents -t ${copy} && cp -al node_modules ${copy}/node_modules`);
    const build = run(`${copy}/build.sh`, ['deb'], { timeout: 600_000 });
    assert.equal(build.status, 0, build.stdout + build.stderr);
    sh(`dpkg-deb -R ${DEB} ${scratch}/first && dpkg-deb -R ${copy}/dist/docker-jail_${VERSION}_amd64.deb ${scratch}/second`);
    const differing = sh(`cd ${scratch} && diff -rq --no-dereference first second || true`)
      .split('\n')
      .filter(Boolean)
      .map((line) => line.replace(/^Files first\/(\S+) and .*$/, '$1'));
    assert.deepEqual(
      differing,
      ['DEBIAN/md5sums', 'usr/lib/docker-jail/docker-jail'].filter((f) => differing.includes(f)),
      `differs: ${differing.join(', ')}`,
    );
    const sums = sh(`cd ${scratch} && diff first/DEBIAN/md5sums second/DEBIAN/md5sums || true`)
      .split('\n')
      .filter((l) => /^[<>]/.test(l));
    assert.ok(
      sums.every((line) => line.endsWith(' usr/lib/docker-jail/docker-jail')),
      sums.join('\n'),
    );
    // The bundle the executable carries is the same, byte for byte: what differs is V8's code cache of it.
    assert.equal(sh(`sha256sum < ${copy}/build/docker-jail.js`), sh('sha256sum < build/docker-jail.js'));
  });
});
