// Tests of the static setuid launcher, launcher/jailsh.c: how it is built.
// What it does as a setuid program, run as a real user, is in
// launcher.e2e.test.ts (it needs root).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildLauncher, launcherSource, mustRun } from './support/launcherBuild';

const defaultMainProgram = '/usr/lib/docker-jail/docker-jail';

/** p_type of every ELF program header (PT_INTERP = 3, PT_DYNAMIC = 2). */
function programHeaderTypes(elf: Buffer): number[] {
  assert.deepEqual([...elf.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], 'not an ELF file');
  const is64 = elf[4] === 2;
  const little = elf[5] === 1;
  const u16 = (at: number) => (little ? elf.readUInt16LE(at) : elf.readUInt16BE(at));
  const u32 = (at: number) => (little ? elf.readUInt32LE(at) : elf.readUInt32BE(at));
  const u64 = (at: number) => Number(little ? elf.readBigUInt64LE(at) : elf.readBigUInt64BE(at));
  const phoff = is64 ? u64(0x20) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  return Array.from({ length: phnum }, (_, i) => u32(phoff + i * phentsize));
}

describe('launcher build', function () {
  this.timeout(60000);
  let buildDir = '';
  let binary = '';

  before(function () {
    buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'djl-launcher-build-'));
    binary = buildLauncher(buildDir);
  });

  after(function () {
    if (buildDir) fs.rmSync(buildDir, { recursive: true, force: true });
  });

  it('is statically linked (no ELF interpreter, no shared library needed), as a static PIE', function () {
    const types = programHeaderTypes(fs.readFileSync(binary));
    assert.ok(types.length > 0, 'no program headers');
    assert.ok(!types.includes(3), 'has PT_INTERP: dynamically linked');
    // A static PIE has a dynamic section for relocating itself, but needs no library.
    const dynamic = mustRun('readelf', ['-d', binary]);
    assert.doesNotMatch(dynamic, /\(NEEDED\)/, 'needs a shared library');
    assert.match(dynamic, /Flags: NOW PIE/);
  });

  it('execs /usr/lib/docker-jail/docker-jail unless MAIN_PROGRAM is given', function () {
    assert.ok(fs.readFileSync(binary).includes(Buffer.from(`${defaultMainProgram}\0`)));
  });

  it('links no NSS lookup (getpwuid and friends would load libnss as root)', function () {
    const symbols = mustRun('nm', [binary])
      .split('\n')
      .map((line) => line.trim().split(/\s+/).pop() ?? '');
    for (const nss of ['getpwuid', 'getpwnam', 'getgrgid', 'getgrnam', 'initgroups', 'getgrouplist', 'getaddrinfo']) {
      assert.ok(!symbols.includes(nss), `links ${nss}`);
    }
  });

  // DESIGN: "keep it under ~200 lines"; the limit floors took it a little past 200.
  it('stays around 250 non-blank lines (at most 280)', function () {
    const lines = fs.readFileSync(launcherSource, 'utf8').split('\n');
    const nonBlank = lines.filter((line) => line.trim() !== '').length;
    assert.ok(nonBlank <= 280, `${nonBlank} non-blank lines`);
  });
});
