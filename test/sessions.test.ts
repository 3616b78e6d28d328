import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { JailError } from '../src/errors';
import { processId, recordSession, type SessionRecord, sessionsOf } from '../src/session/records';

describe('session records (what close_session finds when a login was killed)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync('/tmp/djt-sessions-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const self = () => {
    const id = processId(process.pid);
    assert.ok(id !== null);
    return id;
  };
  const record = (over: Partial<SessionRecord> = {}): SessionRecord => ({
    pid: 4242,
    ancestors: [self()],
    uid: 1234,
    jailId: 'j1',
    exec: null,
    marker: 'DOCKER_JAIL_SESSION=ab',
    ...over,
  });

  it('is written before the exec (no pid yet), root-only, then updated with the exec and forgotten at the end', () => {
    const recorded = recordSession(record(), dir);
    const path = `${dir}/4242.json`;
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).exec, null);
    recorded.update({ exec: { pid: 7, start: 9 } });
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { ...record(), exec: { pid: 7, start: 9 } });
    assert.deepEqual(readdirSync(dir), ['4242.json']);
    recorded.forget();
    assert.ok(!existsSync(path));
  });

  it('refuses the session with one line naming the file when it cannot be written (a full /run, say), leaving nothing behind', () => {
    writeFileSync(`${dir}/not-a-dir`, '');
    assert.throws(
      () => recordSession(record(), `${dir}/not-a-dir`),
      (error: unknown) =>
        error instanceof JailError && /^cannot record the session in .*\/not-a-dir\/4242\.json \((ENOTDIR|EEXIST)\); refusing to start it$/.test(error.message),
    );
    assert.deepEqual(readdirSync(dir), ['not-a-dir']);
  });

  it('an update that cannot be written does not end the session: the record as first written stays', () => {
    const recorded = recordSession(record(), dir);
    const path = `${dir}/4242.json`;
    mkdirSync(`${path}.tmp.${process.pid}`); // where the update writes first: EISDIR
    assert.doesNotThrow(() => recorded.update({ exec: { pid: 7, start: 9 } }));
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), record());
  });

  it("is found by the PAM session's very process and uid; records whose PAM processes are all gone are removed", () => {
    recordSession(record(), dir);
    recordSession(record({ pid: 4243, ancestors: [{ pid: process.pid, start: self().start + 1 }] }), dir); // a pid reused since
    recordSession(record({ pid: 4244, uid: 999 }), dir);
    const found = sessionsOf(process.pid, 1234, dir);
    assert.deepEqual(
      found.map((f) => f.record.pid),
      [4242],
    );
    assert.deepEqual(readdirSync(dir).sort(), ['4242.json', '4244.json']);
  });
});
