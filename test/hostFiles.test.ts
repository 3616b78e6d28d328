import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keepHostFile } from './support/hostFiles';

/** What ./build.sh runs before anything reads the host files a killed test run left changed. */
function restoreLeftovers(journal: string) {
  return spawnSync('tools/restore-host-files.sh', [], { encoding: 'utf8', env: { ...process.env, DJT_HOST_FILES_JOURNAL: journal } });
}

describe('host files a test changes are put back, by the test or, when its run was killed, by the next ./build.sh', () => {
  let dir: string;
  let journal: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync('/tmp/djt-host-files-');
    journal = join(dir, 'journal');
    file = join(dir, 'docker-jail.ini');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a run killed after changing a file: its bytes and mode come back, and the journal is empty', () => {
    writeFileSync(file, "# the administrator's\n");
    chmodSync(file, 0o640);
    keepHostFile(file, journal);
    writeFileSync(file, '[engine]\nsocket = /run/djt-faults-proxy-dead/docker.sock\n');
    chmodSync(file, 0o644);
    // (the run dies here)
    const result = restoreLeftovers(journal);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`putting back ${file}, which an interrupted test run left changed`));
    assert.equal(readFileSync(file, 'utf8'), "# the administrator's\n");
    assert.equal(statSync(file).mode & 0o7777, 0o640);
    assert.deepEqual(readdirSync(journal), []);
  });

  it('a file the killed run created is removed; a nested keep leaves the first state to put back', () => {
    keepHostFile(file, journal);
    writeFileSync(file, 'outer');
    keepHostFile(file, journal);
    writeFileSync(file, 'inner');
    assert.equal(restoreLeftovers(journal).status, 0);
    assert.equal(existsSync(file), false);
  });

  it('a keep inside another puts back what it found, with owner and mode, and leaves the journal to the outer one', () => {
    writeFileSync(file, 'first');
    const putBackOuter = keepHostFile(file, journal);
    writeFileSync(file, 'block');
    chmodSync(file, 0o600);
    const putBackInner = keepHostFile(file, journal);
    writeFileSync(file, 'test');
    chmodSync(file, 0o644);
    putBackInner();
    assert.equal(readFileSync(file, 'utf8'), 'block');
    assert.equal(statSync(file).mode & 0o7777, 0o600);
    assert.equal(readdirSync(journal).length, 1, 'the outer keeping is still journaled');
    putBackOuter();
    assert.equal(readFileSync(file, 'utf8'), 'first');
    assert.deepEqual(readdirSync(journal), []);
  });

  it('a test that puts its file back leaves nothing for the next run to do', () => {
    writeFileSync(file, 'before');
    const putBack = keepHostFile(file, journal);
    writeFileSync(file, 'during');
    putBack();
    assert.equal(readFileSync(file, 'utf8'), 'before');
    writeFileSync(file, 'changed later, by hand');
    const result = restoreLeftovers(journal);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.equal(readFileSync(file, 'utf8'), 'changed later, by hand');
  });

  it('a record cut short by the kill (a draft) is dropped, not acted on; no journal at all is nothing to do', () => {
    mkdirSync(join(journal, '.draft-x'), { recursive: true });
    writeFileSync(join(journal, '.draft-x', 'path'), file);
    writeFileSync(file, 'kept');
    assert.equal(restoreLeftovers(journal).status, 0);
    assert.equal(readFileSync(file, 'utf8'), 'kept');
    assert.deepEqual(readdirSync(journal), []);
    assert.equal(restoreLeftovers(join(dir, 'none')).status, 0);
  });
});
