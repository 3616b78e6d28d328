import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * sshd's configuration files read the way sshd reads them (servconf.c), for
 * what `sshd -T` cannot show: which Match blocks come ahead of docker-jail's
 * drop-in, whatever address, user or host they match. The rules followed:
 * keywords are case-insensitive; a keyword is separated from its arguments by
 * blanks or one `=`; arguments may be quoted and a `#` word ends the line;
 * `Include` takes globs, relative ones under /etc/ssh, each glob's files read
 * in byte order at the place of the Include; a Match block runs to the next
 * Match or the end of its file, and a file included inside a Match block is
 * part of that block until its own first Match.
 */

/** A Match line: where it is, and its criteria as written. */
export interface MatchBlock {
  file: string;
  line: number;
  criteria: string[];
}

/** One directive as sshd reads it, with the Match block it belongs to (null: every connection). */
export interface SshdDirective {
  file: string;
  line: number;
  /** Lower case, as sshd compares it. */
  keyword: string;
  args: string[];
  match: MatchBlock | null;
}

/** A file sshd opens, where it opens it: `at` is the index of its first directive, `within` the Match block around the Include. */
export interface SshdFileRead {
  path: string;
  at: number;
  within: MatchBlock | null;
}

export interface SshdConfigReading {
  directives: SshdDirective[];
  files: SshdFileRead[];
}

/** sshd's READCONF_MAX_DEPTH: deeper Includes are fatal to it. */
const MAX_INCLUDE_DEPTH = 16;

/** Reads `path` and everything it includes, in sshd's order. Throws what sshd would fail on (an unreadable file, a loop). */
export function readSshdConfig(path: string, sshDir = '/etc/ssh'): SshdConfigReading {
  const reading: SshdConfigReading = { directives: [], files: [] };
  readFile(path, sshDir, null, 0, reading);
  return reading;
}

function readFile(path: string, sshDir: string, within: MatchBlock | null, depth: number, reading: SshdConfigReading): void {
  if (depth > MAX_INCLUDE_DEPTH) throw new Error(`${path}: Include nested deeper than ${MAX_INCLUDE_DEPTH} (a loop?)`);
  reading.files.push({ path, at: reading.directives.length, within });
  let match = within;
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      const parsed = parseLine(text);
      if (parsed === null) return;
      const { keyword, args } = parsed;
      if (keyword === 'match') match = { file: path, line: index + 1, criteria: args };
      reading.directives.push({ file: path, line: index + 1, keyword, args, match });
      if (keyword === 'include') {
        for (const pattern of args) {
          for (const included of expandGlob(pattern.startsWith('/') ? pattern : join(sshDir, pattern))) readFile(included, sshDir, match, depth + 1, reading);
        }
      }
    });
}

/** A line's keyword (lower case) and arguments, or null for a blank line or a comment. */
export function parseLine(text: string): { keyword: string; args: string[] } | null {
  const found = /^[ \t\f]*([^ \t\f=]+)[ \t\f]*=?[ \t\f]*(.*)$/.exec(text.replace(/[ \t\f\r]+$/, ''));
  if (found === null || found[1].startsWith('#')) return null;
  return { keyword: found[1].toLowerCase(), args: splitArguments(found[2]) };
}

/** argv_split() of OpenSSH's misc.c, terminating at a comment: blanks separate, quotes group, \ escapes quotes, \ and blanks. */
function splitArguments(text: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === ' ' || text[i] === '\t') {
      i++;
      continue;
    }
    if (text[i] === '#') break;
    let arg = '';
    let quote = '';
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === "'" || text[i + 1] === '\\' || (quote === '' && text[i + 1] === ' '))) arg += text[++i];
      else if (quote === '' && (c === ' ' || c === '\t')) break;
      else if (quote === '' && (c === '"' || c === "'")) quote = c;
      else if (quote !== '' && c === quote) quote = '';
      else arg += c;
    }
    args.push(arg);
  }
  return args;
}

/** glob(3) as sshd calls it (no flags): *, ? and [...] per path component, no match for a leading dot, results sorted. */
export function expandGlob(pattern: string): string[] {
  let paths = ['/'];
  for (const component of pattern.split('/').filter((c) => c !== '')) {
    if (!/[*?[]/.test(component)) {
      paths = paths.map((p) => join(p, component));
      continue;
    }
    const matcher = globComponent(component);
    paths = paths.flatMap((p) => {
      try {
        return readdirSync(p)
          .filter((name) => matcher.test(name))
          .map((name) => join(p, name));
      } catch {
        return []; // not a directory, or gone
      }
    });
  }
  // Components without wildcards were taken as written: glob(3) returns only what exists. Byte order, as its strcmp in sshd's C locale.
  return paths.filter(exists).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false; // missing, or under something that is not a directory
  }
}

function globComponent(component: string): RegExp {
  let source = component.startsWith('.') ? '' : '(?!\\.)';
  for (let i = 0; i < component.length; i++) {
    const c = component[i];
    const close = c === '[' ? component.indexOf(']', i + 2) : -1;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (close > 0) {
      const set = component.slice(i + 1, close);
      source += `[${set.startsWith('!') ? `^${set.slice(1)}` : set.replace(/^\^/, '\\^')}]`;
      i = close;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** A Match-block directive read ahead of the drop-in that sets one of its settings to something else. */
export interface ShadowingDirective {
  directive: SshdDirective;
  match: MatchBlock;
  /** The setting as the drop-in spells it. */
  setting: string;
  policyValue: string;
}

export interface PolicyPlacement {
  /** Whether sshd reads the drop-in at all. */
  read: boolean;
  /** The Match block around the Include that reads it: its block then applies only inside that one. */
  within: MatchBlock | null;
  shadows: ShadowingDirective[];
}

/**
 * Where sshd reads the drop-in, and what could take its place. sshd keeps the
 * first value a matching Match block gives each keyword, so a block read
 * earlier that sets one of the drop-in's settings wins for every connection it
 * matches (an address range, a user, a host name: sshd -T tries only a few).
 * A block that rules out the jail group (Group with !jail_group) cannot apply.
 */
export function placePolicy(reading: SshdConfigReading, dropIn: string, settings: readonly (readonly [string, string])[], jailGroup: string): PolicyPlacement {
  const opened = reading.files.find((f) => f.path === dropIn);
  const ahead = reading.directives.slice(0, opened?.at ?? reading.directives.length);
  const shadows: ShadowingDirective[] = [];
  for (const directive of ahead) {
    const { match } = directive;
    if (match === null || excludesGroup(match, jailGroup)) continue;
    const setting = settings.find(([keyword]) => keyword.toLowerCase() === directive.keyword);
    if (setting === undefined || (directive.args[0] ?? '').toLowerCase() === setting[1].toLowerCase()) continue;
    shadows.push({ directive, match, setting: setting[0], policyValue: setting[1] });
  }
  return { read: opened !== undefined, within: opened?.within ?? null, shadows };
}

/** A directive in a Match block that opens something on the host for the connections it matches. */
export interface OpeningDirective {
  directive: SshdDirective;
  match: MatchBlock;
  doors: string[];
}

/**
 * Directives of Match blocks anywhere (ahead of the drop-in or after it: the
 * drop-in does not set these keywords, so the first matching block decides)
 * that `judge` finds open something, e.g. in-process sftp or AcceptEnv *
 * for an address range sshd -T was not asked about. Blocks that rule out the
 * jail group cannot apply.
 */
export function openingDirectives(reading: SshdConfigReading, jailGroup: string, judge: (keyword: string, args: string[]) => string[]): OpeningDirective[] {
  return reading.directives.flatMap((directive) => {
    const { match } = directive;
    if (match === null || excludesGroup(match, jailGroup)) return [];
    const doors = judge(directive.keyword, [directive.args.join(' ')]);
    return doors.length > 0 ? [{ directive, match, doors }] : [];
  });
}

/** Match criteria are ANDed: one Group criterion whose list negates the jail group excludes its members (groupaccess.c: a negated match wins). */
function excludesGroup(match: MatchBlock, jailGroup: string): boolean {
  return match.criteria.some((criterion, i) => criterion.toLowerCase() === 'group' && (match.criteria[i + 1] ?? '').split(',').includes(`!${jailGroup}`));
}
