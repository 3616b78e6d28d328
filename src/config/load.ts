import * as nodeFsModule from 'node:fs';
import * as posixPath from 'node:path/posix';
import { ExitCode, JailError } from '../errors';
import { defaultConfig } from './defaults';
import { MAX_CONFIG_CHARS, parseConfig } from './parse';
import type { Config } from './types';

export { defaultConfig } from './defaults';
export { parseConfig } from './parse';

export const DEFAULT_CONFIG_PATH = '/etc/docker-jail.ini';

/** What loadConfig needs to know about a path (a subset of fs.Stats). */
export interface ConfigStats {
  uid: number;
  mode: number;
  size: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** The file system as loadConfig sees it; errors carry `code` ('ENOENT' ...) as node:fs errors do. */
export interface ConfigFs {
  /** Never follows a symbolic link. */
  lstat(path: string): ConfigStats;
  /** The whole file as UTF-8 text. */
  readFile(path: string): string;
}

/** Reads without following a symlink and without blocking on a FIFO, and refuses text that is not UTF-8. */
function readConfigFile(path: string): string {
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = nodeFsModule.constants;
  const fd = nodeFsModule.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    if (!nodeFsModule.fstatSync(fd).isFile()) throw new Error('not a regular file');
    const bytes = nodeFsModule.readFileSync(fd);
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new Error('not valid UTF-8 text');
    }
  } finally {
    nodeFsModule.closeSync(fd);
  }
}

export const nodeFs: ConfigFs = {
  lstat: (path) => nodeFsModule.lstatSync(path),
  readFile: readConfigFile,
};

function errorCode(error: unknown): string | undefined {
  const code: unknown = typeof error === 'object' && error !== null ? Reflect.get(error, 'code') : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** "permission denied (EACCES)" from node's "EACCES: permission denied, lstat '/x'". */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const match = /^([A-Z][A-Z0-9_]*): ([^,]+)/.exec(message);
  return match === null ? message : `${match[2]} (${match[1]})`;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function refused(file: string, reason: string): JailError {
  return new JailError(`${file}: refused: ${reason}`, ExitCode.config);
}

/** Every directory from / down to the file's own, outermost first. */
function directoriesAbove(file: string): string[] {
  const directories: string[] = [];
  for (let dir = posixPath.dirname(file); ; dir = posixPath.dirname(dir)) {
    directories.unshift(dir);
    if (dir === '/') return directories;
  }
}

/**
 * A non-root user who can write any directory on the path could swap the file
 * (invariant 4), so each must be a real directory owned by root and not
 * writable by group or others. Above the file's own directory a sticky bit
 * suffices (as on /tmp): it stops others renaming the root-owned entry below.
 * Returns false when a directory does not exist, so neither can the file.
 */
function checkDirectories(file: string, fs: ConfigFs): boolean {
  const parent = posixPath.dirname(file);
  for (const dir of directoriesAbove(file)) {
    const what = dir === parent ? `its directory ${dir}` : `${dir}, a directory above it,`;
    let stats: ConfigStats;
    try {
      stats = fs.lstat(dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw new JailError(`${file}: cannot check ${dir}: ${describe(error)}`, ExitCode.config);
    }
    if (stats.isSymbolicLink()) throw refused(file, `${what} is a symbolic link; give the real path`);
    if (!stats.isDirectory()) throw refused(file, `${what} is not a directory`);
    if (stats.uid !== 0) throw refused(file, `${what} is owned by uid ${stats.uid}, not root; run: chown root ${dir}`);
    const sticky = (stats.mode & 0o1000) !== 0;
    if ((stats.mode & 0o022) !== 0 && (dir === parent || !sticky)) {
      throw refused(file, `${what} is writable by group or others (mode ${octal(stats.mode)}); run: chmod go-w ${dir}`);
    }
  }
  return true;
}

/**
 * The configuration from `path`, or the built-in defaults when it does not
 * exist. The file must be a regular file owned by root and writable by no one
 * else (invariant 7), as must the directories it lies in.
 */
export function loadConfig(path: string = DEFAULT_CONFIG_PATH, fs: ConfigFs = nodeFs): Config {
  if (!posixPath.isAbsolute(path)) {
    throw new JailError(`${path}: refused: the configuration file must be given as an absolute path`, ExitCode.config);
  }
  const text = readRootOwnedFile(path, MAX_CONFIG_CHARS, fs);
  return text === null ? defaultConfig : parseConfig(text.text, text.file);
}

/**
 * The text of a file only root can have written (invariant 4): a regular file
 * owned by root and writable by no one else, in directories that are the same;
 * null when it does not exist. Refusals name the file and the fix.
 */
export function readRootOwnedFile(path: string, maxBytes: number, fs: ConfigFs = nodeFs): { file: string; text: string } | null {
  if (!posixPath.isAbsolute(path)) {
    throw new JailError(`${path}: refused: the file must be given as an absolute path`, ExitCode.config);
  }
  const file = posixPath.resolve(path);
  if (!checkDirectories(file, fs)) return null;

  let stats: ConfigStats;
  try {
    stats = fs.lstat(file);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw new JailError(`${file}: cannot check: ${describe(error)}`, ExitCode.config);
  }
  if (stats.isSymbolicLink()) throw refused(file, 'is a symbolic link; make it a regular file owned by root');
  if (!stats.isFile()) throw refused(file, 'is not a regular file');
  if (stats.uid !== 0) throw refused(file, `owned by uid ${stats.uid}, not root; run: chown root ${file}`);
  if ((stats.mode & 0o022) !== 0) {
    throw refused(file, `writable by group or others (mode ${octal(stats.mode)}); run: chmod go-w ${file}`);
  }
  if (stats.size > maxBytes) throw refused(file, `larger than ${maxBytes} bytes`);

  try {
    return { file, text: fs.readFile(file) };
  } catch (error) {
    throw new JailError(`${file}: cannot read: ${describe(error)}`, ExitCode.config);
  }
}
