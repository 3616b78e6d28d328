// The configuration loader (src/config) on real files, as root: the
// ownership, mode, symlink and encoding rules on a real kernel. The same
// rules against a fake file system are in config.test.ts.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultConfig, loadConfig, nodeFs } from '../src/config/load';
import { GOOD_TEXT, rejects } from './support/configRefusals';

const SHIPPED = path.join(__dirname, '..', 'etc', 'docker-jail.ini'); // the short conffile
const EXAMPLE = path.join(__dirname, '..', 'etc', 'examples', 'docker-jail.ini');

describe('config: a real file', () => {
  let dir = '';
  let file = '';

  before(function () {
    // A missing prerequisite fails here rather than skipping: these tests prove SECURITY.md, invariant 7 on a real kernel.
    assert.equal(process.getuid?.(), 0, 'the @root tests must run as root');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-jail-config-'));
    fs.chmodSync(dir, 0o755);
    file = path.join(dir, 'docker-jail.ini');
  });

  beforeEach(() => {
    fs.rmSync(file, { force: true });
    fs.chmodSync(dir, 0o755);
    fs.chownSync(dir, 0, 0);
  });

  after(() => {
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  function write(text: string, mode = 0o644): void {
    fs.writeFileSync(file, text, { mode });
    fs.chmodSync(file, mode); // the umask may have cleared bits
  }

  it('loads a root-owned 0644 file below the sticky /tmp', () => {
    write(GOOD_TEXT);
    const config = loadConfig(file);
    assert.equal(config.source, file);
    assert.equal(config.jail.mode, 'shared');
  });

  it('loads the shipped file, and the full example, to the defaults', () => {
    for (const shipped of [SHIPPED, EXAMPLE]) {
      write(fs.readFileSync(shipped, 'utf8'));
      assert.deepStrictEqual(loadConfig(file), { ...defaultConfig, source: file }, shipped);
    }
  });

  it('gives the defaults when there is no file', () => {
    assert.equal(loadConfig(file), defaultConfig);
  });

  it('refuses a group-writable file', () => {
    write(GOOD_TEXT, 0o664);
    rejects(() => loadConfig(file), `${file}: refused: writable by group or others (mode 0664); run: chmod go-w ${file}`);
  });

  it('refuses a file owned by uid 1000', () => {
    write(GOOD_TEXT);
    fs.chownSync(file, 1000, 1000);
    rejects(() => loadConfig(file), `${file}: refused: owned by uid 1000, not root; run: chown root ${file}`);
  });

  it('refuses a symlink to a good file', () => {
    const target = path.join(dir, 'real.ini');
    fs.writeFileSync(target, GOOD_TEXT, { mode: 0o644 });
    fs.symlinkSync(target, file);
    try {
      rejects(() => loadConfig(file), `${file}: refused: is a symbolic link; make it a regular file owned by root`);
      assert.throws(() => nodeFs.readFile(file), { code: 'ELOOP' });
    } finally {
      fs.rmSync(target);
    }
  });

  it('refuses a FIFO without blocking', () => {
    fs.rmSync(file, { force: true });
    execFileSync('mkfifo', ['-m', '0644', file]);
    rejects(() => loadConfig(file), `${file}: refused: is not a regular file`);
    assert.throws(() => nodeFs.readFile(file), /not a regular file/);
  });

  it('refuses a group-writable directory', () => {
    write(GOOD_TEXT);
    fs.chmodSync(dir, 0o775);
    rejects(() => loadConfig(file), `${file}: refused: its directory ${dir} is writable by group or others (mode 0775); run: chmod go-w ${dir}`);
  });

  it('refuses a file that is not UTF-8', () => {
    fs.writeFileSync(file, Buffer.from([0x5b, 0x6a, 0xff, 0x5d]), { mode: 0o644 });
    rejects(() => loadConfig(file), `${file}: cannot read: not valid UTF-8 text`);
  });

  it('accepts a byte order mark and CRLF line ends', () => {
    write(`\uFEFF${GOOD_TEXT.replace(/\n/g, '\r\n')}`);
    assert.equal(loadConfig(file).jail.nameTemplate, 'shared');
  });
});
