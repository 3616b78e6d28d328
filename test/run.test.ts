import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { run, runForStatus } from '../src/host/run';

describe('host run: the one runner of helper programs', () => {
  const dir = mkdtempSync(`${tmpdir()}/djt-run-`);
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a program not named by an absolute path, before running anything', () => {
    assert.throws(() => run('sh', ['-c', 'true'], { failure: 'sh failed', timeout: 1000 }), {
      name: 'JailError',
      message: 'refusing to run sh: not an absolute path',
    });
    assert.throws(() => runForStatus('./sh', [], { timeout: 1000 }), { name: 'JailError', message: 'refusing to run ./sh: not an absolute path' });
  });

  it('refuses to run without a time limit', () => {
    assert.throws(() => run('/bin/true', [], { failure: 'true failed', timeout: 0 }), {
      name: 'JailError',
      message: 'refusing to run /bin/true without a time limit',
    });
  });

  it('gives the program an empty environment unless one is given, and exactly that one', () => {
    assert.equal(run('/usr/bin/env', [], { failure: 'env failed', stdout: 'pipe', timeout: 5000 }), '');
    assert.equal(run('/usr/bin/env', [], { failure: 'env failed', stdout: 'pipe', env: { A: 'b' }, timeout: 5000 }), 'A=b\n');
  });

  it('gives it /dev/null as stdin, and its stdout only when asked for', () => {
    assert.equal(run('/bin/sh', ['-c', 'cat; echo out'], { failure: 'sh failed', stdout: 'pipe', timeout: 5000 }), 'out\n');
    assert.equal(run('/bin/sh', ['-c', 'echo out'], { failure: 'sh failed', timeout: 5000 }), '');
  });

  it("throws one line: the caller's sentence and the first line of stderr", () => {
    assert.throws(() => run('/bin/sh', ['-c', 'echo "  first" >&2; echo second >&2; exit 3'], { failure: 'the step failed', timeout: 5000 }), {
      name: 'JailError',
      message: 'the step failed: first',
    });
    assert.throws(() => run('/bin/sh', ['-c', 'exit 1'], { failure: 'the step failed', timeout: 5000 }), { message: 'the step failed: ' });
  });

  it('throws the reason a program could not be started', () => {
    assert.throws(() => run(`${dir}/none`, [], { failure: 'none failed', timeout: 5000 }), {
      name: 'JailError',
      message: `none failed: spawnSync ${dir}/none ENOENT`,
    });
  });

  it('kills a program that outlives its time limit, and says so', () => {
    const started = Date.now();
    assert.throws(() => run('/bin/sleep', ['10'], { failure: 'sleep failed', timeout: 200, killSignal: 'SIGKILL' }), {
      message: 'sleep failed: spawnSync /bin/sleep ETIMEDOUT',
    });
    assert.ok(Date.now() - started < 5000, 'the program was not killed at its time limit');
    const outcome = runForStatus('/bin/sleep', ['10'], { timeout: 200 });
    assert.equal(outcome.status, null);
    assert.equal(outcome.error?.code, 'ETIMEDOUT');
  });

  it('passes descriptors as fds 3, 4, ...', () => {
    const fd = openSync(`${dir}/fd3`, 'w');
    try {
      run('/bin/sh', ['-c', 'echo through-3 >&3'], { failure: 'sh failed', fds: [fd], timeout: 5000 });
    } finally {
      closeSync(fd);
    }
    assert.equal(readFileSync(`${dir}/fd3`, 'utf8'), 'through-3\n');
  });

  it('tells a caller who judges for itself how the program ended, without throwing', () => {
    const outcome = runForStatus('/bin/sh', ['-c', 'echo out; echo err >&2; exit 2'], { stdout: 'pipe', stderr: 'pipe', timeout: 5000 });
    assert.deepEqual([outcome.status, outcome.stdout, outcome.stderr, outcome.error], [2, 'out\n', 'err\n', undefined]);
    assert.equal(runForStatus('/bin/sh', ['-c', 'echo err >&2'], { timeout: 5000 }).stderr, '', 'stderr was not sent to /dev/null');
  });

  it("keeps spawnSync's 1 MiB output limit unless given another", () => {
    const big = ['-c', 'head -c 2000000 /dev/zero'];
    assert.equal(runForStatus('/bin/sh', big, { stdout: 'pipe', timeout: 5000 }).error?.code, 'ENOBUFS');
    assert.equal(runForStatus('/bin/sh', big, { stdout: 'pipe', maxBuffer: Number.POSITIVE_INFINITY, timeout: 5000 }).stdout.length, 2000000);
  });
});
