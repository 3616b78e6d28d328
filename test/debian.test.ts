/**
 * The Debian conventions of the source tree that no build step checks: the
 * source package's build dependencies (lintian checks only the binary package
 * here), the autopkgtest declaration, and the gc service's sandboxing.
 */
import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { JAILSH } from '../src/host/paths';

/** The paragraphs of a deb822 file (debian/control, debian/tests/control): comments dropped, continuation lines joined. */
function paragraphs(text: string): Map<string, string>[] {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n')
    .split(/\n\s*\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const fields = new Map<string, string>();
      let last = '';
      for (const line of block.trim().split('\n')) {
        const continued = /^\s/.test(line);
        if (continued && last !== '') fields.set(last, `${fields.get(last)} ${line.trim()}`);
        else {
          const match = /^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
          assert.ok(match, `not a field: ${JSON.stringify(line)}`);
          last = match[1];
          fields.set(last, match[2].trim());
        }
      }
      return fields;
    });
}

/** The package names of a relation field (alternatives, versions and architectures dropped). */
const packagesOf = (relation: string) =>
  relation
    .split(/[,|]/)
    .map((p) => p.trim().split(/[\s([]/)[0])
    .filter(Boolean);

describe('debian/control', () => {
  it('lists no build-essential package in Build-Depends (lintian: build-depends-on-build-essential)', () => {
    // Lintian's own list where it is installed; Policy 4.2's otherwise.
    const listFile = '/usr/share/lintian/data/fields/build-essential-packages';
    const essential = existsSync(listFile)
      ? readFileSync(listFile, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      : ['libc6-dev', 'libc-dev', 'gcc', 'g++', 'make', 'dpkg-dev'];
    const source = paragraphs(readFileSync('debian/control', 'utf8'))[0];
    const buildDepends = packagesOf(source.get('Build-Depends') ?? '');
    assert.ok(buildDepends.includes('debhelper-compat'), 'the check read Build-Depends');
    assert.deepEqual(
      buildDepends.filter((p) => essential.includes(p) || p === 'build-essential'),
      [],
    );
  });
});

describe('debian/tests (autopkgtest)', () => {
  const tests = paragraphs(readFileSync('debian/tests/control', 'utf8'));

  it('declares the end-to-end suite against the installed package, as root on a machine of its own', () => {
    assert.equal(tests.length, 1);
    const [test] = tests;
    assert.equal(test.get('Tests'), 'e2e');
    const restrictions = (test.get('Restrictions') ?? '').split(/[\s,]+/);
    for (const r of ['needs-root', 'isolation-machine', 'allow-stderr']) assert.ok(restrictions.includes(r), `Restrictions lacks ${r}`);
    const depends = packagesOf(test.get('Depends') ?? '');
    assert.ok(depends.includes('@'), 'Depends does not name the package under test (@)');
    for (const p of ['docker.io', 'openssh-server', 'busybox-static', 'debootstrap', 'tmux', 'rsyslog']) assert.ok(depends.includes(p), `Depends lacks ${p}`);
  });

  it('names test scripts that exist, are executable and run the suite without installing', () => {
    for (const test of tests) {
      for (const name of (test.get('Tests') ?? '').split(/[\s,]+/).filter(Boolean)) {
        const script = `debian/tests/${name}`;
        accessSync(script, constants.X_OK);
        assert.match(readFileSync(script, 'utf8'), /^#!\/bin\/sh\n/);
        assert.match(readFileSync(script, 'utf8'), /\.\/build\.sh test-installed/);
      }
    }
    // The mode the script runs tests, and never installs the checkout's build over the package under test.
    const mode = /^run_installed_tests\(\) \{\n([\s\S]*?)\n\}/m.exec(readFileSync('build.sh', 'utf8'));
    assert.ok(mode, 'build.sh has no run_installed_tests');
    assert.match(mode[1], /npx mocha --exit 'test\/\*\*\/\*\.test\.ts'/);
    assert.doesNotMatch(mode[1], /install_here/);
  });
});

describe('systemd/docker-jail-gc.service', () => {
  const unit = readFileSync('systemd/docker-jail-gc.service', 'utf8');
  const settings = unit
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => l.slice(0, l.indexOf('=')));

  it('has no setting that gives gc a mount namespace of its own (its unmounts must happen on the host)', () => {
    // gc unmounts a removed jail's home staging and /tmp: in a private mount namespace those unmounts
    // would never reach the host, and the mounts would stay there for good. Each of these makes one
    // (systemd's exec_needs_mount_namespace), and PrivateNetwork/PrivateIPC imply PrivateMounts;
    // ProtectClock's device list would shut the jails' loop devices out.
    const namespacing =
      /^(Private(Tmp|Devices|Network|Mounts|IPC|Users)|Protect(System|Home|KernelTunables|KernelModules|KernelLogs|ControlGroups|Proc|Clock)|ProcSubset|(ReadWrite|ReadOnly|Inaccessible|Exec|NoExec)Paths|(Bind|BindReadOnly)Paths|TemporaryFileSystem|RootDirectory|RootImage|MountFlags|MountAPIVFS|DynamicUser|LogNamespace|NetworkNamespacePath|DeviceAllow)$/;
    assert.ok(settings.includes('ExecStart'), 'the check read the unit');
    assert.deepEqual(
      settings.filter((s) => namespacing.test(s)),
      [],
    );
    // Node's JIT writes the code it runs.
    assert.equal(settings.includes('MemoryDenyWriteExecute'), false);
  });

  it('runs without /etc/docker-jail.ini (the built-in defaults), bounded in time, sandboxed', () => {
    assert.doesNotMatch(unit, /Condition\w*=.*docker-jail\.ini/);
    assert.match(unit, /^TimeoutStartSec=\d+/m);
    for (const s of ['NoNewPrivileges', 'RestrictAddressFamilies', 'RestrictNamespaces', 'CapabilityBoundingSet', 'SystemCallArchitectures'])
      assert.ok(settings.includes(s), `no ${s}`);
    const capabilities = /^CapabilityBoundingSet=(.*)$/m.exec(unit)?.[1].split(/\s+/) ?? [];
    // umount and losetup need CAP_SYS_ADMIN; nothing of gc loads modules, sets the clock or configures the network.
    assert.ok(capabilities.includes('CAP_SYS_ADMIN'));
    for (const c of ['CAP_SYS_MODULE', 'CAP_SYS_TIME', 'CAP_NET_ADMIN', 'CAP_SYS_RAWIO', 'CAP_SYS_BOOT']) assert.equal(capabilities.includes(c), false, c);
  });

  it('lets NSS modules reach their directory: a user gc cannot look up is taken for one removed, and their jail goes', () => {
    // libnss-ldap and NIS without nscd open IP sockets from inside gc; glibc then reports "no such user".
    const families = /^RestrictAddressFamilies=(.*)$/m.exec(unit)?.[1].split(/\s+/) ?? [];
    for (const f of ['AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_NETLINK']) assert.ok(families.includes(f), f);
  });
});

describe('/etc/shells through debianutils shells.d', () => {
  it('ships /usr/share/debianutils/shells.d/docker-jail naming jailsh, which update-shells (debianutils >= 5.6) keeps in /etc/shells', () => {
    assert.equal(readFileSync('debian/shells.d/docker-jail', 'utf8'), `${JAILSH}\n`);
    assert.match(readFileSync('debian/docker-jail.install', 'utf8'), /^debian\/shells\.d\/docker-jail usr\/share\/debianutils\/shells\.d\/$/m);
    const binary = paragraphs(readFileSync('debian/control', 'utf8'))[1];
    assert.match(binary.get('Depends') ?? '', /\bdebianutils \(>= 5\.6-0\.1\)/);
  });

  it('leaves add-shell and remove-shell out of the maintainer scripts: the trigger adds the line and takes it out with the package', () => {
    for (const script of ['debian/docker-jail.postinst', 'debian/docker-jail.postrm', 'debian/docker-jail.prerm']) {
      const code = readFileSync(script, 'utf8')
        .split('\n')
        .filter((l) => !/^\s*#/.test(l))
        .join('\n');
      assert.doesNotMatch(code, /\b(add|remove)-shell\b/, script);
    }
  });
});
