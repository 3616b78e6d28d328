import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';

/**
 * The privileged executable holds our own code and the ini parser, nothing
 * else: every login parses all of it, as root. These checks read what the last
 * `./build.sh build` bundled (the test command builds first).
 */
const META = 'build/meta.json';

describe('the bundled main program', () => {
  const meta = () => {
    assert.ok(existsSync(META), `${META} is missing: run ./build.sh build first`);
    return JSON.parse(readFileSync(META, 'utf8')) as { inputs: Record<string, { imports: { path: string; external?: boolean }[] }> };
  };

  it('contains only src/ and the ini package', () => {
    const outside = Object.keys(meta().inputs).filter((file) => !file.startsWith('src/') && !file.startsWith('node_modules/ini/'));
    assert.deepEqual(outside, []);
  });

  it('loads no TLS, crypto, compression or SSH code: the engine is reached over its unix socket only', () => {
    const builtins = new Set(Object.values(meta().inputs).flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path.replace(/^node:/, ''))));
    for (const unwanted of ['https', 'tls', 'crypto', 'zlib', 'http2', 'dns', 'readline']) assert.ok(!builtins.has(unwanted), `the bundle imports ${unwanted}`);
    assert.ok(builtins.has('http'), 'the bundle no longer imports http: is this meta.json from this build?');
  });
});
