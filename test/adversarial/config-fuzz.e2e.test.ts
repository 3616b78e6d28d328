// The configuration loader (src/config) on real files, as root, under
// property-based fuzzing with fast-check: its ownership, mode and symlink
// refusals for any mode and owner. The parser's fuzzing is in
// config-fuzz.test.ts.
//
// A failure prints fast-check's seed and path: pass them to fc.assert as
// { seed, path } to replay the exact counterexample.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { loadConfig, nodeFs } from '../../src/config/load';
import { MAX_CONFIG_CHARS, MAX_VALUE_CHARS } from '../../src/config/parse';
import { ExitCode, JailError } from '../../src/errors';

describe('adversarial: config loader on real files', function () {
  this.timeout(30000);
  const GOOD_TEXT = '[jail]\nmode = shared\nname_template = shared\n';
  let dir = '';

  before(function () {
    // A missing prerequisite fails here rather than skipping: ownership checks need a real root.
    assert.equal(process.getuid?.(), 0, 'the @root tests must run as root');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-jail-config-fuzz-'));
    fs.chmodSync(dir, 0o755);
    const tmp = fs.lstatSync(os.tmpdir());
    assert.ok(tmp.uid === 0 && (tmp.mode & 0o1000) !== 0, `${os.tmpdir()} must be root-owned and sticky for these tests`);
  });

  after(() => {
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh sub-directory of `dir`, root-owned 0755. */
  let counter = 0;
  function freshDir(): string {
    const sub = path.join(dir, `case-${counter++}`);
    fs.mkdirSync(sub, { mode: 0o755 });
    fs.chmodSync(sub, 0o755);
    return sub;
  }

  function refusedWith(run: () => unknown, message: string): void {
    assert.throws(run, (error: unknown) => {
      assert.ok(error instanceof JailError, `not a JailError: ${String(error)}`);
      assert.equal(error.exitCode, ExitCode.config);
      assert.equal(error.message, message);
      return true;
    });
  }

  it('accepts a file exactly when it is root-owned and writable by no one else, for any mode and owner', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0o7777 }), fc.constantFrom(0, 1, 1000, 65534), fc.constantFrom(0, 1000), (mode, uid, gid) => {
        const file = path.join(freshDir(), 'docker-jail.ini');
        fs.writeFileSync(file, GOOD_TEXT);
        fs.chownSync(file, uid, gid); // before chmod: chown clears setuid and setgid bits
        fs.chmodSync(file, mode);
        const shown = (mode & 0o7777).toString(8).padStart(4, '0');
        if (uid !== 0) refusedWith(() => loadConfig(file), `${file}: refused: owned by uid ${uid}, not root; run: chown root ${file}`);
        else if ((mode & 0o022) !== 0)
          refusedWith(() => loadConfig(file), `${file}: refused: writable by group or others (mode ${shown}); run: chmod go-w ${file}`);
        else assert.equal(loadConfig(file).jail.nameTemplate, 'shared', `mode ${shown} gid ${gid}`);
      }),
      { numRuns: 150 },
    );
  });

  it('checks its directory and the directories above for any mode and owner (a sticky bit suffices only above)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0o7777 }), fc.constantFrom(0, 1000), fc.boolean(), (mode, uid, parent) => {
        const top = freshDir();
        const inner = path.join(top, 'conf');
        fs.mkdirSync(inner);
        const file = path.join(inner, 'docker-jail.ini');
        fs.writeFileSync(file, GOOD_TEXT, { mode: 0o644 });
        const tested = parent ? inner : top;
        fs.chownSync(tested, uid, 0);
        fs.chmodSync(tested, mode);
        fs.chmodSync(parent ? top : inner, 0o755);
        const shown = (mode & 0o7777).toString(8).padStart(4, '0');
        const what = parent ? `its directory ${tested}` : `${tested}, a directory above it,`;
        const sticky = (mode & 0o1000) !== 0;
        if (uid !== 0) refusedWith(() => loadConfig(file), `${file}: refused: ${what} is owned by uid ${uid}, not root; run: chown root ${tested}`);
        else if ((mode & 0o022) !== 0 && (parent || !sticky)) {
          refusedWith(() => loadConfig(file), `${file}: refused: ${what} is writable by group or others (mode ${shown}); run: chmod go-w ${tested}`);
        } else assert.equal(loadConfig(file).source, file, `mode ${shown}`);
      }),
      { numRuns: 120 },
    );
  });

  it('refuses a symlink at the config path whatever it points to, never falling back to the defaults, never reading through it', () => {
    const targets = ['good', 'dangling', 'self', 'directory', '/dev/null', '/etc/hostname', 'relative', 'user-owned'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...targets), fc.constantFrom(0, 1000), (target, linkOwner) => {
        const sub = freshDir();
        const file = path.join(sub, 'docker-jail.ini');
        const real = path.join(sub, 'real.ini');
        fs.writeFileSync(real, GOOD_TEXT, { mode: 0o644 });
        const pointsTo = {
          good: real,
          dangling: path.join(sub, 'missing.ini'),
          self: file,
          directory: sub,
          '/dev/null': '/dev/null',
          '/etc/hostname': '/etc/hostname',
          relative: 'real.ini',
          'user-owned': real,
        }[target];
        if (target === 'user-owned') fs.chownSync(real, 1000, 1000);
        fs.symlinkSync(pointsTo, file);
        fs.lchownSync(file, linkOwner, linkOwner);
        refusedWith(() => loadConfig(file), `${file}: refused: is a symbolic link; make it a regular file owned by root`);
        assert.throws(() => nodeFs.readFile(file), { code: 'ELOOP' });
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a path through a symlinked directory, at its directory or above', () => {
    const sub = freshDir();
    const real = path.join(sub, 'real');
    fs.mkdirSync(path.join(real, 'deeper'), { recursive: true });
    fs.writeFileSync(path.join(real, 'docker-jail.ini'), GOOD_TEXT, { mode: 0o644 });
    fs.writeFileSync(path.join(real, 'deeper', 'docker-jail.ini'), GOOD_TEXT, { mode: 0o644 });
    const link = path.join(sub, 'link');
    fs.symlinkSync(real, link);
    assert.equal(loadConfig(path.join(real, 'deeper', 'docker-jail.ini')).jail.mode, 'shared', 'control: the real path loads');
    refusedWith(
      () => loadConfig(path.join(link, 'docker-jail.ini')),
      `${link}/docker-jail.ini: refused: its directory ${link} is a symbolic link; give the real path`,
    );
    refusedWith(
      () => loadConfig(path.join(link, 'deeper', 'docker-jail.ini')),
      `${link}/deeper/docker-jail.ini: refused: ${link}, a directory above it, is a symbolic link; give the real path`,
    );
  });

  it('refuses an other-writable file, and a non-root file even when no one else may write it', () => {
    const file = path.join(freshDir(), 'docker-jail.ini');
    fs.writeFileSync(file, GOOD_TEXT);
    fs.chmodSync(file, 0o602);
    refusedWith(() => loadConfig(file), `${file}: refused: writable by group or others (mode 0602); run: chmod go-w ${file}`);
    fs.chmodSync(file, 0o400);
    fs.chownSync(file, 65534, 0);
    refusedWith(() => loadConfig(file), `${file}: refused: owned by uid 65534, not root; run: chown root ${file}`);
  });

  it('refuses a socket or a device at the config path', async () => {
    const sub = freshDir();
    const file = path.join(sub, 'docker-jail.ini');
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, resolve);
    });
    try {
      refusedWith(() => loadConfig(file), `${file}: refused: is not a regular file`);
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
      });
    }
    fs.rmSync(file, { force: true });
    // /dev/null's own node, made here: a char device reads as empty, which must not mean "defaults".
    execFileSync('mknod', ['-m', '0644', file, 'c', '1', '3']);
    assert.ok(fs.lstatSync(file).isCharacterDevice(), 'control: mknod made a device');
    refusedWith(() => loadConfig(file), `${file}: refused: is not a regular file`);
  });

  it('refuses a 1 MB line in a real file at its line, naming the file', () => {
    const file = path.join(freshDir(), 'docker-jail.ini');
    const head = '[jail]\nmode = ';
    const bytes = MAX_CONFIG_CHARS - head.length - 1;
    fs.writeFileSync(file, `${head}${'x'.repeat(bytes)}\n`, { mode: 0o644 });
    refusedWith(() => loadConfig(file), `${file}:2: [jail] mode: the value is too long (${bytes} characters, at most ${MAX_VALUE_CHARS})`);
  });
});
