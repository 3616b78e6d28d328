import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Config } from '../config/types';
import { type Engine, engineError, statusOf } from '../engine/client';
import { ExitCode, JailError } from '../errors';
import { BUILD_ROOT } from '../host/paths';
import { LABEL_MANAGED } from './labels';

export { BUILD_ROOT };
/** The keys debootstrap checks the mirror's Release file against (package debian-archive-keyring, a Depends). */
export const ARCHIVE_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const TOOL_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };

export interface BuildOptions {
  rebuild: boolean;
  /** Stages of the build, and the tools' output lines within them. */
  progress: { step(text: string): void; detail(text: string): void };
}

/** Whether the configured jail image exists in the engine. */
export async function imageExists(engine: Engine, image: string): Promise<boolean> {
  try {
    await engine.control.getImage(image).inspect();
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw engineError(engine.socket, error, 'looking for the jail image');
  }
}

/**
 * Builds the default jail image with no registry: debootstrap (minbase) from a
 * Debian mirror, every SUID/SGID bit removed, then `docker import`. Skipped
 * when the image exists, unless rebuild is asked for.
 */
export async function buildImage(engine: Engine, config: Config, options: BuildOptions): Promise<void> {
  const image = config.jail.image;
  if (!options.rebuild && (await imageExists(engine, image))) {
    options.progress.step(`image ${image} is already built (use --rebuild to build it again)`);
    return;
  }
  // Without its keyring debootstrap warns and goes on unchecked: whoever sits between the host and an http
  // mirror would have their maintainer scripts run as root in the chroot (SECURITY.md invariant 4).
  const unfit = keyringUnfit(ARCHIVE_KEYRING);
  if (unfit !== null)
    throw new JailError(
      `the Debian archive keyring ${ARCHIVE_KEYRING} ${unfit}: install the package debian-archive-keyring; no image is built without checking the mirror's signatures`,
      ExitCode.unavailable,
    );
  const mirror = config.image.mirror === 'auto' ? hostMirror(config.image.suite) : config.image.mirror;
  mkdirSync(BUILD_ROOT, { recursive: true, mode: 0o700 });
  const workdir = mkdtempSync(`${BUILD_ROOT}/image-`);
  const rootfs = `${workdir}/rootfs`;
  try {
    options.progress.step(`bootstrapping Debian ${config.image.suite} from ${mirror} (a few minutes)`);
    await runTool(
      '/usr/sbin/debootstrap',
      [
        '--force-check-gpg',
        `--keyring=${ARCHIVE_KEYRING}`,
        '--variant=minbase',
        `--include=${config.image.packages.join(',')}`,
        config.image.suite,
        rootfs,
        mirror,
      ],
      (line) => options.progress.detail(`debootstrap: ${line}`),
    );
    options.progress.step('removing every SUID/SGID bit and the package caches');
    await runTool('/usr/bin/find', [rootfs, '-xdev', '-type', 'f', '-perm', '/6000', '-exec', 'chmod', 'ug-s', '{}', '+'], (line) =>
      options.progress.detail(line),
    );
    for (const cache of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const entry of readdirSync(`${rootfs}/${cache}`)) {
        if (entry.endsWith('.deb') || (cache.endsWith('lists') && entry !== 'lock' && entry !== 'partial'))
          rmSync(`${rootfs}/${cache}/${entry}`, { force: true });
      }
    }
    options.progress.step(`importing the root filesystem as ${image}`);
    await importRootfs(engine, rootfs, image);
    options.progress.step(`image ${image} built`);
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
}

/**
 * Why the keyring at path cannot vouch for a mirror (missing, not a non-empty root-owned regular file, writable
 * by others), or null. A symlink is followed: the keyrings directory is root's, and a later keyring package may link.
 */
export function keyringUnfit(path: string): string | null {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 'is missing';
  if (!stat.isFile()) return 'is not a regular file';
  if (stat.uid !== 0 || (stat.mode & 0o022) !== 0) return 'is writable by someone other than root';
  if (stat.size === 0) return 'is empty';
  return null;
}

async function importRootfs(engine: Engine, rootfs: string, image: string): Promise<void> {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const [repo, tag] = colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, 'latest'];
  const tar = spawn('/usr/bin/tar', ['--numeric-owner', '-C', rootfs, '-c', '.'], { env: TOOL_ENV, stdio: ['ignore', 'pipe', 'inherit'] });
  const tarDone = new Promise<number | null>((resolve) => tar.on('close', resolve));
  let response: Readable;
  try {
    response = await engine.streams.importImage(tar.stdout, {
      repo,
      tag,
      changes: ['ENV LANG=C.UTF-8', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', `LABEL ${LABEL_MANAGED}=true`, 'CMD ["sleep", "infinity"]'],
    });
  } catch (error) {
    tar.kill();
    throw engineError(engine.socket, error, 'importing the jail image');
  }
  let failure: string | null = null;
  for await (const line of linesOf(response)) {
    try {
      const message = JSON.parse(line) as { error?: string };
      if (message.error) failure = message.error;
    } catch {
      // progress lines only
    }
  }
  if ((await tarDone) !== 0) throw new JailError('tar of the bootstrapped root filesystem failed');
  if (failure !== null) throw new JailError(`the engine refused the image: ${failure}`, ExitCode.unavailable);
}

/** The lines of a stream, without their newlines. */
async function* linesOf(stream: Readable): AsyncGenerator<string> {
  stream.setEncoding('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const lines = (rest + String(chunk)).split('\n');
    rest = lines.pop() ?? '';
    yield* lines;
  }
  if (rest !== '') yield rest;
}

/** The Debian mirror the host's apt uses for this suite, read from /etc/apt/sources.list and sources.list.d. */
export function hostMirror(suite: string, aptDir = '/etc/apt'): string {
  const texts: string[] = [];
  const read = (path: string) => {
    try {
      texts.push(readFileSync(path, 'utf8'));
    } catch {
      // absent
    }
  };
  read(`${aptDir}/sources.list`);
  let parts: string[] = [];
  try {
    parts = readdirSync(`${aptDir}/sources.list.d`).sort();
  } catch {
    // absent
  }
  for (const part of parts) if (part.endsWith('.list') || part.endsWith('.sources')) read(`${aptDir}/sources.list.d/${part}`);
  const mirror = findMirror(texts, suite);
  if (mirror === null)
    throw new JailError(`no Debian mirror for ${suite} found in ${aptDir}/sources.list*; set mirror in [image] of /etc/docker-jail.ini`, ExitCode.config);
  return mirror;
}

/** First http(s) source of type deb serving this suite, in one-line or deb822 format. */
export function findMirror(texts: string[], suite: string): string | null {
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const match = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(https?:\/\/\S+)\s+(\S+)/.exec(line);
      if (match && match[2] === suite) return match[1];
    }
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1].trim().split(/\s+/) ?? [];
      if (!field('Types').includes('deb') || !field('Suites').includes(suite)) continue;
      const uri = field('URIs').find((u) => /^https?:\/\//.test(u));
      if (uri) return uri;
    }
  }
  return null;
}

async function runTool(file: string, args: string[], progress: (line: string) => void): Promise<void> {
  const child = spawn(file, args, { env: TOOL_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (error) => reject(new JailError(`cannot run ${file}: ${error.message}`)));
    child.on('close', resolve);
  });
  const relayed = [child.stdout, child.stderr].map(async (output) => {
    for await (const line of linesOf(output)) progress(line);
  });
  const code = await exited;
  await Promise.all(relayed);
  if (code !== 0) throw new JailError(`${file} failed with exit status ${code}`);
}
