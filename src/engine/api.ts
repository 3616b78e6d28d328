import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ContainerClient, EngineClient, EngineInfo, ExecClient, ImageClient } from './interfaces';

/**
 * The part of the Docker Engine API docker-jail uses, over the engine's unix
 * socket and nothing else (no TCP, TLS or SSH: no DOCKER_HOST to honour), with
 * node:http only. Every call docker-jail makes to the engine is in this file,
 * so it can be read in one sitting; the shapes below are the fields we read.
 */

export interface ContainerSummary {
  Id: string;
  Names: string[];
  State: string;
  ImageID: string;
  Labels: Record<string, string> | null;
}

export interface ContainerDetails {
  Id: string;
  Name: string;
  Image: string;
  State: { Running: boolean; Pid: number; StartedAt: string; Status: string };
  Config: { Image: string; Labels: Record<string, string> | null };
  ExecIDs: string[] | null;
  /** The limits and network it was made with (list, and what image update measures a jail by). */
  HostConfig?: { Memory?: number; PidsLimit?: number | null; NanoCpus?: number; NetworkMode?: string };
}

export interface ExecDetails {
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  ProcessConfig?: { user?: string; tty?: boolean; entrypoint?: string; arguments?: string[] };
}

export interface ImageSummary {
  Id: string;
}

export interface ImageDetails {
  Id: string;
}

export interface ContainerStats {
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
  memory_stats: { usage?: number };
  pids_stats?: { current?: number };
}

/** The body of POST /containers/create, as much of it as jails use. */
export interface ContainerSpec {
  Hostname: string;
  Image: string;
  User: string;
  Cmd: string[];
  WorkingDir: string;
  Env: string[];
  Labels: Record<string, string>;
  NetworkDisabled: boolean;
  HostConfig: Record<string, unknown>;
}

export interface ExecSpec {
  User: string;
  WorkingDir: string;
  Env: string[];
  Cmd: string[];
  Tty: boolean;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
}

/** Filters of the list calls: each key's values, as the engine's `filters` parameter wants them. */
export type Filters = Record<string, string[]>;

/** A refusal from the engine: its HTTP status and its message. */
export class EngineHttpError extends Error {
  readonly json: { message: string };

  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(`HTTP ${statusCode}: ${message}`);
    this.json = { message };
  }
}

/**
 * Request options every call shares. The empty server name (a TLS setting) spares
 * node's agent from working one out of the host name with its IPv6 regular
 * expression, whose first use costs about 8 ms of every login's start.
 */
const UNIX_SOCKET = { servername: '' };

type Query = Record<string, string | number | boolean | string[] | undefined>;

interface Call {
  query?: Query;
  /** A JSON body, a tar archive, or a tar stream. */
  body?: unknown;
  contentType?: string;
}

/**
 * One connection setting: the socket. A null timeout is for session streams,
 * which an idle interactive session may keep silent for hours; control calls
 * must answer within theirs, so a stopped or frozen engine never hangs a login.
 */
export class EngineApi implements EngineClient {
  private readonly agent = new Agent({ keepAlive: true });

  constructor(
    readonly socket: string,
    private readonly timeoutMs: number | null,
  ) {}

  /** Drops every connection, an unanswered request's too: nothing of ours keeps waiting on the engine. */
  close(): void {
    this.agent.destroy();
  }

  version(): Promise<{ Version: string; ApiVersion: string }> {
    return this.json('GET', '/version');
  }

  /** What doctor reads of the engine: its SecurityOptions and whether it keeps containers running across its restarts. */
  info(): Promise<EngineInfo> {
    return this.json('GET', '/info');
  }

  listContainers(filters: Filters): Promise<ContainerSummary[]> {
    return this.json('GET', '/containers/json', { query: { all: true, filters: JSON.stringify(filters) } });
  }

  createContainer(name: string, spec: ContainerSpec): Promise<{ Id: string }> {
    return this.json('POST', '/containers/create', { query: { name }, body: spec });
  }

  getContainer(id: string): ContainerClient {
    const path = `/containers/${encodeURIComponent(id)}`;
    return {
      inspect: (): Promise<ContainerDetails> => this.json('GET', `${path}/json`),
      start: (): Promise<void> => this.json('POST', `${path}/start`),
      stop: (seconds: number): Promise<void> => this.json('POST', `${path}/stop`, { query: { t: seconds } }),
      remove: (): Promise<void> => this.json('DELETE', path, { query: { force: true } }),
      putArchive: (archive: Buffer, at: string): Promise<void> =>
        this.json('PUT', `${path}/archive`, { query: { path: at }, body: archive, contentType: 'application/x-tar' }),
      stats: (): Promise<ContainerStats> => this.json('GET', `${path}/stats`, { query: { stream: false } }),
      exec: (spec: ExecSpec): Promise<{ Id: string }> => this.json('POST', `${path}/exec`, { body: spec }),
    };
  }

  getExec(id: string): ExecClient {
    const path = `/exec/${encodeURIComponent(id)}`;
    return {
      inspect: (): Promise<ExecDetails> => this.json('GET', `${path}/json`),
      resize: (columns: number, rows: number): Promise<void> => this.json('POST', `${path}/resize`, { query: { w: columns, h: rows } }),
      /** The exec's stdin and output on the connection itself, which the engine hands over (HTTP upgrade). */
      start: (tty: boolean): Promise<Socket> => this.upgrade(`${path}/start`, { Detach: false, Tty: tty }),
    };
  }

  getImage(name: string): ImageClient {
    // Image names hold slashes and a colon, which the engine's routes take as they are.
    const path = `/images/${name}`;
    return {
      inspect: (): Promise<ImageDetails> => this.json('GET', `${path}/json`),
      remove: (): Promise<unknown> => this.json('DELETE', path),
    };
  }

  listImages(filters: Filters): Promise<ImageSummary[]> {
    return this.json('GET', '/images/json', { query: { filters: JSON.stringify(filters) } });
  }

  /** `docker import`: the tar stream becomes repo:tag; resolves to the engine's progress messages, one JSON object a line. */
  async importImage(tar: Readable, query: { repo: string; tag: string; changes: string[] }): Promise<IncomingMessage> {
    const response = await this.send('POST', '/images/create', { query: { fromSrc: '-', ...query }, body: tar, contentType: 'application/x-tar' });
    if (response.statusCode !== 200) throw await refusal(response);
    return response;
  }

  private async json<T>(method: string, path: string, call: Call = {}): Promise<T> {
    const response = await this.send(method, path, call);
    if ((response.statusCode ?? 500) >= 300) throw await refusal(response);
    const text = await readAll(response);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  private send(method: string, path: string, call: Call): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const { body, headers } = encodeBody(call);
      const request = httpRequest({ ...UNIX_SOCKET, socketPath: this.socket, agent: this.agent, method, path: withQuery(path, call.query), headers });
      this.limit(request, reject);
      request.on('response', resolve);
      request.on('error', reject);
      if (body !== null && typeof body === 'object' && 'pipe' in body) (body as Readable).pipe(request);
      else request.end(body);
    });
  }

  /** POST that the engine answers with 101 and then the raw stream; anything else is its refusal. */
  private upgrade(path: string, json: unknown): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify(json);
      const request = httpRequest({
        ...UNIX_SOCKET,
        socketPath: this.socket,
        agent: false,
        method: 'POST',
        path,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'Upgrade', Upgrade: 'tcp' },
      });
      this.limit(request, reject);
      request.on('upgrade', (_response, socket: Socket, head: Buffer) => {
        request.setTimeout(0);
        socket.setTimeout(0);
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      request.on('response', (response: IncomingMessage) => void refusal(response).then(reject, reject));
      request.on('error', reject);
      request.end(body);
    });
  }

  private limit(request: ReturnType<typeof httpRequest>, reject: (error: Error) => void): void {
    if (this.timeoutMs === null) return;
    request.setTimeout(this.timeoutMs, () => {
      const error = Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' });
      request.destroy(error);
      reject(error);
    });
  }
}

function withQuery(path: string, query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) params.append(key, String(one));
  }
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

function encodeBody(call: Call): { body: string | Buffer | Readable | undefined; headers: Record<string, string | number> } {
  if (call.body === undefined) return { body: undefined, headers: {} };
  if (Buffer.isBuffer(call.body))
    return { body: call.body, headers: { 'Content-Type': call.contentType ?? 'application/octet-stream', 'Content-Length': call.body.length } };
  if (typeof call.body === 'object' && call.body !== null && 'pipe' in call.body) {
    return { body: call.body as Readable, headers: { 'Content-Type': call.contentType ?? 'application/octet-stream', 'Transfer-Encoding': 'chunked' } };
  }
  const text = JSON.stringify(call.body);
  return { body: text, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } };
}

async function readAll(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The engine's error body is {"message": "..."}; anything else is quoted as it came. */
async function refusal(response: IncomingMessage): Promise<EngineHttpError> {
  const text = await readAll(response).catch(() => '');
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: keep the text
  }
  return new EngineHttpError(response.statusCode ?? 0, message === '' ? (response.statusMessage ?? 'no message') : message);
}
