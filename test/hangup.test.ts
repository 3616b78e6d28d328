import assert from 'node:assert/strict';
import type { JailProcess } from '../src/host/procfs';
import { hangupTargets, leftoverTargets } from '../src/session/hangup';

/**
 * The choice of whom a hangup and kill_on_logout reach, on made-up process
 * tables: the end-to-end suites (disconnect, agent-sessions, host-doors) prove
 * the signals arrive; these pin down who is chosen.
 */
const ALICE = 1001;
const BOB = 1002;
const NOBODY = 65534;
const proc = (pid: number, ppid: number, uid: number, marked = false): JailProcess => ({ pid, ppid, uid, marked });

// The session's shell 10 started 11 (and 11 started 12); 20 was double-forked away (reparented to the jail's
// init, 1) but keeps the mark; 30 was double-forked and dropped the mark; 40 is another session's shell of
// Alice's; 50 is Bob's (shared jail) and carries a look-alike mark; 60 is the jail's own placeholder.
const table = [
  proc(10, 0, ALICE),
  proc(11, 10, ALICE),
  proc(12, 11, ALICE),
  proc(20, 1, ALICE, true),
  proc(21, 20, ALICE),
  proc(30, 1, ALICE),
  proc(40, 0, ALICE),
  proc(50, 0, BOB, true),
  proc(60, 0, NOBODY),
];
const sorted = (pids: number[]) => [...pids].sort((a, b) => a - b);

describe('the hangup and kill_on_logout choice', () => {
  it('hangs up the session process, everything it started and whatever carries the mark, with what that started', () => {
    assert.deepEqual(sorted(hangupTargets(table, ALICE, 10)), [10, 11, 12, 20, 21]);
  });

  it('finds the session by its mark alone when its process is not known (killed before it learnt the exec pid)', () => {
    assert.deepEqual(sorted(hangupTargets(table, ALICE, null)), [20, 21]);
  });

  it('never reaches another user, even one carrying the mark, nor the jail itself', () => {
    assert.deepEqual(sorted(hangupTargets(table, BOB, 10)), [50]);
    assert.deepEqual(hangupTargets(table, NOBODY, 10), []);
  });

  it("ignores a root pid that is not the user's process in this jail (gone, or reused)", () => {
    assert.deepEqual(sorted(hangupTargets(table, ALICE, 50)), [20, 21]);
    assert.deepEqual(sorted(hangupTargets(table, ALICE, 999)), [20, 21]);
  });

  it('kills, while other sessions run, only what carries the mark: their shells and an unmarked job are left', () => {
    assert.deepEqual(sorted(leftoverTargets(table, ALICE, false)), [20, 21]);
  });

  it('kills every process of the user after their last session, a double fork that dropped the mark too', () => {
    assert.deepEqual(sorted(leftoverTargets(table, ALICE, true)), [10, 11, 12, 20, 21, 30, 40]);
  });

  it("leaves other users' processes and the jail's own after anyone's last session", () => {
    assert.ok(!leftoverTargets(table, ALICE, true).some((pid) => pid === 50 || pid === 60));
    assert.deepEqual(leftoverTargets(table, BOB, true), [50]);
  });
});
