import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { withHostLock } from '../src/engine/hostLock';

describe('host lock: logins preparing the same jail take turns', () => {
  const dir = mkdtempSync('/tmp/djt-lock-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lets one holder in at a time and frees the lock afterwards, even when fn throws', async () => {
    let inside = 0;
    let most = 0;
    const work = async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((resolve) => setTimeout(resolve, 15));
      inside--;
    };
    await Promise.all(Array.from({ length: 8 }, () => withHostLock(`${dir}/a`, work)));
    assert.equal(most, 1);
    await assert.rejects(withHostLock(`${dir}/a`, async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(existsSync(`${dir}/a`), false);
  });

  it('takes over a lock whose holder has died', async () => {
    const dead = spawnSync('/bin/true').pid;
    writeFileSync(`${dir}/b`, String(dead));
    assert.equal(await withHostLock(`${dir}/b`, async () => 'got it'), 'got it');
  });
});
