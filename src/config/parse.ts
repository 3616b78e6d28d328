import { parse as parseIni } from 'ini';
import { ExitCode, JailError } from '../errors';
import { copyOfDefaults } from './defaults';
import type { Config } from './types';
import * as value from './values';
import { show, ValueProblem } from './values';

/**
 * docker-jail.ini is parsed twice: by a strict line scan of our own, which
 * knows the line of every section and key and refuses everything the `ini`
 * package would silently accept (duplicates, stray lines, arrays, inline
 * comments, nested sections), and then by `ini` itself. The values used are
 * ini's, and only after both readings agree.
 */

export const MAX_VALUE_CHARS = 4096;
export const MAX_CONFIG_CHARS = 1024 * 1024;

/**
 * One key: how its text is read into the config, and how the config's value is
 * written back as an administrator would write it (`config check`), so the
 * two can never drift apart (a test reads every written value back).
 */
interface Key {
  read(config: Config, text: string): void;
  write(config: Config): string;
}

const key = (read: Key['read'], write: Key['write']): Key => ({ read, write });
const words = (list: readonly string[]) => list.join(' ');

/** Every section and key, in the order the shipped file documents them. Maps: no key can reach a prototype. */
const KEYS = new Map<string, Map<string, Key>>([
  [
    'engine',
    new Map([
      [
        'socket',
        key(
          (c, v) => {
            c.engine.socket = value.parseSocketPath(v);
          },
          (c) => c.engine.socket,
        ),
      ],
    ]),
  ],
  [
    'access',
    new Map([
      [
        'jail_group',
        key(
          (c, v) => {
            c.access.jailGroup = value.parseGroupName(v);
          },
          (c) => c.access.jailGroup,
        ),
      ],
      [
        'exempt_group',
        key(
          (c, v) => {
            c.access.exemptGroup = value.parseGroupName(v);
          },
          (c) => c.access.exemptGroup,
        ),
      ],
    ]),
  ],
  [
    'jail',
    new Map([
      [
        'image',
        key(
          (c, v) => {
            c.jail.image = value.parseImageReference(v);
          },
          (c) => c.jail.image,
        ),
      ],
      [
        'mode',
        key(
          (c, v) => {
            c.jail.mode = value.parseChoice(v, ['per-user', 'shared'] as const);
          },
          (c) => c.jail.mode,
        ),
      ],
      [
        'name_template',
        key(
          (c, v) => {
            c.jail.nameTemplate = value.parseNameTemplate(v);
          },
          (c) => c.jail.nameTemplate,
        ),
      ],
      [
        'hostname_template',
        key(
          (c, v) => {
            c.jail.hostnameTemplate = value.parseHostnameTemplate(v);
          },
          (c) => c.jail.hostnameTemplate,
        ),
      ],
      [
        'home_mount',
        key(
          (c, v) => {
            c.jail.homeMount = value.parseHomeMount(v);
          },
          (c) => c.jail.homeMount,
        ),
      ],
      [
        'network',
        key(
          (c, v) => {
            c.jail.network = value.parseNetwork(v);
          },
          (c) => c.jail.network,
        ),
      ],
      [
        'cap_drop',
        key(
          (c, v) => {
            c.jail.capDrop = value.parseCapabilities(v, true);
          },
          (c) => words(c.jail.capDrop),
        ),
      ],
      [
        'cap_add',
        key(
          (c, v) => {
            c.jail.capAdd = value.parseCapabilities(v, false);
          },
          (c) => words(c.jail.capAdd),
        ),
      ],
      [
        'no_new_privileges',
        key(
          (c, v) => {
            c.jail.noNewPrivileges = value.parseBoolean(v);
          },
          (c) => value.writeBoolean(c.jail.noNewPrivileges),
        ),
      ],
      [
        'pids_limit',
        key(
          (c, v) => {
            c.jail.pidsLimit = value.parsePidsLimit(v);
          },
          (c) => String(c.jail.pidsLimit),
        ),
      ],
      [
        'memory_limit',
        key(
          (c, v) => {
            c.jail.memoryBytes = value.parseMemorySize(v);
          },
          (c) => value.writeSize(c.jail.memoryBytes),
        ),
      ],
      [
        'cpu_limit',
        key(
          (c, v) => {
            c.jail.cpus = value.parseCpus(v);
          },
          (c) => String(c.jail.cpus),
        ),
      ],
      [
        'tmp_size',
        key(
          (c, v) => {
            c.jail.tmpBytes = value.parseSize(v);
          },
          (c) => value.writeSize(c.jail.tmpBytes),
        ),
      ],
    ]),
  ],
  [
    'session',
    new Map([
      [
        'shell',
        key(
          (c, v) => {
            c.session.shell = value.parseShell(v);
          },
          (c) => c.session.shell,
        ),
      ],
      [
        'workdir',
        key(
          (c, v) => {
            c.session.workdir = value.parseJailPathTemplate(v);
          },
          (c) => c.session.workdir,
        ),
      ],
      [
        'env_whitelist',
        key(
          (c, v) => {
            c.session.envWhitelist = value.parseEnvWhitelist(v);
          },
          (c) => words(c.session.envWhitelist),
        ),
      ],
      [
        'kill_on_logout',
        key(
          (c, v) => {
            c.session.killOnLogout = value.parseBoolean(v);
          },
          (c) => value.writeBoolean(c.session.killOnLogout),
        ),
      ],
      [
        'idle_stop',
        key(
          (c, v) => {
            c.session.idleStopSeconds = value.parseIdleStop(v);
          },
          (c) => (c.session.idleStopSeconds === null ? 'off' : value.writeDuration(c.session.idleStopSeconds)),
        ),
      ],
    ]),
  ],
  [
    'home',
    new Map([
      [
        'mode',
        key(
          (c, v) => {
            c.home.mode = value.parseHomeMode(v);
          },
          (c) => value.writeOctal(c.home.mode),
        ),
      ],
      [
        'umask',
        key(
          (c, v) => {
            c.home.umask = value.parseUmask(v);
          },
          (c) => value.writeOctal(c.home.umask),
        ),
      ],
      [
        'skel',
        key(
          (c, v) => {
            c.home.skel = value.parseAbsolutePath(v, { allowWhitespace: false });
          },
          (c) => c.home.skel,
        ),
      ],
      [
        'bases',
        key(
          (c, v) => {
            c.home.bases = value.parseHomeBases(v);
          },
          (c) => words(c.home.bases),
        ),
      ],
    ]),
  ],
  [
    'pam',
    new Map([
      [
        'timeout',
        key(
          (c, v) => {
            c.pam.timeoutSeconds = value.parsePamTimeout(v);
          },
          (c) => String(c.pam.timeoutSeconds),
        ),
      ],
    ]),
  ],
  [
    'gc',
    new Map([
      [
        'grace',
        key(
          (c, v) => {
            c.gc.graceSeconds = value.parseGrace(v);
          },
          (c) => value.writeDuration(c.gc.graceSeconds),
        ),
      ],
    ]),
  ],
  [
    'image',
    new Map([
      [
        'suite',
        key(
          (c, v) => {
            c.image.suite = value.parseSuite(v);
          },
          (c) => c.image.suite,
        ),
      ],
      [
        'mirror',
        key(
          (c, v) => {
            c.image.mirror = value.parseMirror(v);
          },
          (c) => c.image.mirror,
        ),
      ],
      [
        'packages',
        key(
          (c, v) => {
            c.image.packages = value.parsePackages(v);
          },
          (c) => words(c.image.packages),
        ),
      ],
    ]),
  ],
]);

/** Section name to its key names, in the order the shipped file documents them. */
export const CONFIG_KEYS: ReadonlyMap<string, readonly string[]> = new Map([...KEYS].map(([section, keys]) => [section, [...keys.keys()]]));

/** What the line scan found: every section and key with its line, in file order. */
export interface ScannedKey {
  line: number;
  /** The value as the scan reads it: trimmed, quotes removed. */
  value: string;
}
export interface ScannedSection {
  line: number;
  keys: Map<string, ScannedKey>;
}
export type Scan = Map<string, ScannedSection>;

function configError(message: string): JailError {
  return new JailError(message, ExitCode.config);
}

function sectionOfKey(key: string): string | undefined {
  for (const [section, keys] of KEYS) if (keys.has(key)) return section;
  return undefined;
}

// C0 controls except tab, DEL, and C1 controls: none belongs in the file, and a stray CR splits lines for ini.
const CONTROL_CHAR = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
const SECTION_LINE = /^\[([^\]]*)\]\s*$/; // as ini matches it: the [ in the first column
// At most 64 characters: a longer name is shown cut short (show), never whole, in the message that refuses it.
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** What is wrong with a section header line, or null when it opens a known section for the first time. */
function sectionProblem(line: string, where: string, scan: Scan): string | null {
  if (!line.startsWith('[')) return `${where}: a section header must start in the first column`;
  const match = SECTION_LINE.exec(line);
  if (match === null) return `${where}: a section header is "[name]" alone on its line (put comments on their own line)`;
  const name = match[1].trim();
  if (name.includes('.') && NAME.test(name)) {
    return `${where}: [${name}]: dotted section names are not supported (use one of: ${[...KEYS.keys()].join(', ')})`;
  }
  if (!NAME.test(name)) return `${where}: ${show(name)} is not a section name`;
  if (!KEYS.has(name)) {
    const lower = name.toLowerCase();
    const hint = KEYS.has(lower) ? `; section names are lower case: [${lower}]` : ` (known sections: ${[...KEYS.keys()].join(', ')})`;
    return `${where}: [${name}]: unknown section${hint}`;
  }
  const earlier = scan.get(name);
  if (earlier !== undefined) return `${where}: [${name}]: duplicate section (first on line ${earlier.line}); put all its keys under one [${name}]`;
  return null;
}

/** What is wrong with a key's name where it stands, or null. */
function keyProblem(key: string, where: string, prefix: string, current: { name: string; section: ScannedSection } | null): string | null {
  if (key === '') return `${where}: a line starts with "=" where the key name belongs`;
  if (key.endsWith('[]') && NAME.test(key.slice(0, -2))) {
    return `${prefix}: the array syntax "key[]" is not supported; write one "key = a, b, c" line`;
  }
  if (!NAME.test(key)) return `${where}: ${show(key)} is not a key name`;
  if (current === null) {
    const home = sectionOfKey(key);
    return `${prefix}: key outside any section; ${home === undefined ? 'put it under a [section]' : `put it under [${home}]`}`;
  }
  const known = KEYS.get(current.name);
  if (known === undefined || !known.has(key)) {
    const home = sectionOfKey(key);
    const hint = home !== undefined ? `; ${key} belongs in [${home}]` : ` (known keys in [${current.name}]: ${[...(known?.keys() ?? [])].join(', ')})`;
    return `${prefix}: unknown key${hint}`;
  }
  const earlier = current.section.keys.get(key);
  if (earlier !== undefined) return `${prefix}: duplicate key (first set on line ${earlier.line})`;
  return null;
}

/**
 * Where the readers send a problem: every reader of the live config throws at
 * the first one (jailsh shows one line); `config check` gathers them all.
 */
export type Report = (message: string) => void;

const throwFirst: Report = (message) => {
  throw configError(message);
};

/**
 * The strict reading: reports each line that is not plain `[section]`,
 * `key = value`, comment or blank (throws at the first, by default). The keys
 * under a section header it reported are skipped, as they belong to no section.
 */
export function scanConfig(text: string, file: string, report: Report = throwFirst): Scan {
  const scan: Scan = new Map();
  let current: { name: string; section: ScannedSection } | null = null;
  let skipping = false;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const number = index + 1;
    const line = lines[index].endsWith('\r') ? lines[index].slice(0, -1) : lines[index];
    const where = `${file}:${number}`;
    const control = CONTROL_CHAR.exec(line);
    if (control !== null) {
      const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      report(`${where}: contains the control character U+${code}; save the file as plain text with \\n or \\r\\n line ends`);
      continue;
    }
    // The same tests ini uses, so both skip the same lines.
    if (/^\s*$/.test(line) || /^\s*[;#]/.test(line)) continue;

    if (line.trimStart().startsWith('[')) {
      const problem = sectionProblem(line, where, scan);
      skipping = problem !== null;
      if (problem !== null) {
        report(problem);
        continue;
      }
      const name = (SECTION_LINE.exec(line)?.[1] ?? '').trim();
      const section: ScannedSection = { line: number, keys: new Map() };
      scan.set(name, section);
      current = { name, section };
      continue;
    }
    if (skipping) continue;

    const equals = line.indexOf('=');
    if (equals < 0) {
      report(`${where}: expected "key = value", "[section]" or a comment, got ${show(line.trim())}`);
      continue;
    }
    const key = line.slice(0, equals).trim();
    const prefix = current === null ? `${where}: ${key}` : `${where}: [${current.name}] ${key}`;
    const problem = keyProblem(key, where, prefix, current);
    if (problem !== null || current === null) {
      report(problem ?? `${prefix}: key outside any section`);
      continue;
    }
    let scanned: string;
    try {
      scanned = scanValue(line.slice(equals + 1).trim(), prefix);
    } catch (error) {
      if (!(error instanceof JailError)) throw error;
      report(error.message);
      continue;
    }
    current.section.keys.set(key, { line: number, value: scanned });
  }
  return scan;
}

/**
 * A value is plain text or one pair of double quotes around text. Whatever ini
 * would rewrite (inline comments, backslash escapes, single quotes) is refused,
 * so the two readings cannot differ.
 */
function scanValue(raw: string, prefix: string): string {
  if (raw.length > MAX_VALUE_CHARS) {
    throw configError(`${prefix}: the value is too long (${raw.length} characters, at most ${MAX_VALUE_CHARS})`);
  }
  if (raw.startsWith('"')) {
    const close = raw.indexOf('"', 1);
    if (close < 0) throw configError(`${prefix}: the value opens a " and never closes it`);
    if (close < raw.length - 1) {
      const after = raw.slice(close + 1).trimStart();
      throw configError(
        /^[;#]/.test(after)
          ? `${prefix}: comments after a value are not supported; put the comment on its own line`
          : `${prefix}: text after the closing quote: ${show(after)}`,
      );
    }
    const inner = raw.slice(1, -1);
    if (/[\\\t]/.test(inner)) {
      throw configError(`${prefix}: a quoted value cannot contain \\ or a tab (there are no escapes)`);
    }
    return inner;
  }
  if (raw.startsWith("'") || raw.endsWith("'")) throw configError(`${prefix}: single quotes are not supported; use double quotes`);
  const comment = /[;#]/.exec(raw);
  if (comment !== null) {
    throw configError(`${prefix}: comments after a value are not supported ("${comment[0]}" found); put the comment on its own line, or quote the value`);
  }
  if (raw.includes('\\')) throw configError(`${prefix}: backslashes are not supported in values`);
  return raw;
}

/** ini turns true, false and null into JSON values; everything else stays a string. */
function iniText(parsed: unknown): string | undefined {
  if (typeof parsed === 'string') return parsed;
  if (typeof parsed === 'boolean' || parsed === null) return String(parsed);
  return undefined;
}

function ownEntries(object: unknown): Array<[string, unknown]> {
  return typeof object === 'object' && object !== null ? Object.entries(object) : [];
}

/**
 * The values as ini reads them, after checking that ini sees exactly the
 * sections, keys and values the scan saw. A difference means the file is
 * ambiguous, and is refused.
 */
export function agreeWithIni(scan: Scan, parsed: unknown, file: string): Map<string, Map<string, string>> {
  const mismatch = (where: string, what: string) => configError(`${where}: ${what}; the file reads two ways, refusing it`);
  const values = new Map<string, Map<string, string>>();
  for (const [name, keys] of ownEntries(parsed)) {
    const section = scan.get(name);
    if (section === undefined) throw mismatch(file, `the ini parser sees a section or key ${show(name)} the line scan does not`);
    if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
      throw mismatch(`${file}:${section.line}`, `the ini parser does not read [${name}] as a section`);
    }
    const sectionValues = new Map<string, string>();
    for (const [key, parsedValue] of ownEntries(keys)) {
      const scanned = section.keys.get(key);
      if (scanned === undefined) throw mismatch(`${file}:${section.line}`, `the ini parser sees a key ${show(key)} in [${name}] the line scan does not`);
      const text = iniText(parsedValue);
      if (text !== scanned.value) {
        throw mismatch(`${file}:${scanned.line}: [${name}] ${key}`, `the ini parser reads the value differently from the line scan`);
      }
      sectionValues.set(key, text);
    }
    values.set(name, sectionValues);
  }
  for (const [name, section] of scan) {
    const sectionValues = values.get(name);
    if (sectionValues === undefined) throw mismatch(`${file}:${section.line}`, `the ini parser does not see [${name}]`);
    for (const [key, scanned] of section.keys) {
      if (!sectionValues.has(key)) throw mismatch(`${file}:${scanned.line}: [${name}] ${key}`, 'the ini parser does not see this key');
    }
  }
  return values;
}

/**
 * Checks between keys. Each is reported at a key the file set: the defaults
 * satisfy them all, so a failure always involves one.
 */
function checkAcrossKeys(config: Config, scan: Scan, file: string): void {
  const lineOf = (section: string, key: string): number | undefined => scan.get(section)?.keys.get(key)?.line;
  const fail = (section: string, keys: string[], message: string): never => {
    let at = `${file}: [${section}] ${keys[0]}`;
    let latest = 0;
    for (const key of keys) {
      const line = lineOf(section, key) ?? 0;
      if (line > latest) [at, latest] = [`${file}:${line}: [${section}] ${key}`, line];
    }
    throw configError(`${at}: ${message}`);
  };

  if (config.access.jailGroup === config.access.exemptGroup) {
    fail(
      'access',
      ['jail_group', 'exempt_group'],
      `jail_group and exempt_group are both ${show(config.access.jailGroup)}; a group cannot be both jailed and exempt`,
    );
  }
  if (config.jail.mode === 'per-user' && !value.templateUsesUser(config.jail.nameTemplate)) {
    fail(
      'jail',
      ['name_template', 'mode'],
      `name_template ${show(config.jail.nameTemplate)} has neither {user} nor {uid}, so with mode = per-user every user would get the same container (set mode = shared if that is meant)`,
    );
  }
  const both = config.jail.capAdd.filter((name) => config.jail.capDrop.includes(name));
  if (both.length > 0) {
    fail('jail', ['cap_add', 'cap_drop'], `${both.join(', ')} is in both cap_add and cap_drop; keep it in one of them`);
  }
}

/** Reads docker-jail.ini text; `file` names it in messages and becomes `source`. Pure: touches no file. Throws at the first problem. */
export function parseConfig(text: string, file: string): Config {
  return readConfig(text, file, throwFirst);
}

/**
 * Every problem of docker-jail.ini text, each naming file, line and key
 * (`config check`, `config edit`); `config` is what it would take effect as
 * when there are none. Pure, like parseConfig.
 */
export function checkConfigText(text: string, file: string): { config: Config; problems: string[] } {
  const problems: string[] = [];
  const config = readConfig(text, file, (message) => void problems.push(message));
  return { config, problems };
}

/**
 * The readings in order: lines, then the two parsers' agreement, then each
 * value, then the checks between keys. A later stage runs only when the
 * earlier ones found nothing: it would judge what they already refused.
 */
function readConfig(text: string, file: string, report: Report): Config {
  let count = 0;
  const note: Report = (message) => {
    count++;
    report(message);
  };
  const config = copyOfDefaults();
  config.source = file;
  if (text.length > MAX_CONFIG_CHARS) {
    note(`${file}: refused: larger than ${MAX_CONFIG_CHARS} characters`);
    return config;
  }
  // A UTF-8 byte order mark, as some editors write; ini would take it for part of the first line.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const scan = scanConfig(body, file, note);
  if (count > 0) return config;
  let values: Map<string, Map<string, string>>;
  try {
    values = agreeWithIni(scan, parseIni(body), file);
  } catch (error) {
    if (!(error instanceof JailError)) throw error;
    note(error.message);
    return config;
  }

  for (const [sectionName, section] of scan) {
    const keys = KEYS.get(sectionName);
    const sectionValues = values.get(sectionName);
    for (const [key, scanned] of section.keys) {
      const reader = keys?.get(key);
      const text = sectionValues?.get(key);
      if (reader === undefined || text === undefined) throw configError(`${file}:${scanned.line}: [${sectionName}] ${key}: internal error: no reader`);
      try {
        reader.read(config, text);
      } catch (error) {
        if (!(error instanceof ValueProblem)) throw error;
        note(`${file}:${scanned.line}: [${sectionName}] ${key}: ${error.message}`);
      }
    }
  }
  if (count > 0) return config;
  try {
    checkAcrossKeys(config, scan, file);
  } catch (error) {
    if (!(error instanceof JailError)) throw error;
    note(error.message);
  }
  return config;
}

/**
 * The config as an administrator writes it: every section and key with its
 * value in the file's own terms (`memory_limit = 512m`, `mode = 0700`), like
 * `sshd -T`. Reads back to the same config.
 */
export function formatConfig(config: Config): string {
  const sections: string[] = [];
  for (const [name, keys] of KEYS) {
    const lines = [`[${name}]`];
    for (const [keyName, { write }] of keys) lines.push(`${keyName} = ${iniValue(write(config))}`.trimEnd());
    sections.push(lines.join('\n'));
  }
  return `${sections.join('\n\n')}\n`;
}

/** A value quoted where the scan would otherwise read it differently: a ; or #, a quote first or last, space at an end. */
function iniValue(text: string): string {
  return /[;#]|^["' \t]|["' \t]$/.test(text) ? `"${text}"` : text;
}
