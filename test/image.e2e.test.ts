import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { ARCHIVE_KEYRING, BUILD_ROOT } from '../src/jail/image';
import { requireHost, run, sh } from './support/host';

const IMAGE = 'docker-jail/base:bookworm';
const imageId = (image: string) => run('/usr/bin/docker', ['image', 'inspect', '-f', '{{.Id}}', image]).stdout.trim();
const buildDirs = () => (existsSync(BUILD_ROOT) ? readdirSync(BUILD_ROOT) : []);

/** Runs a command in a throwaway container of the jail image, with nothing of the host mounted. */
function inImage(command: string): string {
  return sh(`docker run --rm --network none --user 65534:65534 ${IMAGE} sh -c '${command}'`);
}

describe('the default jail image, built offline by debootstrap', function () {
  this.timeout(120_000);
  before(() => requireHost('docker', 'docker-jail'));

  it("is labelled as docker-jail's and runs Debian bookworm", () => {
    assert.equal(sh(`docker image inspect -f '{{index .Config.Labels "io.docker-jail.managed"}}' ${IMAGE}`).trim(), 'true');
    assert.match(inImage('cat /etc/os-release'), /VERSION_CODENAME=bookworm/);
  });

  it('carries the tools a login needs', () => {
    const tools = ['bash', 'less', 'nano', 'vi', 'tmux', 'screen', 'ps', 'rsync', 'git', 'ls', '/usr/lib/openssh/sftp-server'];
    assert.equal(inImage(`for t in ${tools.join(' ')}; do command -v $t >/dev/null || echo missing $t; done`), '');
    assert.match(inImage('ls /etc/ssl/certs/ca-certificates.crt; locale -a'), /C\.utf8/);
  });

  it('has no SUID or SGID file anywhere', () => {
    assert.equal(sh(`docker run --rm --network none ${IMAGE} find / -xdev -perm /6000 -type f`), '');
  });

  it('is built once and reused', () => {
    const id = sh(`docker image inspect -f '{{.Id}}' ${IMAGE}`).trim();
    const again = run('/usr/sbin/docker-jail', ['image', 'build']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /already built/);
    assert.equal(sh(`docker image inspect -f '{{.Id}}' ${IMAGE}`).trim(), id);
  });

  it('refuses to be built by anyone but root', () => {
    const result = run('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/sbin/docker-jail', 'image', 'build']);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /^docker-jail: .*must be run as root\n$/);
  });

  it('refuses to build without the Debian archive keyring: one line naming it and its package, nothing built, the jail image untouched', () => {
    // Hidden in a private mount namespace only (other runs on this host keep theirs), with a config of its own there:
    // another image name and a mirror nobody answers, so that even a build that went on could not replace the jail image.
    const probe = `docker-jail/keyring-probe:${process.pid}`;
    const dir = mkdtempSync('/tmp/djt-keyring-');
    const id = imageId(IMAGE);
    const leftovers = buildDirs();
    const build = (hide: string) =>
      run(
        '/usr/bin/unshare',
        ['-m', '/bin/sh', '-c', `${hide}mount --bind ${dir}/docker-jail.ini /etc/docker-jail.ini && exec /usr/sbin/docker-jail image build --rebuild`],
        { timeout: 120_000 },
      );
    try {
      writeFileSync(`${dir}/docker-jail.ini`, `[jail]\nimage = ${probe}\n[image]\nmirror = http://127.0.0.1:9/debian\n`, { mode: 0o644 });
      for (const [hide, why] of [
        ['mount -t tmpfs none /usr/share/keyrings && ', 'is missing'],
        [`mount --bind /dev/null ${ARCHIVE_KEYRING} && `, 'is not a regular file'],
      ]) {
        const refused = build(hide);
        assert.equal(refused.status, 69, refused.stdout + refused.stderr);
        assert.equal(
          refused.stderr,
          `docker-jail: the Debian archive keyring ${ARCHIVE_KEYRING} ${why}: install the package debian-archive-keyring; no image is built without checking the mirror's signatures\n`,
        );
        assert.doesNotMatch(refused.stdout, /bootstrapping/);
      }
      // Control: the same namespace and config with the keyring in place get past the check, to debootstrap and the dead mirror.
      const control = build('');
      assert.notEqual(control.status, 0);
      assert.match(control.stdout, /bootstrapping Debian bookworm from http:\/\/127\.0\.0\.1:9\/debian/);
      assert.match(control.stderr, /debootstrap failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      run('/usr/bin/docker', ['image', 'rm', probe]);
    }
    assert.equal(imageId(IMAGE), id);
    assert.equal(imageId(probe), '');
    assert.deepEqual(buildDirs(), leftovers);
  });
});
