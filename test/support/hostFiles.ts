import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, type Stats, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the host files a test changes are kept as they were before it changed
 * them. A test puts its file back when it ends; a run killed midway (CI's time
 * limit, a lost session) cannot, and left, say, /etc/docker-jail.ini pointing
 * at a test's dead engine proxy: the next run's image build failed on it. So
 * the original is written here first, and `./build.sh test` (and demo) put
 * back whatever is still here before anything reads it
 * (tools/restore-host-files.sh, whose default is the same directory).
 */
export const HOST_FILES_JOURNAL = '/var/lib/docker-jail-tests/host-files';

/** A file as it was: its bytes, owner and mode; null: there was none. */
export type HostFileState = { content: Buffer; stat: Stats } | null;

export function stateOf(path: string): HostFileState {
  return existsSync(path) ? { content: readFileSync(path), stat: statSync(path) } : null;
}

/** Makes path what state says, replacing it whole (written aside, then renamed). */
export function restoreState(path: string, state: HostFileState): void {
  if (state === null) {
    rmSync(path, { force: true });
    return;
  }
  const staged = `${path}.djt-restore`;
  writeFileSync(staged, state.content);
  chownSync(staged, state.stat.uid, state.stat.gid);
  chmodSync(staged, state.stat.mode & 0o7777);
  renameSync(staged, path);
}

/**
 * Keeps path as it is now before a test changes it, and returns what puts it
 * back (once). The first keeping of a path also journals it, for a run killed
 * before it puts the file back, and its putting back drops the record; a
 * keeping inside it (a config swapped within a block that swapped it already)
 * leaves the journal to the outer one: a killed run gets the very first state
 * back.
 */
export function keepHostFile(path: string, journal = HOST_FILES_JOURNAL): () => void {
  const found = stateOf(path);
  const record = join(journal, encodeURIComponent(path));
  const journaled = !existsSync(record);
  if (journaled) journalState(path, record, journal);
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    restoreState(path, found);
    if (journaled) rmSync(record, { recursive: true, force: true });
  };
}

/** Writes record (tools/restore-host-files.sh reads it): a copy of path with owner and mode, or "absent"; and the path. */
function journalState(path: string, record: string, journal: string): void {
  mkdirSync(journal, { recursive: true, mode: 0o700 });
  // Made whole under another name, then renamed: a kill halfway leaves a draft the restore removes, never half a record.
  const draft = mkdtempSync(join(journal, '.draft-'));
  if (existsSync(path)) {
    const copied = spawnSync('/bin/cp', ['-a', '--', path, join(draft, 'original')], { encoding: 'utf8' });
    if (copied.status !== 0) throw new Error(`cp -a ${path}: ${copied.stderr.trim()}`);
  } else writeFileSync(join(draft, 'absent'), '');
  writeFileSync(join(draft, 'path'), path);
  renameSync(draft, record);
}
