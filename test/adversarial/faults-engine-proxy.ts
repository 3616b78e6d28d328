import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** What to do when a login's request matching `request` passes through the proxy. */
interface Trap {
  request: RegExp;
  /**
   * 'sent': before the request reaches the engine; 'answered': once the engine has
   * answered it (it has done the step), before the login reads the answer. Bytes
   * in that direction wait until the action's promise settles.
   */
  when: 'sent' | 'answered';
  action: () => Promise<void>;
  hit: boolean;
}

/**
 * A root-owned unix socket in front of the real engine socket that passes every
 * byte both ways unchanged, and fires a fault at an exact step of a login: the
 * moment a given API request (create, start, exec, resize...) reaches the engine,
 * or the moment the engine has answered it. `[engine] socket` points docker-jail
 * at it; the engine behind it is the real one.
 */
export class EngineProxy {
  readonly socket: string;
  /** Every request line seen, in order ("POST /containers/create?name=..."). */
  readonly requests: string[] = [];
  /** The most connections that were open through the proxy at once. */
  mostOpen = 0;
  private readonly dir: string;
  private readonly server: Server;
  private readonly clients = new Set<Socket>();
  private traps: Trap[] = [];

  private constructor(dir: string, server: Server) {
    this.dir = dir;
    this.socket = `${dir}/docker.sock`;
    this.server = server;
  }

  static async start(upstream = '/var/run/docker.sock'): Promise<EngineProxy> {
    const dir = mkdtempSync('/run/djt-faults-proxy-');
    chmodSync(dir, 0o755);
    const server = createServer({ allowHalfOpen: true });
    const proxy = new EngineProxy(dir, server);
    server.on('connection', (client) => proxy.relay(client, upstream));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(proxy.socket, () => resolve());
    });
    chmodSync(proxy.socket, 0o660);
    return proxy;
  }

  /** Fires action once, at the first request matching `request` from now on; resolves when it has fired. */
  arm(request: RegExp, when: Trap['when'], action: () => void | Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      this.traps.push({
        request,
        when,
        hit: false,
        action: async () => {
          try {
            await action();
          } finally {
            resolve();
          }
        },
      });
    });
  }

  disarm(): void {
    this.traps = [];
  }

  async stop(): Promise<void> {
    this.disarm();
    for (const client of this.clients) client.destroy();
    await new Promise((resolve) => this.server.close(resolve));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private relay(client: Socket, path: string): void {
    this.clients.add(client);
    this.mostOpen = Math.max(this.mostOpen, this.clients.size);
    const upstream = connect({ path, allowHalfOpen: true });
    // Traps waiting for the engine's answer on this connection (requests on one connection are never pipelined).
    let pending: Trap[] = [];
    client.on('data', (chunk: Buffer) => {
      const now: Trap[] = [];
      for (const match of chunk.toString('latin1').matchAll(/^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.[01]\r$/gm)) {
        const line = `${match[1]} ${match[2]}`;
        this.requests.push(line);
        for (const trap of this.traps) {
          if (trap.hit || !trap.request.test(line)) continue;
          trap.hit = true;
          (trap.when === 'sent' ? now : pending).push(trap);
        }
      }
      passAfter(now, client, () => upstream.write(chunk));
    });
    upstream.on('data', (chunk: Buffer) => {
      const now = pending;
      pending = [];
      passAfter(now, upstream, () => !client.destroyed && client.write(chunk));
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    const done = () => {
      this.clients.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done);
    upstream.on('error', done);
    client.on('close', done);
    upstream.on('close', done);
  }
}

/** Passes a chunk on at once, or, when traps fire on it, holds the source until their actions have settled. */
function passAfter(traps: Trap[], source: Socket, pass: () => unknown): void {
  if (traps.length === 0) {
    pass();
    return;
  }
  source.pause();
  void Promise.all(traps.map((trap) => trap.action())).then(() => {
    pass();
    source.resume();
  });
}
