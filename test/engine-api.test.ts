import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { EngineApi, EngineHttpError } from '../src/engine/api';

/** A stand-in engine on a unix socket: each test says how it answers. The real engine is used by every e2e test. */
async function fakeEngine(
  handle: (request: IncomingMessage, response: ServerResponse, body: string) => void,
): Promise<{ socket: string; server: Server; seen: string[]; close(): void }> {
  const dir = mkdtempSync('/tmp/dj-api-');
  const socket = `${dir}/engine.sock`;
  const seen: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      seen.push(`${request.method} ${request.url}`);
      handle(request, response, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    server,
    seen,
    close() {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('engine: the Engine API client', () => {
  it('sends filters and options as the engine reads them, and reads its JSON', async () => {
    const engine = await fakeEngine((_request, response, body) => {
      response.setHeader('Content-Type', 'application/json');
      response.end(body === '' ? '[{"Id":"abc"}]' : JSON.stringify({ Id: 'new', echoed: JSON.parse(body) }));
    });
    try {
      const api = new EngineApi(engine.socket, 2000);
      assert.deepEqual(await api.listContainers({ label: ['a=b', 'c=d'] }), [{ Id: 'abc' }]);
      const created = (await api.createContainer('jail-x', { Image: 'img' } as never)) as unknown as { Id: string; echoed: unknown };
      assert.deepEqual(created, { Id: 'new', echoed: { Image: 'img' } });
      await api.getContainer('abc').stop(5);
      await api.getExec('e1').resize(80, 24);
      assert.deepEqual(engine.seen, [
        `GET /containers/json?all=true&filters=${encodeURIComponent('{"label":["a=b","c=d"]}')}`,
        'POST /containers/create?name=jail-x',
        'POST /containers/abc/stop?t=5',
        'POST /exec/e1/resize?w=80&h=24',
      ]);
    } finally {
      engine.close();
    }
  });

  it("turns a refusal into an error with the status and the engine's own message", async () => {
    const engine = await fakeEngine((_request, response) => {
      response.statusCode = 409;
      response.end('{"message":"Conflict. The container name \\"/jail-x\\" is already in use"}');
    });
    try {
      await assert.rejects(new EngineApi(engine.socket, 2000).getContainer('x').start(), (error: unknown) => {
        assert.ok(error instanceof EngineHttpError);
        assert.equal(error.statusCode, 409);
        assert.match(error.json.message, /already in use/);
        return true;
      });
    } finally {
      engine.close();
    }
  });

  it('gives up on an engine that does not answer, with ETIMEDOUT', async () => {
    const engine = await fakeEngine(() => undefined); // never answers
    try {
      const started = Date.now();
      await assert.rejects(new EngineApi(engine.socket, 300).getContainer('x').inspect(), { code: 'ETIMEDOUT' });
      assert.ok(Date.now() - started < 2000);
    } finally {
      engine.close();
    }
  });

  it('hands over the upgraded connection, with the bytes the engine sent along with its 101', async () => {
    const engine = await fakeEngine(() => undefined);
    let got = '';
    engine.server.on('upgrade', (_request: IncomingMessage, socket: Socket, head: Buffer) => {
      got += String(head);
      // The first output travels in the same write as the 101, as a fast exec's does.
      socket.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nfirst bytes|');
      socket.on('data', (chunk) => {
        got += String(chunk);
        if (got.endsWith('typed')) socket.write('echo:typed');
      });
    });
    try {
      const stream = await new EngineApi(engine.socket, 2000).getExec('e1').start(true);
      const received: string[] = [];
      stream.on('data', (chunk) => received.push(String(chunk)));
      stream.write('typed');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(received.join(''), 'first bytes|echo:typed');
      assert.equal(got, '{"Detach":false,"Tty":true}typed');
      stream.destroy();
    } finally {
      engine.close();
    }
  });

  it('reports a refused exec start instead of a stream', async () => {
    const engine = await fakeEngine((_request, response) => {
      response.statusCode = 404;
      response.end('{"message":"No such exec instance: e1"}');
    });
    try {
      await assert.rejects(new EngineApi(engine.socket, 2000).getExec('e1').start(false), { statusCode: 404, message: /No such exec instance/ });
    } finally {
      engine.close();
    }
  });
});
