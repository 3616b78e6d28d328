import * as nodeFsModule from 'node:fs';
import * as posixPath from 'node:path/posix';
import { ExitCode, JailError } from '../errors';
import { defaultConfig } from './defaults';
import { checkConfigText, MAX_CONFIG_CHARS, parseConfig } from './parse';
import type { Config } from './types';
import { parseGroupName } from './values';

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
 * (SECURITY.md, invariant 4), so each must be a real directory owned by root and not
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
 * else (SECURITY.md, invariant 7), as must the directories it lies in.
 */
export function loadConfig(path: string = DEFAULT_CONFIG_PATH, fs: ConfigFs = nodeFs): Config {
  if (!posixPath.isAbsolute(path)) {
    throw new JailError(`${path}: refused: the configuration file must be given as an absolute path`, ExitCode.config);
  }
  const text = readRootOwnedFile(path, MAX_CONFIG_CHARS, fs);
  return text === null ? defaultConfig : parseConfig(text.text, text.file);
}

/**
 * The text of a file only root can have written (SECURITY.md, invariant 4): a regular file
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

/** What `config check` found in a file: every problem, and the config it would take effect as. */
export interface ConfigCheck {
  /** The file as an absolute path. */
  file: string;
  /** False when there is no such file: then the live config is the built-in defaults (a draft must exist). */
  exists: boolean;
  /** The effective config: meaningful only when there are no problems. */
  config: Config;
  /** Every problem, each naming the file, and the line and key where it has them (SECURITY.md, invariant 7). */
  problems: string[];
  /** For a draft only: why it would be refused installed as it is (its owner, its mode), and the fix. */
  installNotes: string[];
}

/**
 * Checks the live file (`draft` false: every rule of loadConfig, an unsafe
 * owner or mode is a problem) or a draft an administrator is preparing, like
 * `visudo -c -f` (a draft owned by them is checked all the same; its owner and
 * mode are only noted, as they would be refused once installed).
 */
export function checkConfigFile(path: string, draft: boolean, fs: ConfigFs = nodeFs): ConfigCheck {
  const file = posixPath.resolve(path);
  const result: ConfigCheck = { file, exists: false, config: defaultConfig, problems: [], installNotes: [] };
  let text: string;
  try {
    if (draft) text = readDraft(file, fs, result);
    else {
      const read = readRootOwnedFile(file, MAX_CONFIG_CHARS, fs);
      if (read === null) return result;
      text = read.text;
    }
  } catch (error) {
    if (!(error instanceof JailError)) throw error;
    if (!draft) result.exists = true;
    result.problems.push(error.message);
    return result;
  }
  result.exists = true;
  const { config, problems } = checkConfigText(text, file);
  return { ...result, config, problems };
}

/** The draft's text; notes what would refuse it once installed, and sets `exists` once it is found. */
function readDraft(file: string, fs: ConfigFs, result: ConfigCheck): string {
  const notes = result.installNotes;
  let stats: ConfigStats;
  try {
    stats = fs.lstat(file);
  } catch (error) {
    throw new JailError(`${file}: cannot check: ${describe(error)}`, ExitCode.config);
  }
  result.exists = true;
  if (stats.isSymbolicLink()) throw refused(file, 'is a symbolic link; give the file itself');
  if (!stats.isFile()) throw refused(file, 'is not a regular file');
  if (stats.size > MAX_CONFIG_CHARS) throw refused(file, `larger than ${MAX_CONFIG_CHARS} bytes`);
  if (stats.uid !== 0) notes.push(`${file}: owned by uid ${stats.uid}: installed as it is, it would be refused (chown root ${file})`);
  if ((stats.mode & 0o022) !== 0) {
    notes.push(`${file}: writable by group or others (mode ${octal(stats.mode)}): installed as it is, it would be refused (chmod go-w ${file})`);
  }
  try {
    return fs.readFile(file);
  } catch (error) {
    throw new JailError(`${file}: cannot read: ${describe(error)}`, ExitCode.config);
  }
}

/**
 * Every group name a `jail_group =` line of the file gives, wherever it stands
 * and however broken the rest is; [] when there is no such file or it cannot
 * be read. For deciding who might be jailed when the file cannot be loaded
 * (user-manager): its text is not trusted, so the names it gives may only ever
 * add to those refused, never exempt anyone.
 */
export function jailGroupNamesIn(path: string = DEFAULT_CONFIG_PATH, fs: ConfigFs = nodeFs): string[] {
  let text: string;
  try {
    const stats = fs.lstat(path);
    if (!stats.isFile() || stats.size > MAX_CONFIG_CHARS) return [];
    text = fs.readFile(path);
  } catch {
    return [];
  }
  const names = new Set<string>();
  // Loosely, as a file that does not load may have its typo on this very line: any case, = or :, either quote, a comment after.
  for (const match of text.matchAll(/^[ \t]*jail_group[ \t]*[=:][ \t]*["']?([A-Za-z_][A-Za-z0-9_.-]{0,31}\$?)/gim)) {
    try {
      names.add(parseGroupName(match[1]));
    } catch {
      // not a group name: no group is called that
    }
  }
  return [...names];
}
