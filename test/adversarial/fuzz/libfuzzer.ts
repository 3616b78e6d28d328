// What the libFuzzer tests share: building a harness with clang (ASan, UBSan)
// around a C file compiled in unchanged, running it, reading its statistics.
// A missing clang fails the test, never skips it.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';

export const CFLAGS = ['-g', '-O1', '-Wall', '-Wextra', '-Werror', '-D_GNU_SOURCE', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=all'];

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

export function run(file: string, args: string[], timeoutMs: number): Run {
  const result = spawnSync(file, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', UBSAN_OPTIONS: 'print_stacktrace=1', ASAN_OPTIONS: 'abort_on_error=0' },
  });
  if (result.error) throw new Error(`${file} ${args.join(' ')}: ${result.error.message}`);
  return { status: result.status, signal: result.signal, output: `${result.stdout}${result.stderr}` };
}

export function requireClang(fuzzer: string): void {
  const found = spawnSync('clang', ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    throw new Error(`clang is required for the ${fuzzer} fuzzer: apt-get install clang libclang-rt-dev`);
  }
}

/** Builds `harness` into `out`; `source`, when given, replaces the real C file the harness includes (a mutant), through `define`. */
export function buildHarness(harness: string, out: string, define: string, source?: string): string {
  const args = [...CFLAGS];
  if (source !== undefined) args.push(`-D${define}="${source}"`);
  args.push('-o', out, harness);
  const built = run('clang', args, 120000);
  if (built.status !== 0) {
    const hint = /libclang_rt|cannot find/.test(built.output) ? ' (the sanitizer runtimes are missing: apt-get install libclang-rt-dev)' : '';
    throw new Error(`clang ${args.join(' ')} failed${hint}:\n${built.output}`);
  }
  return out;
}

export function statistic(output: string, name: string): number {
  const match = new RegExp(`^stat::${name}:\\s+(\\d+)$`, 'm').exec(output);
  assert.ok(match, `no stat::${name} in the fuzzer's output`);
  return Number(match[1]);
}
