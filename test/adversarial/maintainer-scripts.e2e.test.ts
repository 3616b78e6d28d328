/**
 * The maintainer scripts against a hostile or unusual host, through the real
 * dpkg: a mount whose source names a path below the package's directories
 * (purge unmounted whatever that path reached, /home say), the package's
 * groups at purge (kept: files may still carry their gids), and a group gone
 * at an upgrade (never recreated: a group missing then may be a directory's
 * that is not answering). It ends with this build installed, and the host's
 * group files and configuration byte for byte as it found them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { SCRATCH_MOUNTS } from '../../src/host/scratch';
import { BUILD_ROOT } from '../../src/jail/image';
import { requireHost, run, sh } from '../support/host';
import { keepHostFile, restoreState, stateOf } from '../support/hostFiles';

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const DEB = `${process.cwd()}/dist/docker-jail_${VERSION}_amd64.deb`;
const GROUPS = ['jailed', 'admins'];
const GROUP_FILES = ['/etc/group', '/etc/gshadow', '/etc/group-', '/etc/gshadow-'];

import { DEFAULT_CONFIG_PATH as CONFIG, EXEMPT_GROUP_RECORD, STATE_DIR } from '../../src/host/paths';

const dpkg = (...args: string[]) =>
  run('/usr/bin/dpkg', ['--force-confold', ...args], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, input: '', timeout: 300_000 });
const gidOf = (group: string) => {
  const entry = run('/usr/bin/getent', ['group', group]);
  return entry.status === 0 ? entry.stdout.split(':')[2] : null;
};
const mounted = (path: string) => run('/usr/bin/mountpoint', ['-q', path]).status === 0;

/** The files as they are now (content, mode, owner), and how to put them back exactly (as often as asked). */
function saveFiles(paths: string[]): () => void {
  const saved = paths.map((path) => ({ path, state: stateOf(path) }));
  return () => {
    for (const { path, state } of saved) if (state !== null) restoreState(path, state);
  };
}

describe('maintainer scripts: purge unmounts only its own mount points and keeps the groups; upgrades create no group', function () {
  this.timeout(300_000);
  const tag = `djt${process.pid}`;
  const cleanups: (() => void)[] = [];
  let restoreGroups: () => void;
  let gids: (string | null)[];
  let purge: { status: number | null; stdout: string; stderr: string };
  const deleteGroups = (...names: string[]) => {
    for (const name of names) if (gidOf(name) !== null) sh(`groupdel ${name}`);
  };

  before(() => {
    requireHost('dpkg', 'getent', 'groupdel', 'mount', 'umount', 'mountpoint');
    assert.ok(existsSync(DEB), `${DEB} is missing: ./build.sh install builds it`);
    // Journaled as well: a run killed in here has them put back by the next ./build.sh test. (Put back last.)
    cleanups.push(...[...GROUP_FILES, CONFIG].map((path) => keepHostFile(path)));
    restoreGroups = saveFiles(GROUP_FILES);
    cleanups.push(saveFiles([CONFIG]), restoreGroups);
    const installed = dpkg('-i', DEB);
    assert.equal(installed.status, 0, installed.stdout + installed.stderr);
    gids = GROUPS.map(gidOf);
    for (const [i, group] of GROUPS.entries()) assert.notEqual(gids[i], null, `group ${group} is missing after the install`);
  });

  after(() => {
    const failures: string[] = [];
    for (const cleanup of cleanups.reverse()) {
      try {
        cleanup();
      } catch (error) {
        failures.push(String(error));
      }
    }
    // This build installed, with jailsh's override applied to the group files as they were.
    const installed = dpkg('-i', DEB);
    assert.equal(installed.status, 0, installed.stdout + installed.stderr);
    assert.deepEqual(failures, []);
  });

  it("purge: a mount whose source names a path below the package directories leaves that path mounted; the package's own mounts go", () => {
    // The mount such a source names: a tmpfs holding a witness, as /home would hold homes.
    const target = `/srv/${tag}-target`;
    mkdirSync(target, { recursive: true });
    sh(`mount -t tmpfs -o size=1m ${tag}-witness ${target} && echo alive > ${target}/witness`);
    cleanups.push(() => sh(`umount ${target} 2>/dev/null; rmdir ${target}`));
    // Decoys anyone can make (a fuse mount's fsname): sources naming the target through a package directory.
    const decoys = [STATE_DIR, SCRATCH_MOUNTS].map((dir, i) => ({ source: `${dir}/../../../..${target}`, at: `/tmp/${tag}-decoy${i}` }));
    for (const decoy of decoys) {
      mkdirSync(decoy.at);
      sh(`mount -t tmpfs -o size=1m ${decoy.source} ${decoy.at}`);
      cleanups.push(() => sh(`umount ${decoy.at} 2>/dev/null; rmdir ${decoy.at}`));
      assert.match(sh(`findmnt -rno SOURCE ${decoy.at}`), new RegExp(`^${decoy.source.replace(/\./g, '\\.')}$`, 'm'));
    }
    // The package's own kinds of mount: debootstrap's under an interrupted image build, a jail's /tmp.
    const own = [`${BUILD_ROOT}/image-${tag}/rootfs/proc`, `${SCRATCH_MOUNTS}/${4_000_000_000 + process.pid}`];
    for (const path of own) {
      mkdirSync(path, { recursive: true });
      sh(`mount -t tmpfs -o size=1m ${tag}-own ${path}`);
      cleanups.push(() => sh(`umount -l ${path} 2>/dev/null; rm -rf ${BUILD_ROOT}/image-${tag}; rmdir ${path} 2>/dev/null || true`));
    }

    purge = dpkg('--purge', 'docker-jail');
    assert.equal(purge.status, 0, purge.stdout + purge.stderr);

    assert.ok(mounted(target), `${target} was unmounted by purge`);
    assert.equal(readFileSync(`${target}/witness`, 'utf8'), 'alive\n');
    for (const decoy of decoys) assert.ok(mounted(decoy.at), `${decoy.at} was unmounted by purge`);
    for (const path of own) assert.equal(mounted(path), false, `${path} is still mounted after purge`);
  });

  it('purge keeps the groups, with their gids (files may still carry them), and says how to remove them by hand', () => {
    assert.equal(purge?.status, 0, 'the purge above did not run');
    assert.deepEqual(GROUPS.map(gidOf), gids);
    for (const group of GROUPS) assert.match(purge.stderr, new RegExp(`^docker-jail: group ${group} is kept .*: groupdel ${group}$`, 'm'));
  });

  it('a first install (after purge) creates the groups that do not exist', () => {
    try {
      if (dpkg('-s', 'docker-jail').stdout.includes('Status: install ok installed')) assert.equal(dpkg('--purge', 'docker-jail').status, 0);
      deleteGroups(...GROUPS);
      const install = dpkg('-i', DEB);
      assert.equal(install.status, 0, install.stdout + install.stderr);
      for (const group of GROUPS) assert.notEqual(gidOf(group), null, `group ${group} was not created by a first install`);
      // Made here, so recorded with its gid: doctor does not take its members for a site's own.
      assert.equal(readFileSync(EXEMPT_GROUP_RECORD, 'utf8'), `admins ${gidOf('admins')}\n`);
    } finally {
      restoreGroups();
    }
  });

  it('an upgrade or reinstall (dpkg -i over an installed package: configure with $2 set) does not recreate a group that is gone', () => {
    try {
      assert.ok(dpkg('-s', 'docker-jail').stdout.includes('Status: install ok installed'), 'the package is not installed');
      // The exempt group: the jail group is named in jailsh's statoverride, and without it dpkg itself stops (below).
      deleteGroups('admins');
      const upgrade = dpkg('-i', DEB);
      assert.equal(upgrade.status, 0, upgrade.stdout + upgrade.stderr);
      assert.equal(gidOf('admins'), null, 'the upgrade made a local group admins');
      // The jail group gone: dpkg refuses before any script of the package runs, and nothing makes the group.
      deleteGroups('jailed');
      const stopped = dpkg('-i', DEB);
      assert.notEqual(stopped.status, 0);
      assert.match(stopped.stderr, /unknown system group 'jailed' in statoverride file/);
      assert.equal(gidOf('jailed'), null, 'a local group jailed was made');
    } finally {
      restoreGroups();
    }
  });
});
