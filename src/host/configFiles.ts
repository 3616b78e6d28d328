import { accessSync, closeSync, constants, fsyncSync, lstatSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import * as posixPath from 'node:path/posix';
import { nodeFs } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { CONFIG_EDIT_DIR_PREFIX, EDITOR_SEARCH_PATH } from './paths';
import { runInteractive } from './run';
import { writeStateFile } from './stateFiles';

const ROOT = { uid: 0, gid: 0 };

/**
 * The files `config edit` touches as root: the private copy an administrator
 * edits, and the live config it replaces whole (visudo's way: a copy, a
 * check, then an atomic rename, never the live file half-written).
 */

/** A private copy of the config: a file in a directory of root's own (mkdtemp, 0700), made afresh. */
export interface EditDraft {
  dir: string;
  file: string;
}

export function makeEditDraft(text: string): EditDraft {
  const dir = mkdtempSync(CONFIG_EDIT_DIR_PREFIX);
  const file = posixPath.join(dir, 'docker-jail.ini'); // the name tells an editor its syntax
  try {
    writeStateFile(file, text, { mode: 0o600, owner: ROOT });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, file };
}

/** The draft as the editor left it (a regular file, not followed through a link, UTF-8). */
export function readEditDraft(draft: EditDraft): string {
  try {
    return nodeFs.readFile(draft.file);
  } catch (error) {
    throw new JailError(`${draft.file}: cannot read the edited copy: ${error instanceof Error ? error.message : String(error)}`, ExitCode.config);
  }
}

export function removeEditDraft(draft: EditDraft): void {
  rmSync(draft.dir, { recursive: true, force: true });
}

/** The text of the file at path, null when there is none; a link or anything but a regular file is refused. */
export function readLiveConfig(path: string): string | null {
  try {
    return nodeFs.readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new JailError(`${path}: cannot read it to edit: ${error instanceof Error ? error.message : String(error)}`, ExitCode.config);
  }
}

/** Permission bits of the file at path, null when there is none. */
export function modeOf(path: string): number | null {
  try {
    return lstatSync(path).mode & 0o7777;
  } catch {
    return null;
  }
}

/**
 * Replaces the file at path with text, root:root with this mode,
 * as every state file of root's is replaced (stateFiles: a new file beside it,
 * never through a link, synced, renamed over it), and the directory synced,
 * so a crash leaves the old file or the new one.
 */
export function installConfigFile(path: string, text: string, mode: number): void {
  try {
    writeStateFile(path, text, { mode, owner: ROOT });
  } catch (error) {
    throw new JailError(
      `${path}: cannot install the edit: ${error instanceof Error ? error.message : String(error)}; the old file is unchanged`,
      ExitCode.failure,
    );
  }
  const dir = openSync(posixPath.dirname(path), constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** The editor to run: its absolute path and the words after it ("emacs -nw"). */
export interface Editor {
  path: string;
  args: string[];
}

/**
 * $VISUAL, then $EDITOR, then Debian's `editor` alternative, then vi, as
 * visudo does. The variables are honoured only for a caller whose real uid is
 * root: they name what runs as root, which only root may choose (SECURITY.md,
 * invariant 3). A bare name is looked up in root's usual directories, never
 * in the caller's PATH; a named editor that is not found is an error, not a
 * quiet fallback to another.
 */
export function resolveEditor(env: NodeJS.ProcessEnv, callerIsRoot: boolean): Editor {
  for (const variable of callerIsRoot ? ['VISUAL', 'EDITOR'] : []) {
    const words = (env[variable] ?? '').split(/\s+/).filter((word) => word !== '');
    if (words.length === 0) continue;
    const path = findProgram(words[0]);
    if (path === null) {
      throw new JailError(
        `$${variable} names ${JSON.stringify(words[0])}, which is not an absolute path to a program nor found in ${EDITOR_SEARCH_PATH.join(':')}`,
      );
    }
    return { path, args: words.slice(1) };
  }
  for (const name of ['editor', 'vi']) {
    const path = findProgram(name);
    if (path !== null) return { path, args: [] };
  }
  throw new JailError(`no editor: set $VISUAL or $EDITOR, or install one (editor and vi are not found in ${EDITOR_SEARCH_PATH.join(':')})`);
}

function findProgram(name: string): string | null {
  const candidates = name.includes('/') ? (posixPath.isAbsolute(name) ? [name] : []) : EDITOR_SEARCH_PATH.map((dir) => `${dir}/${name}`);
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // not there, or not executable: the next one
    }
  }
  return null;
}

/** Runs the editor on the file, on the caller's terminal; its exit status, null when a signal ended it. */
export function runEditor(editor: Editor, file: string, env: NodeJS.ProcessEnv): number | null {
  const own: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) own[name] = value;
  return runInteractive(editor.path, [...editor.args, file], own);
}
