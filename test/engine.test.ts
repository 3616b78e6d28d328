import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { DemuxStream } from '../src/engine/demux';
import { tarArchive } from '../src/engine/tar';
import { environHas, initCgroupOf, jailProcesses, sessionProcesses } from '../src/host/procfs';
import { ARCHIVE_KEYRING, findMirror, keyringUnfit } from '../src/jail/image';
import { containerNameFrom, expandTemplate, hostnameFrom } from '../src/jail/placement';

function frame(kind: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function collect(stream: PassThrough): () => Buffer {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks);
}

describe('engine: demultiplexing a non-tty exec stream', () => {
  it('splits stdout and stderr byte-exact, whatever the chunk boundaries', async () => {
    const out = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    const err = Buffer.from('warning\n');
    const wire = Buffer.concat([frame(1, out.subarray(0, 1000)), frame(2, err), frame(1, out.subarray(1000)), frame(1, Buffer.alloc(0))]);
    for (const size of [1, 3, 8, 9, 4096, wire.length]) {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const [gotOut, gotErr] = [collect(stdout), collect(stderr)];
      const demux = new DemuxStream({ stdout, stderr });
      for (let i = 0; i < wire.length; i += size) demux.write(wire.subarray(i, i + size));
      await new Promise<void>((resolve) => demux.end(resolve));
      assert.ok(gotOut().equals(out), `stdout differs with ${size}-byte chunks`);
      assert.ok(gotErr().equals(err), `stderr differs with ${size}-byte chunks`);
    }
  });

  it('waits for a slow reader instead of buffering without bound', async () => {
    const stdout = new PassThrough({ highWaterMark: 16 });
    const demux = new DemuxStream({ stdout, stderr: new PassThrough() });
    let written = false;
    demux.write(frame(1, Buffer.alloc(1024, 1)), () => (written = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(written, false, 'the demuxer went on while stdout was full');
    stdout.resume();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(written, true);
  });

  it('refuses an unknown stream id', async () => {
    const demux = new DemuxStream({ stdout: new PassThrough(), stderr: new PassThrough() });
    const failed = new Promise((resolve) => demux.on('error', resolve));
    demux.write(frame(7, Buffer.from('x')));
    assert.match(String(await failed), /unexpected stream id 7/);
  });
});

describe('engine: names of jails', () => {
  const vars = { user: 'Jo.Smith@CORP', uid: '1234', home: '/home/jo' };
  it('fills the placeholders', () => {
    assert.equal(expandTemplate('{home}/x-{uid}-{user}', vars), '/home/jo/x-1234-Jo.Smith@CORP');
  });
  it('makes a container name Docker accepts', () => {
    assert.equal(containerNameFrom('jail-{user}', vars), 'jail-Jo.Smith_40CORP');
    assert.equal(containerNameFrom('jail-{user}', { ...vars, user: 'a_b-c.d' }), 'jail-a__b-c.d');
    assert.equal(containerNameFrom('jail-{user}', { ...vars, user: 'é' }), 'jail-_c3a9');
    assert.match(containerNameFrom('jail-{user}', { ...vars, user: 'a b/c:d\u{1f600}' }), /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/);
  });
  it('gives two user names two container names, whatever they hold (a@z and a_z were one)', () => {
    assert.notEqual(containerNameFrom('jail-{user}', { ...vars, user: 'a@z' }), containerNameFrom('jail-{user}', { ...vars, user: 'a_z' }));
    // Names from an alphabet rich in what is escaped, and in what escapes look like.
    const name = fc.string({ unit: fc.constantFrom('_', '@', 'a', '4', '0', '.', '-', 'é', '\u{1f600}'), maxLength: 8 });
    fc.assert(
      fc.property(
        name,
        name,
        (a, b) => a === b || containerNameFrom('jail-{user}', { ...vars, user: a }) !== containerNameFrom('jail-{user}', { ...vars, user: b }),
      ),
      { numRuns: 20_000 },
    );
  });
  it('makes an RFC 1123 host name', () => {
    assert.equal(hostnameFrom('{user}-jail', vars), 'jo-smith-corp-jail');
    assert.equal(hostnameFrom('{user}', { ...vars, user: 'x'.repeat(80) }), 'x'.repeat(63));
    assert.equal(hostnameFrom('{user}', { ...vars, user: '@@' }), 'jail');
  });
});

describe('engine: the tar handed to the jail', () => {
  it('is read back by GNU tar as root-owned files, directories and links with the given modes and contents', () => {
    const dir = mkdtempSync('/tmp/djt-tar-');
    try {
      writeFileSync(
        `${dir}/t.tar`,
        tarArchive([
          { type: 'file', name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n', mode: 0o644 },
          { type: 'file', name: 'etc/group', content: 'x'.repeat(1000), mode: 0o600 },
          { type: 'dir', name: 'home/', mode: 0o755 },
          { type: 'symlink', name: 'home/jo', target: '/run/docker-jail/shared/1234' },
        ]),
      );
      const listing = execFileSync('tar', ['-tvf', `${dir}/t.tar`, '--numeric-owner'], { encoding: 'utf8' });
      assert.match(listing, /^-rw-r--r-- 0\/0 +26 .* etc\/passwd$/m);
      assert.match(listing, /^-rw------- 0\/0 +1000 .* etc\/group$/m);
      assert.match(listing, /^drwxr-xr-x 0\/0 +0 .* home\/$/m);
      assert.match(listing, /^lrwxrwxrwx 0\/0 +0 .* home\/jo -> \/run\/docker-jail\/shared\/1234$/m);
      assert.equal(execFileSync('tar', ['-xOf', `${dir}/t.tar`, 'etc/passwd'], { encoding: 'utf8' }), 'root:x:0:0::/root:/bin/sh\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('engine: the Debian mirror of the host', () => {
  it('reads one-line and deb822 sources, for the right suite only', () => {
    assert.equal(
      findMirror(['deb http://a.example/debian bullseye main\ndeb [arch=amd64] http://b.example/debian bookworm main\n'], 'bookworm'),
      'http://b.example/debian',
    );
    const deb822 =
      'Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://m.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n';
    assert.equal(findMirror([deb822], 'bookworm'), 'http://m.example/debian');
    assert.equal(findMirror([deb822], 'trixie'), null);
  });
});

describe('engine: the processes of a session', () => {
  const procs = [
    { pid: 1, ppid: 0, uid: 65534, marked: false },
    { pid: 10, ppid: 1, uid: 1000, marked: true }, // the session's shell
    { pid: 11, ppid: 10, uid: 1000, marked: true }, // its job
    { pid: 12, ppid: 1, uid: 1000, marked: true }, // a daemon it started, reparented to init
    { pid: 20, ppid: 1, uid: 1000, marked: false }, // another session
    { pid: 21, ppid: 20, uid: 1000, marked: false },
  ];
  it("takes the session's process, its descendants, and whatever carries the session's mark, and nothing of other sessions", () => {
    assert.deepEqual(sessionProcesses(procs, 10).sort(), [10, 11, 12]);
    assert.deepEqual(
      sessionProcesses(
        procs.map((p) => ({ ...p, marked: false })),
        10,
      ).sort(),
      [10, 11],
    );
    assert.deepEqual(sessionProcesses(procs, null).sort(), [10, 11, 12]);
  });
});

describe("engine: which processes are the jail's (a fake /proc)", () => {
  const id = 'a'.repeat(64);
  const v1 = (path: string) => `2:pids:${path}\n1:name=systemd:${path}\n0::${path}\n`;
  let proc: string;
  const fake = (pid: number, cgroups: string, start = 100) => {
    mkdirSync(`${proc}/${pid}`);
    writeFileSync(`${proc}/${pid}/cgroup`, cgroups);
    writeFileSync(`${proc}/${pid}/stat`, `${pid} (a (b) c) S 1 ${Array.from({ length: 18 }, () => '0').join(' ')} ${start} 0`);
    writeFileSync(`${proc}/${pid}/status`, 'Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t\n');
    writeFileSync(`${proc}/${pid}/environ`, '');
  };
  beforeEach(() => (proc = mkdtempSync('/tmp/djt-proc-')));
  afterEach(() => rmSync(proc, { recursive: true, force: true }));

  it("takes exactly the init's cgroups: a cgroup merely ending in /docker/<id> is someone else's", () => {
    fake(10, v1(`/docker/${id}`));
    fake(11, v1(`/docker/${id}`));
    fake(12, v1(`/user.slice/user-1000.slice/user@1000.service/app.slice/docker/${id}`)); // a user's own systemd manager
    fake(13, `2:pids:/docker/${id}\n1:name=systemd:/docker/${id}\n0::/spoof.slice/docker/${id}\n`); // one hierarchy moved
    fake(14, v1(`/docker-${id}.scope`));
    fake(15, v1(`/docker/${id}/sub`));
    const cgroup = initCgroupOf(id, 10, proc);
    assert.notEqual(cgroup, null);
    // The init itself (in an agent jail, the agent) is never one of the jail's sessions' processes.
    assert.deepEqual(
      jailProcesses(cgroup, null, proc)
        .map((p) => p.pid)
        .sort(),
      [11],
    );
  });

  it("never counts the init of the jail's pid namespace, also under a pid the record does not know (a restart)", () => {
    fake(30, v1(`/docker/${id}`));
    fake(31, v1(`/docker/${id}`));
    fake(32, v1(`/docker/${id}`));
    writeFileSync(`${proc}/32/status`, 'Uid:\t1000\t1000\t1000\t1000\nNSpid:\t32\t1\n');
    const cgroup = initCgroupOf(id, 30, proc);
    assert.deepEqual(
      jailProcesses(cgroup, null, proc)
        .map((p) => p.pid)
        .sort(),
      [31],
    );
    assert.deepEqual(
      jailProcesses(cgroup === null ? null : { cgroups: cgroup.cgroups }, null, proc)
        .map((p) => p.pid)
        .sort(),
      [30, 31],
    );
  });

  it('finds the jail under a cgroup-parent and with the systemd driver, where no path ends in /docker/<id>', () => {
    fake(20, v1(`/djt-parent/${id}`));
    fake(21, v1(`/djt-parent/${id}`));
    fake(22, v1(`/system.slice/docker-${id}.scope`));
    fake(23, v1(`/system.slice/docker-${id}.scope`));
    assert.deepEqual(
      jailProcesses(initCgroupOf(id, 20, proc), null, proc)
        .map((p) => p.pid)
        .sort(),
      [21],
    );
    assert.deepEqual(
      jailProcesses(initCgroupOf(id, 22, proc), null, proc)
        .map((p) => p.pid)
        .sort(),
      [23],
    );
  });

  it("refuses an init pid whose cgroups are not the container's (a pid reused by a host process), and has no processes without a jail", () => {
    fake(30, v1('/user.slice/user-1000.slice/session-4.scope'));
    fake(31, v1('/'));
    fake(32, v1(`/docker/${'b'.repeat(64)}`));
    for (const pid of [30, 31, 32, 33]) assert.equal(initCgroupOf(id, pid, proc), null, `pid ${pid}`);
    assert.deepEqual(jailProcesses(null, null, proc), []);
  });
});

describe("engine: looking for the session's mark in /proc/PID/environ", () => {
  const dir = mkdtempSync('/tmp/djt-environ-');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (entries: string[]) => {
    writeFileSync(`${dir}/environ`, Buffer.from(entries.map((e) => `${e}\0`).join(''), 'latin1'));
    return `${dir}/environ`;
  };
  it('finds the exact entry anywhere, also across the reading chunks, and nothing that merely contains it', () => {
    assert.equal(environHas(write(['S=a', 'T=b']), 'S=a'), true);
    assert.equal(environHas(write(['T=b', 'S=a']), 'S=a'), true);
    assert.equal(environHas(write(['XS=a', 'S=ab']), 'S=a'), false);
    const filler = 'F=' + 'x'.repeat(64 * 1024 - 5);
    assert.equal(environHas(write([filler, 'S=a']), 'S=a'), true);
  });
  it('reads a bounded amount of a huge environment', () => {
    assert.equal(environHas(write(['F=' + 'x'.repeat(3 * 1024 * 1024), 'S=a']), 'S=a'), false);
  });
});

describe('engine: the archive keyring debootstrap checks the mirror against', () => {
  it('is fit as the host has it (debian-archive-keyring installed)', () => {
    assert.equal(keyringUnfit(ARCHIVE_KEYRING), null);
  });

  it('is refused when missing (a dangling symlink too), or not a regular file (a directory, a device)', () => {
    const dir = mkdtempSync('/tmp/djt-keyring-unit-');
    try {
      symlinkSync(`${dir}/absent.gpg`, `${dir}/dangling.gpg`);
      assert.equal(keyringUnfit(`${dir}/absent.gpg`), 'is missing');
      assert.equal(keyringUnfit(`${dir}/dangling.gpg`), 'is missing');
      assert.equal(keyringUnfit(dir), 'is not a regular file');
      assert.equal(keyringUnfit('/dev/null'), 'is not a regular file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
