import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { addToTally, readStateFile, tallyOf, writeStateFile } from '../src/host/stateFiles';

describe("host state files: root's own files, replaced whole and never through a link", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(`${tmpdir()}/djt-state-`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the file whole, 0600 unless told, and leaves nothing beside it', () => {
    writeStateFile(`${dir}/a`, 'one');
    assert.equal(readFileSync(`${dir}/a`, 'utf8'), 'one');
    assert.equal(statSync(`${dir}/a`).mode & 0o777, 0o600);
    writeStateFile(`${dir}/a`, 'two', { mode: 0o644, sync: false });
    assert.equal(readFileSync(`${dir}/a`, 'utf8'), 'two');
    assert.equal(statSync(`${dir}/a`).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(dir), ['a']);
  });

  it('sets a mode given whatever the umask (a file others must read)', () => {
    const umask = process.umask(0o077);
    try {
      writeStateFile(`${dir}/a`, 'shared', { mode: 0o644 });
    } finally {
      process.umask(umask);
    }
    assert.equal(statSync(`${dir}/a`).mode & 0o777, 0o644);
  });

  it('replaces the file by a rename: a reader holding the old one still reads it whole', () => {
    writeStateFile(`${dir}/a`, 'old');
    const before = statSync(`${dir}/a`).ino;
    writeStateFile(`${dir}/a`, 'new');
    assert.notEqual(statSync(`${dir}/a`).ino, before);
  });

  it('replaces a symbolic link at the path instead of writing through it', () => {
    writeFileSync(`${dir}/target`, 'untouched');
    symlinkSync(`${dir}/target`, `${dir}/a`);
    writeStateFile(`${dir}/a`, 'state');
    assert.equal(readFileSync(`${dir}/target`, 'utf8'), 'untouched');
    assert.ok(lstatSync(`${dir}/a`).isFile());
    assert.equal(readFileSync(`${dir}/a`, 'utf8'), 'state');
  });

  it('never writes through a link left at its temp name: the link goes, its target stays', () => {
    writeFileSync(`${dir}/target`, 'untouched');
    symlinkSync(`${dir}/target`, `${dir}/a.tmp.${process.pid}`);
    writeStateFile(`${dir}/a`, 'state');
    assert.equal(readFileSync(`${dir}/target`, 'utf8'), 'untouched');
    assert.equal(readFileSync(`${dir}/a`, 'utf8'), 'state');
    assert.deepEqual(readdirSync(dir).sort(), ['a', 'target']);
  });

  it("throws the file system's error when it cannot write, leaving the old file as it was", () => {
    writeStateFile(`${dir}/a`, 'old');
    mkdirSync(`${dir}/a.tmp.${process.pid}`); // cannot be cleared away
    assert.throws(
      () => writeStateFile(`${dir}/a`, 'new'),
      (error: NodeJS.ErrnoException) => error.code !== undefined,
    );
    assert.equal(readFileSync(`${dir}/a`, 'utf8'), 'old');
    assert.throws(() => writeStateFile(`${dir}/none/a`, 'new'), { code: 'ENOENT' });
  });

  it('reads without following a symbolic link', () => {
    writeFileSync(`${dir}/target`, 'secret');
    symlinkSync(`${dir}/target`, `${dir}/a`);
    assert.throws(() => readStateFile(`${dir}/a`), { code: 'ELOOP' });
    assert.equal(readlinkSync(`${dir}/a`), `${dir}/target`);
  });

  it('reads what it wrote, and says ENOENT when there is nothing', () => {
    writeStateFile(`${dir}/a`, 'héllo\n');
    assert.equal(readStateFile(`${dir}/a`), 'héllo\n');
    const large = 'é'.repeat(300_000); // several read chunks, and more bytes than characters
    writeStateFile(`${dir}/b`, large);
    assert.equal(readStateFile(`${dir}/b`), large);
    assert.throws(() => readStateFile(`${dir}/none`), { code: 'ENOENT' });
  });

  it('refuses what is not a regular file (a FIFO is not waited on) and what is larger than asked', () => {
    execFileSync('/usr/bin/mkfifo', [`${dir}/fifo`]);
    assert.throws(() => readStateFile(`${dir}/fifo`), /not a regular file/);
    assert.throws(() => readStateFile(dir), /not a regular file/);
    writeFileSync(`${dir}/big`, 'x'.repeat(200_000));
    assert.equal(readStateFile(`${dir}/big`).length, 200_000);
    assert.throws(() => readStateFile(`${dir}/big`, 100_000), /larger than 100000 bytes/);
  });

  it('counts a tally by its size: one byte appended per event, its directory made 0700 on first use', () => {
    const tally = `${dir}/counters/logins`;
    assert.equal(tallyOf(tally), 0);
    for (let i = 0; i < 3; i++) addToTally(tally);
    assert.equal(tallyOf(tally), 3);
    assert.equal(statSync(`${dir}/counters`).mode & 0o777, 0o700);
    assert.equal(statSync(tally).mode & 0o777, 0o600);
  });

  it('never appends through a link nor waits on a FIFO, and refuses to count either', () => {
    writeFileSync(`${dir}/target`, 'untouched');
    symlinkSync(`${dir}/target`, `${dir}/linked`);
    assert.throws(() => addToTally(`${dir}/linked`), { code: 'ELOOP' });
    assert.equal(readFileSync(`${dir}/target`, 'utf8'), 'untouched');
    assert.throws(() => tallyOf(`${dir}/linked`), /not a regular file/);
    execFileSync('/usr/bin/mkfifo', [`${dir}/fifo`]);
    assert.throws(() => addToTally(`${dir}/fifo`), { code: 'ENXIO' });
    assert.throws(() => tallyOf(`${dir}/fifo`), /not a regular file/);
  });
});
