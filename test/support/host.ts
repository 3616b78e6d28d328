import { type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process';

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command on the host and returns what it printed; never throws on a non-zero exit. */
export function run(file: string, args: string[], options: SpawnSyncOptions = {}): Ran {
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 60_000, ...options });
  if (result.error) throw result.error;
  return { status: result.status, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

export interface Timed extends Ran {
  ms: number;
}

/** Like run, but leaves the event loop free: for commands raced against each other, or against listeners of the test. */
export function runAsync(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Timed> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, ms: Date.now() - started }));
    child.stdin.end(options.input ?? '');
  });
}

/** Like run, for binary output: stdout and stderr as they came, byte for byte. */
export function runBinary(file: string, args: string[], input: Buffer): { status: number | null; stdout: Buffer; stderr: Buffer } {
  const result = spawnSync(file, args, { input, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a shell command on the host and returns its stdout; throws with its stderr when it fails. */
export function sh(command: string, options: SpawnSyncOptions = {}): string {
  const result = run('/bin/bash', ['-c', command], options);
  if (result.status !== 0) throw new Error(`host command failed (${result.status}): ${command}\n${result.stderr}`);
  return result.stdout;
}

/**
 * Integration tests need root and the real parts; a missing prerequisite fails
 * the run instead of skipping it (CI must never pass by running nothing).
 */
export function requireHost(...commands: string[]): void {
  if (process.getuid?.() !== 0) throw new Error('integration tests must run as root (sudo ./build.sh test)');
  for (const command of commands) {
    if (run('/bin/sh', ['-c', `command -v ${command}`]).status !== 0) throw new Error(`prerequisite missing: ${command} (./build.sh test installs it)`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until check() returns true, or fails with the description after timeoutMs. */
export async function waitFor(description: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await sleep(100);
  }
}
