import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const launcherDir = path.resolve(__dirname, '..', '..', 'launcher');

/** The launcher's source, whose length the build test bounds. */
export const launcherSource = path.join(launcherDir, 'jailsh.c');

/** Runs a build or admin command; throws with its output when it fails. */
export function mustRun(file: string, args: string[]): string {
  const result = spawnSync(file, args, { encoding: 'utf8' });
  if (result.error) throw new Error(`${file} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited ${result.status}: ${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/** Builds launcher/ with make into `out` (execing `mainProgram` when given) and returns the binary's path. */
export function buildLauncher(out: string, mainProgram?: string): string {
  const args = ['-C', launcherDir, `OUT=${out}`];
  if (mainProgram !== undefined) args.push(`MAIN_PROGRAM=${mainProgram}`);
  mustRun('make', args);
  return path.join(out, 'jailsh');
}
