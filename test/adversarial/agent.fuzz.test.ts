// libFuzzer on the jail agent's request parser: test/adversarial/fuzz/agent-fuzz.c
// compiles agent/agent.c in unchanged (AGENT_NO_MAIN: parse_request and what
// it needs), under ASan and UBSan, and checks every verdict and every parsed
// request against the protocol's rules (agent/protocol.h): strings inside the
// body, counts exact, nothing after the last string, absolute cwd and
// program, known flag bits only, the size limits. Every byte a jailed process
// sends its agent reaches this parser. The test builds the harness with clang
// into a temporary directory, replays the seed corpus
// (test/adversarial/fuzz/agent-corpus), fuzzes for a bounded time, and fails
// on any crash, sanitizer report or broken rule. A control proves the checks
// bite: mutants of agent.c, each breaking one rule, must be caught.
//
// Needs clang and its runtimes (Debian: clang, libclang-rt-dev); without
// them this test fails, it never skips.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildHarness as build, requireClang as clangFor, run, statistic } from './fuzz/libfuzzer';

const repoRoot = path.resolve(__dirname, '..', '..');
const agentSource = path.join(repoRoot, 'agent', 'agent.c');
const protocolHeader = path.join(repoRoot, 'agent', 'protocol.h');
const harnessSource = path.join(__dirname, 'fuzz', 'agent-fuzz.c');
const seedCorpus = path.join(__dirname, 'fuzz', 'agent-corpus');
const FUZZ_SECONDS = 30;
/** Far below what any machine does in FUZZ_SECONDS (several thousand runs a second here): a stalled fuzzer fails. */
const MIN_RUNS = 20000;
/** Whatever libFuzzer, ASan, UBSan or the harness print when something is wrong. */
const TROUBLE = /ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|deadly signal|agent-fuzz: violated|SUMMARY: /;

/** Builds the harness around `agent` (default: the real file). */
const buildHarness = (out: string, agent?: string): string => build(harnessSource, out, 'AGENT_C', agent);

/** Each mutant breaks one rule of the parser; the harness must notice from the seed corpus alone. */
const MUTANTS: Array<{ name: string; from: string; to: string }> = [
  { name: 'accepts bytes after the last string', from: 'if (at != n || ', to: 'if (' },
  { name: 'accepts a relative program (a PATH search nobody asked for)', from: " || out->strings[0][0] != '/')", to: ')' },
  { name: 'accepts unknown flag bits', from: '(h->flags & ~REQUEST_FLAGS) == 0', to: '1' },
  { name: 'accepts a body over the size limit', from: 'h->body_len <= REQUEST_MAX_BODY', to: '1' },
  { name: 'takes DOCKER_JAIL_SESSIONX= for the session mark', from: 'sizeof SESSION_MARK - 1)', to: 'sizeof SESSION_MARK - 2)' },
  {
    name: 'lets a string run past the body',
    from: "char *end = at < n ? memchr(body + at, '\\0', n - at) : NULL;",
    to: 'char *end = body + at + strlen(body + at);',
  },
];

describe('adversarial: agent request parser under libFuzzer', function () {
  this.timeout(60000);
  let dir = '';
  let harness = '';

  before(function () {
    this.timeout(180000);
    clangFor('agent');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'djl-agent-fuzz-'));
    harness = buildHarness(path.join(dir, 'agent-fuzz'));
  });

  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('compiles agent/agent.c itself into the harness, without its main', function () {
    const harnessText = fs.readFileSync(harnessSource, 'utf8');
    assert.match(harnessText, /^#define AGENT_C "\.\.\/\.\.\/\.\.\/agent\/agent\.c"$/m);
    assert.equal(path.resolve(path.dirname(harnessSource), '../../../agent/agent.c'), agentSource);
    const symbols = run('nm', [harness], 30000);
    assert.equal(symbols.status, 0, symbols.output);
    for (const name of ['parse_request', 'LLVMFuzzerTestOneInput']) {
      assert.match(symbols.output, new RegExp(`\\s${name}$`, 'm'), `${name} is not in the harness`);
    }
    // libFuzzer brings its own main; the agent's is left out, and everything that acts with it.
    assert.doesNotMatch(symbols.output, /\s(keeper|keep_tty|listen_on)$/m, "the agent's main loop is in the harness");
  });

  it('replays every seed of the corpus to its checked outcome', function () {
    const seeds = fs.readdirSync(seedCorpus).sort();
    assert.ok(seeds.length >= 25, `only ${seeds.length} seeds`);
    const replay = run(
      harness,
      seeds.map((seed) => path.join(seedCorpus, seed)),
      60000,
    );
    assert.doesNotMatch(replay.output, TROUBLE);
    assert.equal(replay.signal, null, replay.output.slice(-3000));
    assert.equal(replay.status, 0, replay.output.slice(-3000));
    for (const seed of seeds) assert.ok(replay.output.includes(`Executed ${path.join(seedCorpus, seed)} in`), `${seed} did not run`);
  });

  it(`finds no crash, sanitizer report or broken rule in ${FUZZ_SECONDS} s of fuzzing`, function () {
    this.timeout((FUZZ_SECONDS + 90) * 1000);
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
    const runs = statistic(fuzz.output, 'number_of_executed_units');
    const perSecond = statistic(fuzz.output, 'average_exec_per_sec');
    assert.ok(runs >= MIN_RUNS, `only ${runs} runs in ${FUZZ_SECONDS} s\n${context}`);
    assert.ok(fs.readdirSync(work).length > 0, 'the fuzzer kept no new input: it explored nothing');
    console.log(`      libFuzzer: ${runs} runs, ${perSecond} runs/s, ${fs.readdirSync(work).length} new corpus entries, seed ${seed}`);
  });

  describe('control: the harness catches a parser that breaks a rule', function () {
    for (const mutant of MUTANTS) {
      it(`catches an agent.c that ${mutant.name}`, function () {
        this.timeout(180000);
        const original = fs.readFileSync(agentSource, 'utf8');
        assert.equal(original.split(mutant.from).length, 2, `"${mutant.from}" is not once in agent.c: update the mutant`);
        const mutantDir = fs.mkdtempSync(path.join(dir, 'mutant-'));
        const mutantSource = path.join(mutantDir, 'agent.c');
        fs.writeFileSync(mutantSource, original.replace(mutant.from, mutant.to));
        fs.copyFileSync(protocolHeader, path.join(mutantDir, 'protocol.h'));
        const binary = buildHarness(path.join(mutantDir, 'agent-fuzz'), mutantSource);
        const work = path.join(mutantDir, 'corpus');
        fs.mkdirSync(work);
        const caught = run(binary, ['-runs=100000', '-max_len=4096', `-artifact_prefix=${mutantDir}/`, work, seedCorpus], 120000);
        assert.notEqual(caught.status, 0, `the mutant went unnoticed:\n${caught.output.slice(-2000)}`);
        assert.match(caught.output, /agent-fuzz: violated|ERROR: AddressSanitizer/, caught.output.slice(-2000));
        assert.match(caught.output, /deadly signal|ERROR: AddressSanitizer/);
      });
    }
  });
});
