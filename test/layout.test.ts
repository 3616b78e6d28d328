import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * The layout shows the architecture, and this keeps it so: dependencies point
 * one way. Commands use the domain; the domain uses the two ports (engine: the
 * Docker Engine API; host: every privileged local effect); the ports use
 * nothing of either. Read from what the last `./build.sh build` bundled (the
 * test command builds first), so every import counts as esbuild resolved it.
 */
const META = 'build/meta.json';

/** Each part of src/, and the parts it may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  main: ['commands', 'policy', 'errors'],
  commands: ['policy', 'jail', 'session', 'doctor', 'config', 'configEdit', 'identity', 'audit', 'errors'],
  // The domain.
  policy: ['jail', 'session', 'engine', 'host', 'identity', 'config', 'audit', 'errors'],
  jail: ['policy', 'session', 'engine', 'host', 'identity', 'config', 'audit', 'errors'],
  session: ['policy', 'jail', 'engine', 'host', 'identity', 'config', 'audit', 'errors'],
  doctor: ['policy', 'jail', 'engine', 'host', 'identity', 'config', 'errors'],
  // config edit: the live config replaced only by a checked one (issue 17).
  configEdit: ['config', 'host', 'errors'],
  // The ports: nothing of the domain or the commands.
  engine: ['errors'],
  host: ['config', 'errors'],
  // As they were: leaves the others build on.
  config: ['errors'],
  identity: ['host', 'errors'],
  audit: ['host', 'errors'],
  errors: [],
};

/** src/main.ts -> main, src/jail/gc.ts -> jail, src/errors.ts -> errors. */
function partOf(file: string): string {
  const [, part] = /^src\/([^/.]+)/.exec(file) ?? [];
  return part ?? file;
}

describe('the layout of src/', () => {
  const imports = () => {
    assert.ok(existsSync(META), `${META} is missing: run ./build.sh build first`);
    const meta = JSON.parse(readFileSync(META, 'utf8')) as { inputs: Record<string, { imports: { path: string; external?: boolean }[] }> };
    return Object.entries(meta.inputs)
      .filter(([file]) => file.startsWith('src/'))
      .flatMap(([file, input]) => input.imports.filter((i) => !i.external && i.path.startsWith('src/')).map((i) => ({ from: file, to: i.path })));
  };

  it('has every part of src/ in the rules, and nothing else there', () => {
    const parts = readdirSync('src').map((entry) => entry.replace(/\.ts$/, ''));
    assert.deepEqual(
      parts.filter((p) => ALLOWED[p] === undefined),
      [],
    );
  });

  it('points every dependency one way: commands -> domain (policy, jail, session) -> ports (engine, host)', () => {
    const all = imports();
    assert.ok(all.length > 100, `only ${all.length} imports between files of src/: is this meta.json from this build?`);
    const broken = all.filter(({ from, to }) => partOf(from) !== partOf(to) && !ALLOWED[partOf(from)]?.includes(partOf(to)));
    assert.deepEqual(
      broken.map(({ from, to }) => `${from} imports ${to}`),
      [],
    );
  });

  it('has no command importing another: each is args -> one domain call -> print', () => {
    // The registry lists the commands; printable, progress and liveScreen are the output commands share, perUser how
    // a command over several users reports each one.
    const shared = new Set([
      'src/commands/registry.ts',
      'src/commands/printable.ts',
      'src/commands/progress.ts',
      'src/commands/liveScreen.ts',
      'src/commands/perUser.ts',
    ]);
    const crossing = imports().filter(
      ({ from, to }) => from.startsWith('src/commands/') && !shared.has(from) && to.startsWith('src/commands/') && !shared.has(to),
    );
    assert.deepEqual(
      crossing.map(({ from, to }) => `${from} imports ${to}`),
      [],
    );
  });
});
