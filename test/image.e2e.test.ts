import assert from 'node:assert/strict';
import { requireHost, run, sh } from './support/host';

const IMAGE = 'docker-jail/base:bookworm';

/** Runs a command in a throwaway container of the jail image, with nothing of the host mounted. */
function inImage(command: string): string {
  return sh(`docker run --rm --network none --user 65534:65534 ${IMAGE} sh -c '${command}'`);
}

describe('the default jail image, built offline by debootstrap @docker @root', function () {
  this.timeout(120_000);
  before(() => requireHost('docker', 'docker-jail'));

  it('is labelled as docker-jail\'s and runs Debian bookworm', () => {
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
});
