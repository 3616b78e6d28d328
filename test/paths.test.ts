/**
 * Every fixed path of the product is spelled once, in src/host/paths.ts. What
 * cannot import it (the maintainer scripts, the PAM profile, the launcher's C,
 * the systemd units) is checked against it here, so a path renamed there
 * cannot be left behind in them; and no other file of src/ spells one.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as paths from '../src/host/paths';

/** Files in other languages that name the product's paths. */
const OUTSIDE_TYPESCRIPT = [
  'debian/docker-jail.postinst',
  'debian/docker-jail.postrm',
  'debian/docker-jail.prerm',
  'debian/shells.d/docker-jail',
  'debian/rules',
  'pam/docker-jail',
  'launcher/jailsh.c',
  'launcher/pam_docker_jail.c',
  'launcher/Makefile',
  'systemd/docker-jail-gc.service',
  'systemd/docker-jail-gc.timer',
  'systemd/docker-jail-metrics.service',
  'systemd/docker-jail-metrics.timer',
  'systemd/user@.service.d/docker-jail.conf',
];

/** A path of the product: under one of its own directories (not /run/docker-jail-agent, say), its config, or jailsh. */
const PRODUCT_PATH =
  /\/(?:var\/lib|run|usr\/lib|usr\/share)\/docker-jail(?:\/[A-Za-z0-9._@-]+)*(?![A-Za-z0-9._@-])|\/etc\/docker-jail\.ini|\/usr\/bin\/jailsh/g;

const exported = new Set<string>(Object.values(paths).flatMap((value) => (typeof value === 'string' && value.startsWith('/') ? [value] : [])));
/** The product's own top directories: a path directly in one of them must be exported itself. */
const TOP_DIRS = new Set<string>([paths.STATE_DIR, paths.RUN_DIR, paths.PROGRAM_DIR, '/usr/share/docker-jail']);

/**
 * Whether paths.ts names this path: exported as it is, or an entry (a per-uid
 * file, a regular expression's fixed head) of a directory it exports other
 * than the top ones.
 */
function named(path: string): boolean {
  if (exported.has(path)) return true;
  const parent = path.slice(0, path.lastIndexOf('/'));
  return exported.has(parent) && !TOP_DIRS.has(parent);
}

function pathsIn(text: string): string[] {
  return [...new Set(text.match(PRODUCT_PATH) ?? [])];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = `${dir}/${entry}`;
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The code of a TypeScript file without its comments (a comment may say where a program lives). */
function codeOf(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/\s\/\/ .*$/gm, '');
}

describe('paths: every fixed path of the product in src/host/paths.ts', () => {
  it('the check itself finds the paths in text and tells named from unnamed ones', () => {
    assert.deepEqual(pathsIn('rm -rf /var/lib/docker-jail; x=/run/docker-jail-agent/socket; grep -E "^/run/docker-jail/scratch/([0-9]+)$"'), [
      '/var/lib/docker-jail',
      '/run/docker-jail/scratch',
    ]);
    assert.ok(named('/var/lib/docker-jail/shells/1001'));
    assert.ok(named('/var/lib/docker-jail/build/image-'));
    assert.ok(!named('/var/lib/docker-jail/unknown'), 'a new directory in /var/lib/docker-jail passed');
    assert.ok(!named('/run/docker-jail/unknown/1001'));
  });

  for (const file of OUTSIDE_TYPESCRIPT) {
    it(`${file} names only paths that paths.ts exports`, () => {
      const unnamed = pathsIn(readFileSync(file, 'utf8')).filter((path) => !named(path));
      assert.deepEqual(unnamed, [], `${file} names paths that src/host/paths.ts does not export`);
    });
  }

  it('the maintainer scripts still name the state they create and remove', () => {
    const found = OUTSIDE_TYPESCRIPT.filter((file) => file.startsWith('debian/')).flatMap((file) => pathsIn(readFileSync(file, 'utf8')));
    for (const path of [paths.STATE_DIR, paths.JAILSH, paths.BUILD_ROOT, paths.SCRATCH_MOUNTS])
      assert.ok(
        found.some((f) => f === path || f.startsWith(`${path}/`)),
        `${path} is no longer in debian/`,
      );
  });

  it("no other file of src/ spells a path in the product's own directories", () => {
    const spelled = sourceFiles('src')
      .filter((file) => file !== 'src/host/paths.ts')
      .flatMap((file) =>
        pathsIn(codeOf(readFileSync(file, 'utf8')))
          .filter((path) => !path.startsWith('/etc/') && path !== paths.JAILSH)
          .map((path) => `${file}: ${path}`),
      );
    assert.deepEqual(spelled, []);
  });
});
