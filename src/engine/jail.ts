import type Docker from 'dockerode';
import type { Config } from '../config/types';
import { ExitCode, JailError } from '../errors';
import type { JailIdentityFiles } from '../identity/jailFiles';
import { type Engine, engineError, statusOf } from './client';
import { tarArchive } from './tar';

export const LABEL_MANAGED = 'io.docker-jail.managed';
export const LABEL_UID = 'io.docker-jail.uid';
export const LABEL_USER = 'io.docker-jail.user';

/** How long a login waits for a jail that a racing login is creating under the same name. */
const NAME_RACE_MS = 3000;

/** Everything needed to find or make one user's jail. */
export interface JailRequest {
  uid: number;
  user: string;
  name: string;
  hostname: string;
  /** Host path bound into the jail (the nosuid,nodev staging view of the home). */
  homeSource: string;
  homeTarget: string;
  identityFiles: JailIdentityFiles;
}

export interface Jail {
  id: string;
  name: string;
}

/**
 * Finds the user's jail by its labels, creating it from the image when missing
 * and starting it when stopped; then writes the user's passwd and group into it.
 * A container that merely carries the right name is never used.
 */
export async function ensureJail(engine: Engine, config: Config, request: JailRequest): Promise<Jail> {
  const docker = engine.control;
  const attempt = async (doing: string, call: () => Promise<unknown>) => {
    try {
      return await call();
    } catch (error) {
      throw engineError(engine.socket, error, doing);
    }
  };

  let found = await findJail(engine, request.uid);
  if (found === null) {
    try {
      await docker.createContainer(containerSpec(config, request));
    } catch (error) {
      if (statusOf(error) === 404) {
        throw new JailError(`the jail image ${config.jail.image} is not built; an administrator must run: docker-jail image build`, ExitCode.unavailable);
      }
      // 409: the name is taken, by a login racing us (fine) or by a stranger (refused below).
      if (statusOf(error) !== 409) throw engineError(engine.socket, error, 'creating the jail');
    }
    // A racing login's container holds the name a moment before the engine lists it.
    for (let waited = 0; (found = await findJail(engine, request.uid)) === null && waited < NAME_RACE_MS; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (found === null) {
      throw new JailError(`a container named ${request.name} exists but is not the jail of uid ${request.uid}; refusing to use it`, ExitCode.refused);
    }
  }

  const container = docker.getContainer(found.id);
  if (found.state !== 'running') {
    await attempt('starting the jail', async () => {
      try {
        await container.start();
      } catch (error) {
        if (statusOf(error) !== 304) throw error; // 304: a racing login started it first
      }
    });
  }
  const archive = tarArchive([
    { name: 'passwd', content: request.identityFiles.passwd, mode: 0o644 },
    { name: 'group', content: request.identityFiles.group, mode: 0o644 },
  ]);
  await attempt('writing the jail\'s passwd and group', () => container.putArchive(archive, { path: '/etc' }));
  return { id: found.id, name: found.name };
}

async function findJail(engine: Engine, uid: number): Promise<{ id: string; name: string; state: string } | null> {
  let list: Docker.ContainerInfo[];
  try {
    list = await engine.control.listContainers({
      all: true,
      filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_UID}=${uid}`] },
    });
  } catch (error) {
    throw engineError(engine.socket, error, 'looking for the jail');
  }
  // The engine filtered by label already; check again so a filter bug cannot hand over a stranger's container.
  const mine = list.filter((c) => c.Labels?.[LABEL_MANAGED] === 'true' && c.Labels?.[LABEL_UID] === String(uid));
  if (mine.length > 1) throw new JailError(`uid ${uid} has ${mine.length} jails; an administrator must remove the extra ones`);
  if (mine.length === 0) return null;
  return { id: mine[0].Id, name: (mine[0].Names?.[0] ?? '').replace(/^\//, ''), state: mine[0].State };
}

function containerSpec(config: Config, request: JailRequest): Docker.ContainerCreateOptions {
  const jail = config.jail;
  return {
    name: request.name,
    Hostname: request.hostname,
    Image: jail.image,
    // Nothing in a jail runs as root: its init and placeholder run as nobody, sessions as the user.
    User: '65534:65534',
    Cmd: ['sleep', 'infinity'],
    WorkingDir: '/',
    Env: ['PATH=/usr/local/bin:/usr/bin:/bin'],
    Labels: { [LABEL_MANAGED]: 'true', [LABEL_UID]: String(request.uid), [LABEL_USER]: request.user },
    NetworkDisabled: jail.network === 'none',
    HostConfig: {
      Init: true,
      CapDrop: jail.capDrop,
      CapAdd: jail.capAdd,
      SecurityOpt: jail.noNewPrivileges ? ['no-new-privileges:true'] : [],
      PidsLimit: jail.pidsLimit > 0 ? jail.pidsLimit : -1,
      Memory: jail.memoryBytes,
      MemorySwap: jail.memoryBytes > 0 ? jail.memoryBytes : 0,
      NanoCpus: Math.round(jail.cpus * 1e9),
      NetworkMode: jail.network,
      Mounts: [{ Type: 'bind', Source: request.homeSource, Target: request.homeTarget, ReadOnly: false, BindOptions: { Propagation: 'rprivate' } }],
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'none', Config: {} },
      IpcMode: 'private',
    },
  };
}
