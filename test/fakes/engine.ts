import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import {
  type ContainerDetails,
  type ContainerSpec,
  type ContainerStats,
  type ContainerSummary,
  EngineHttpError,
  type Filters,
  type ImageDetails,
} from '../../src/engine/api';
import type { Engine } from '../../src/engine/client';
import type { ContainerClient, EngineClient, EngineInfo, ExecClient, ImageClient } from '../../src/engine/interfaces';

/** A container as the fake engine holds it. */
export interface FakeContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  imageId: string;
  state: 'created' | 'running' | 'exited';
  startedAt: string;
  /**
   * Whether listContainers shows it yet. The real engine holds a new
   * container's name a moment before it lists the container: a racing
   * login's container is added unlisted, then `list`ed.
   */
  listed: boolean;
  /** Every archive put into it, in order. */
  archives: { archive: Buffer; at: string }[];
}

/**
 * An in-memory Docker engine with the calls jails are found, made, started,
 * stopped, removed and written into by (EngineClient), refusing as the real
 * one does: 404 for no such container or image, 409 for a taken name, 304 for
 * a start or stop with nothing to do. Sessions (exec), stats and image imports
 * are not faked: they throw.
 */
export class FakeEngineClient implements EngineClient {
  readonly containers = new Map<string, FakeContainer>();
  /** Image ids by name. */
  readonly images = new Map<string, string>();
  /** The calls that change something, as `create NAME`, `start NAME`, `stop NAME`, `remove NAME`, `putArchive NAME AT`. */
  readonly calls: string[] = [];
  private made = 0;

  /** Puts a container there as if someone else had made it; listed unless told otherwise. */
  add(container: Partial<FakeContainer> & { name: string }): FakeContainer {
    const made: FakeContainer = {
      id: this.nextId(),
      labels: {},
      imageId: 'sha256:fake-image',
      state: 'created',
      startedAt: '0001-01-01T00:00:00Z',
      listed: true,
      archives: [],
      ...container,
    };
    this.containers.set(made.id, made);
    return made;
  }

  /** Makes an unlisted container show up in listContainers. */
  list(id: string): void {
    this.found(id).listed = true;
  }

  close(): void {}

  async version(): Promise<{ Version: string; ApiVersion: string }> {
    return { Version: 'fake', ApiVersion: '1.41' };
  }

  async info(): Promise<EngineInfo> {
    return { SecurityOptions: ['name=seccomp,profile=default'] };
  }

  async listContainers(filters: Filters): Promise<ContainerSummary[]> {
    await turn();
    const labels = filters.label ?? [];
    const unknown = Object.keys(filters).filter((key) => key !== 'label');
    if (unknown.length > 0) throw new Error(`the fake engine filters by label only, not ${unknown.join(', ')}`);
    return [...this.containers.values()]
      .filter((c) => c.listed && labels.every((filter) => hasLabel(c.labels, filter)))
      .map((c) => ({ Id: c.id, Names: [`/${c.name}`], State: c.state, ImageID: c.imageId, Labels: { ...c.labels } }));
  }

  async createContainer(name: string, spec: ContainerSpec): Promise<{ Id: string }> {
    await turn();
    if ([...this.containers.values()].some((c) => c.name === name)) {
      throw new EngineHttpError(409, `Conflict. The container name "/${name}" is already in use by another container.`);
    }
    const imageId = this.images.get(spec.Image);
    if (imageId === undefined) throw new EngineHttpError(404, `No such image: ${spec.Image}`);
    this.calls.push(`create ${name}`);
    return { Id: this.add({ name, labels: { ...spec.Labels }, imageId }).id };
  }

  getContainer(idOrName: string): ContainerClient {
    // Looked up at each call, after a turn of the event loop, as the engine answers.
    const container = async () => {
      await turn();
      return this.found(idOrName);
    };
    return {
      inspect: async (): Promise<ContainerDetails> => {
        const c = await container();
        return {
          Id: c.id,
          Name: `/${c.name}`,
          Image: c.imageId,
          State: { Running: c.state === 'running', Pid: 0, StartedAt: c.startedAt, Status: c.state },
          Config: { Image: c.imageId, Labels: { ...c.labels } },
          ExecIDs: null,
        };
      },
      start: async () => {
        const c = await container();
        if (c.state === 'running') throw new EngineHttpError(304, 'container already started');
        this.calls.push(`start ${c.name}`);
        Object.assign(c, { state: 'running', startedAt: new Date().toISOString() });
      },
      stop: async () => {
        const c = await container();
        if (c.state !== 'running') throw new EngineHttpError(304, 'container already stopped');
        this.calls.push(`stop ${c.name}`);
        c.state = 'exited';
      },
      remove: async () => {
        const c = await container();
        this.calls.push(`remove ${c.name}`);
        this.containers.delete(c.id);
      },
      putArchive: async (archive: Buffer, at: string) => {
        const c = await container();
        this.calls.push(`putArchive ${c.name} ${at}`);
        c.archives.push({ archive, at });
      },
      stats: (): Promise<ContainerStats> => notFaked('stats'),
      exec: (): Promise<{ Id: string }> => notFaked('exec'),
    };
  }

  getExec(): ExecClient {
    return { inspect: () => notFaked('exec inspect'), resize: () => notFaked('exec resize'), start: (): Promise<Socket> => notFaked('exec start') };
  }

  getImage(name: string): ImageClient {
    const id = () => {
      const found = this.images.get(name) ?? [...this.images.values()].find((image) => image === name);
      if (found === undefined) throw new EngineHttpError(404, `No such image: ${name}`);
      return found;
    };
    return {
      inspect: async (): Promise<ImageDetails> => {
        await turn();
        return { Id: id() };
      },
      remove: async () => {
        await turn();
        const image = id();
        for (const [key, value] of this.images) if (value === image) this.images.delete(key);
      },
    };
  }

  async listImages(): Promise<{ Id: string }[]> {
    return [...new Set(this.images.values())].map((Id) => ({ Id }));
  }

  importImage(): Promise<IncomingMessage> {
    return notFaked('importImage');
  }

  /** By id, a unique id prefix or name, as the engine finds a container. */
  private found(idOrName: string): FakeContainer {
    const all = [...this.containers.values()];
    const matches = all.filter((c) => c.id === idOrName || c.name === idOrName);
    const byPrefix = all.filter((c) => c.id.startsWith(idOrName));
    const container = matches[0] ?? (byPrefix.length === 1 ? byPrefix[0] : undefined);
    if (container === undefined) throw new EngineHttpError(404, `No such container: ${idOrName}`);
    return container;
  }

  private nextId(): string {
    this.made += 1;
    return this.made.toString(16).padStart(64, 'f');
  }
}

/** An Engine whose control, provision and stream connections are all one fake. */
export function fakeEngine(): { engine: Engine; docker: FakeEngineClient } {
  const docker = new FakeEngineClient();
  return { engine: { socket: '/nonexistent/fake-docker.sock', control: docker, provision: docker, streams: docker }, docker };
}

/** A `label` filter as the engine reads it: `key=value`, or `key` for any value. */
function hasLabel(labels: Record<string, string>, filter: string): boolean {
  const at = filter.indexOf('=');
  return at < 0 ? Object.hasOwn(labels, filter) : labels[filter.slice(0, at)] === filter.slice(at + 1);
}

/** Lets timers run between calls, as a real engine's answers do: a loop of calls never starves them. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function notFaked(call: string): Promise<never> {
  return Promise.reject(new Error(`the fake engine does not fake ${call}`));
}
