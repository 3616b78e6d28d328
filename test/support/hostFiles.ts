import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

function recordOf(path: string, journal: string): string {
  return join(journal, encodeURIComponent(path));
}

function copyKeepingOwnerAndMode(from: string, to: string): void {
  const result = spawnSync('/bin/cp', ['-a', '--', from, to], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`cp -a ${from} ${to}: ${result.stderr.trim()}`);
}

/**
 * Keeps path as it is now (its bytes, owner and mode, or that it does not
 * exist) before a test changes it, and returns what puts it back (once).
 * The first keeping of a path writes the journal, and its putting back empties
 * it; a keeping inside it (a config swapped within a block that swapped it
 * already) puts back what it found, from memory, and leaves the journal to the
 * outer one: a killed run gets the very first state back.
 */
export function keepHostFile(path: string, journal = HOST_FILES_JOURNAL): () => void {
  const record = recordOf(path, journal);
  let undone = false;
  if (existsSync(record)) {
    const found = existsSync(path) ? { content: readFileSync(path), stat: statSync(path) } : null;
    return () => {
      if (undone) return;
      undone = true;
      if (found === null) rmSync(path, { force: true });
      else {
        const staged = `${path}.djt-restore`;
        writeFileSync(staged, found.content);
        chownSync(staged, found.stat.uid, found.stat.gid);
        chmodSync(staged, found.stat.mode & 0o7777);
        renameSync(staged, path);
      }
    };
  }
  mkdirSync(journal, { recursive: true, mode: 0o700 });
  // Made whole under another name, then renamed: a kill halfway leaves a draft the restore removes, never half a record.
  const draft = mkdtempSync(join(journal, '.draft-'));
  if (existsSync(path)) copyKeepingOwnerAndMode(path, join(draft, 'original'));
  else writeFileSync(join(draft, 'absent'), '');
  writeFileSync(join(draft, 'path'), path);
  renameSync(draft, record);
  return () => {
    if (undone) return;
    undone = true;
    if (existsSync(join(record, 'absent'))) rmSync(path, { force: true });
    else {
      const staged = `${path}.djt-restore`;
      copyKeepingOwnerAndMode(join(record, 'original'), staged);
      renameSync(staged, path);
    }
    rmSync(record, { recursive: true, force: true });
  };
}
