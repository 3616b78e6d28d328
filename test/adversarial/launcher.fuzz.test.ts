// libFuzzer on the setuid launcher's argument and environment handling:
// test/adversarial/fuzz/launcher-fuzz.c compiles launcher/jailsh.c in
// unchanged, with its system calls routed to a model, under ASan and UBSan,
// and checks every run against the launcher's rules (see that file). This
// test builds it with clang into a temporary directory, replays the seed
// corpus (test/adversarial/fuzz/corpus), fuzzes for a bounded time, and
// fails on any crash, sanitizer report or broken rule. A control proves the
// checks bite: mutants of jailsh.c, each breaking one rule, must be caught.
//
// Needs clang and its runtimes (Debian: clang, libclang-rt-dev); without
// them this test fails, it never skips. No root needed: nothing really runs
// setuid, execs or changes credentials.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildHarness as build, requireClang as clangFor, run, statistic } from './fuzz/libfuzzer';

const repoRoot = path.resolve(__dirname, '..', '..');
const launcherSource = path.join(repoRoot, 'launcher', 'jailsh.c');
const harnessSource = path.join(__dirname, 'fuzz', 'launcher-fuzz.c');
const seedCorpus = path.join(__dirname, 'fuzz', 'corpus');
const FUZZ_SECONDS = 30;
/** Far below what any machine does in FUZZ_SECONDS (about 10,000 runs a second here): a stalled fuzzer fails. */
const MIN_RUNS = 20000;
/** Whatever libFuzzer, ASan, UBSan or the harness print when something is wrong. */
const TROUBLE = /ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|deadly signal|launcher-fuzz: (violated|exit|stderr)|SUMMARY: /;

/** Builds the harness around `jailsh` (default: the real file). */
const buildHarness = (out: string, jailsh?: string): string => build(harnessSource, out, 'JAILSH_C', jailsh);

/** Each mutant breaks one rule of the launcher; the harness must notice from the seed corpus alone. */
const MUTANTS: Array<{ name: string; from: string; to: string }> = [
  {
    name: 'goes on to exec when setresuid fails (fail open)',
    from: 'if (setresuid(0, 0, 0) != 0)',
    to: 'if (setresuid(0, 0, 0) != 0 && 0)',
  },
  {
    name: 'keeps a second occurrence of a variable name',
    from: 'again = seen_len[i] == len && memcmp(seen[i], e, len) == 0;',
    to: 'again = 0;',
  },
  {
    name: 'leaves a caller-lowered open files limit to the runtime',
    from: '{ RLIMIT_NOFILE, 1024, "cannot lift the open files limit" },',
    to: '{ RLIMIT_NOFILE, 0, "cannot lift the open files limit" },',
  },
  {
    name: 'lets a non-root caller run the PAM hook',
    from: 'if (pam && caller != 0)',
    to: 'if (pam && caller == 1)',
  },
  {
    name: "stays in the session's mount namespace, where the home is hidden (root's mounts would not reach the engine)",
    from: '\tenter_host_mounts();',
    to: '\t(void)enter_host_mounts;',
  },
  {
    name: "lets a directory through as fd 0-2 (a path to the host's filesystem through /proc/self/fd)",
    from: '\trefuse_directories();',
    to: '\t(void)refuse_directories;',
  },
  {
    name: 'lets an O_PATH handle through as fd 0-2',
    from: '(fcntl(fd, F_GETFL) & O_PATH))',
    to: '(fcntl(fd, F_GETFL) < 0))',
  },
  {
    name: 'keeps the first PAM_* occurrence (the one ~/.pam_environment sets) instead of the last',
    from: 'char *e = environ[pam ? count - 1 - k : k];',
    to: 'char *e = environ[k];',
  },
];

describe('adversarial: launcher under libFuzzer', function () {
  this.timeout(60000);
  let dir = '';
  let harness = '';

  before(function () {
    this.timeout(180000);
    clangFor('launcher');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'djl-launcher-fuzz-'));
    harness = buildHarness(path.join(dir, 'launcher-fuzz'));
  });

  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('compiles launcher/jailsh.c itself into the harness, with main renamed', function () {
    const harnessText = fs.readFileSync(harnessSource, 'utf8');
    assert.match(harnessText, /^#define JAILSH_C "\.\.\/\.\.\/\.\.\/launcher\/jailsh\.c"$/m);
    assert.equal(path.resolve(path.dirname(harnessSource), '../../../launcher/jailsh.c'), launcherSource);
    const symbols = run('nm', [harness], 30000);
    assert.equal(symbols.status, 0, symbols.output);
    for (const name of ['jailsh_main', 'LLVMFuzzerTestOneInput', 'LLVMFuzzerInitialize']) {
      assert.match(symbols.output, new RegExp(`\\s${name}$`, 'm'), `${name} is not in the harness`);
    }
  });

  it('replays every seed of the corpus to its checked outcome, and the close_range fallback', function () {
    const seeds = fs.readdirSync(seedCorpus).sort();
    assert.ok(seeds.length >= 40, `only ${seeds.length} seeds`);
    const replay = run(
      harness,
      seeds.map((seed) => path.join(seedCorpus, seed)),
      60000,
    );
    assert.doesNotMatch(replay.output, TROUBLE);
    assert.equal(replay.signal, null, replay.output.slice(-3000));
    assert.equal(replay.status, 0, replay.output.slice(-3000));
    assert.match(replay.output, /^launcher-fuzz: close_range fallback checked$/m);
    for (const seed of seeds) assert.ok(replay.output.includes(`Executed ${path.join(seedCorpus, seed)} in`), `${seed} did not run`);
  });

  it(`finds no crash, sanitizer report or broken rule in ${FUZZ_SECONDS} s of fuzzing`, function () {
    this.timeout((FUZZ_SECONDS + 90) * 1000);
    // New inputs go to the first directory, a scratch one; the seeds are only read.
    const work = path.join(dir, 'corpus');
    const artifacts = path.join(dir, 'artifacts');
    fs.mkdirSync(work);
    fs.mkdirSync(artifacts);
    const fuzz = run(
      harness,
      [
        `-max_total_time=${FUZZ_SECONDS}`,
        '-max_len=4096',
        '-timeout=10',
        '-rss_limit_mb=2048',
        '-print_final_stats=1',
        `-artifact_prefix=${artifacts}/`,
        work,
        seedCorpus,
      ],
      (FUZZ_SECONDS + 60) * 1000,
    );
    const seed = /^INFO: Seed: (\d+)$/m.exec(fuzz.output)?.[1] ?? '?';
    const found = fs.readdirSync(artifacts);
    const context = `fuzzer seed ${seed} (replay with -seed=${seed}); artifacts: ${found.join(', ') || 'none'}\n${fuzz.output.slice(-4000)}`;
    assert.doesNotMatch(fuzz.output, TROUBLE, context);
    assert.deepEqual(found, [], context);
    assert.equal(fuzz.signal, null, context);
    assert.equal(fuzz.status, 0, context);
    assert.match(fuzz.output, /^Done \d+ runs in \d+ second\(s\)$/m, context);
    const runs = statistic(fuzz.output, 'number_of_executed_units');
    const perSecond = statistic(fuzz.output, 'average_exec_per_sec');
    assert.ok(runs >= MIN_RUNS, `only ${runs} runs in ${FUZZ_SECONDS} s\n${context}`);
    assert.ok(fs.readdirSync(work).length > 0, 'the fuzzer kept no new input: it explored nothing');
    console.log(`      libFuzzer: ${runs} runs, ${perSecond} runs/s, ${fs.readdirSync(work).length} new corpus entries, seed ${seed}`);
  });

  describe('control: the harness catches a launcher that breaks a rule', function () {
    for (const mutant of MUTANTS) {
      it(`catches a jailsh.c that ${mutant.name}`, function () {
        this.timeout(180000);
        const original = fs.readFileSync(launcherSource, 'utf8');
        assert.equal(original.split(mutant.from).length, 2, `"${mutant.from}" is not once in jailsh.c: update the mutant`);
        const mutantDir = fs.mkdtempSync(path.join(dir, 'mutant-'));
        const mutantSource = path.join(mutantDir, 'jailsh.c');
        fs.writeFileSync(mutantSource, original.replace(mutant.from, mutant.to));
        const binary = buildHarness(path.join(mutantDir, 'launcher-fuzz'), mutantSource);
        const work = path.join(mutantDir, 'corpus');
        fs.mkdirSync(work);
        const caught = run(binary, ['-runs=100000', '-max_len=4096', `-artifact_prefix=${mutantDir}/`, work, seedCorpus], 120000);
        assert.notEqual(caught.status, 0, `the mutant went unnoticed:\n${caught.output.slice(-2000)}`);
        assert.match(caught.output, /launcher-fuzz: (violated|exit \d+, expected|stderr)/, caught.output.slice(-2000));
        assert.match(caught.output, /deadly signal/);
      });
    }
  });
});
