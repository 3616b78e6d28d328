import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { lockHeld, withHostLock } from '../src/host/locks';

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
    await assert.rejects(
      withHostLock(`${dir}/a`, async () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await withHostLock(`${dir}/a`, async () => 'free again'), 'free again');
  });

  it('is free again as soon as its holder dies, whatever it was doing', async () => {
    // A holder killed mid-way: flock(1) and its child hold the lock on the file until they die.
    const holder = spawn('/usr/bin/flock', ['--exclusive', `${dir}/b`, 'sleep', '30'], { detached: true, stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const waiting = withHostLock(`${dir}/b`, async () => Date.now());
    await new Promise((resolve) => setTimeout(resolve, 300));
    const killed = Date.now();
    process.kill(-holder.pid!, 'SIGKILL');
    const acquired = await waiting;
    assert.ok(acquired >= killed, 'the lock was taken while its holder lived');
    assert.ok(acquired - killed < 2000);
  });

  it('tells, without taking it, whether a holder has it: marked from the moment it is taken until it is let go, failures included', async () => {
    const path = `${dir}/c`;
    assert.equal(lockHeld(path), false, 'a lock never taken');
    await withHostLock(path, async () => {
      assert.equal(lockHeld(path), true);
      assert.equal(lockHeld(`${dir}/a`), false, 'another lock');
    });
    assert.equal(lockHeld(path), false);
    await assert.rejects(
      withHostLock(path, async () => {
        assert.equal(lockHeld(path), true);
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(lockHeld(path), false, 'a failed holder left its mark');
  });
});
