import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ContainerDetails, ContainerSpec, ContainerStats, ContainerSummary, ExecDetails, ExecSpec, Filters, ImageDetails, ImageSummary } from './api';

/**
 * The Engine API as the rest of docker-jail sees it: the client, then a
 * container, an exec and an image. EngineApi (api.ts) is the one over the
 * engine's socket; unit tests give the domain an in-memory one
 * (test/fakes/engine.ts). A refusal rejects with the engine's HTTP status in
 * `statusCode` (404: no such thing, 409: the name is taken, 304: already so).
 */
/** What doctor reads of GET /info. */
export interface EngineInfo {
  /** `name=seccomp,profile=default`, `name=apparmor`, ... */
  SecurityOptions: string[] | null;
  /** daemon.json's live-restore: containers keep running while dockerd restarts. */
  LiveRestoreEnabled?: boolean;
  /** Whether the engine can enforce a memory, pids or CPU limit (the kernel's cgroup controllers): it drops one it cannot, with a warning only. */
  MemoryLimit?: boolean;
  PidsLimit?: boolean;
  CpuCfsQuota?: boolean;
}

export interface EngineClient {
  /** Drops every connection, an unanswered request's too. */
  close(): void;
  version(): Promise<{ Version: string; ApiVersion: string }>;
  info(): Promise<EngineInfo>;
  /** Every container (running or not) matching the filters, e.g. `{ label: ['k=v', ...] }`. */
  listContainers(filters: Filters): Promise<ContainerSummary[]>;
  createContainer(name: string, spec: ContainerSpec): Promise<{ Id: string }>;
  getContainer(id: string): ContainerClient;
  getExec(id: string): ExecClient;
  getImage(name: string): ImageClient;
  listImages(filters: Filters): Promise<ImageSummary[]>;
  /** `docker import`: resolves to the engine's progress messages, one JSON object a line. */
  importImage(tar: Readable, query: { repo: string; tag: string; changes: string[] }): Promise<IncomingMessage>;
}

export interface ContainerClient {
  inspect(): Promise<ContainerDetails>;
  start(): Promise<void>;
  stop(seconds: number): Promise<void>;
  /** Forcibly: a running container is killed first. */
  remove(): Promise<void>;
  putArchive(archive: Buffer, at: string): Promise<void>;
  stats(): Promise<ContainerStats>;
  exec(spec: ExecSpec): Promise<{ Id: string }>;
}

export interface ExecClient {
  inspect(): Promise<ExecDetails>;
  resize(columns: number, rows: number): Promise<void>;
  /** The exec's stdin and output on the connection itself (HTTP upgrade). */
  start(tty: boolean): Promise<Socket>;
}

export interface ImageClient {
  inspect(): Promise<ImageDetails>;
  remove(): Promise<unknown>;
}
