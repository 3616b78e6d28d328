import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { relayPipes } from '../src/session/relay';

function frame(kind: number, payload: string): Buffer {
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(Buffer.byteLength(payload), 4);
  return Buffer.concat([header, Buffer.from(payload)]);
}

/** A login's three streams as relayPipes sees them, with what reached stdout and stderr. */
function loginIo() {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  const seen = { stdout: '', stderr: '' };
  io.stdout.on('data', (chunk) => (seen.stdout += chunk));
  io.stderr.on('data', (chunk) => (seen.stderr += chunk));
  return { io: io as never, seen };
}

describe('relay of a non-tty session', () => {
  it('ends when the jail side ends, with every byte on the right stream', async () => {
    const { io, seen } = loginIo();
    const connection = new PassThrough();
    const { done } = relayPipes(connection, new PassThrough(), io);
    connection.write(frame(1, 'out'));
    connection.end(frame(2, 'err'));
    await done;
    assert.deepEqual(seen, { stdout: 'out', stderr: 'err' });
  });

  it('ends when the jail side ended and closed before the relay began (an exec with no output)', async () => {
    const { io, seen } = loginIo();
    const connection = new PassThrough();
    connection.end();
    connection.resume(); // read to the end by no one in particular, as a socket's own read-ahead does
    await new Promise((resolve) => connection.once('close', resolve));
    const { done } = relayPipes(connection, new PassThrough(), io);
    const ended = await Promise.race([done.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 1000))]);
    assert.equal(ended, true, 'the relay never ended');
    assert.deepEqual(seen, { stdout: '', stderr: '' });
  });

  it('ends, keeping what came before, when the connection is reset instead of ended', async () => {
    const { io, seen } = loginIo();
    const connection = new PassThrough();
    const { done } = relayPipes(connection, new PassThrough(), io);
    connection.write(frame(1, 'before the reset'));
    await new Promise((resolve) => setImmediate(resolve));
    connection.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    const ended = await Promise.race([done.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 1000))]);
    assert.equal(ended, true, 'the relay never ended after the reset');
    assert.equal(seen.stdout, 'before the reset');
  });
});
