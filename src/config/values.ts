/**
 * The syntax of each kind of value in docker-jail.ini. Every parser takes the
 * value as written (already unquoted and trimmed) and either returns it typed
 * or throws a ValueProblem whose message the caller prefixes with file, line
 * and key.
 */

/** A value that is wrong; the message says what is wrong and what would be right. */
export class ValueProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueProblem';
  }
}

function problem(message: string): never {
  throw new ValueProblem(message);
}

/** A value as shown in messages: quoted, escaped, and cut short when long. */
export function show(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
}

const TRUE_WORDS = new Set(['yes', 'true', 'on', '1']);
const FALSE_WORDS = new Set(['no', 'false', 'off', '0']);

export function parseBoolean(value: string): boolean {
  const word = value.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return problem(`${show(value)} is not a boolean (use yes or no)`);
}

/** Entries separated by commas and/or whitespace; an empty value is an empty list. */
export function parseList(value: string): string[] {
  const items = value.split(/[\s,]+/).filter((item) => item !== '');
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item)) problem(`${show(item)} is listed twice`);
    seen.add(item);
  }
  return items;
}

export function parseChoice<T extends string>(value: string, choices: readonly T[]): T {
  const found = choices.find((choice) => choice === value);
  if (found === undefined) problem(`${show(value)} is not one of: ${choices.join(', ')}`);
  return found;
}

export const MAX_PIDS = 4194304; // the kernel's PID_MAX_LIMIT

export function parsePidsLimit(value: string): number {
  if (!/^\d{1,8}$/.test(value)) problem(`${show(value)} is not a whole number (use e.g. 512, or 0 for no limit)`);
  const count = Number(value);
  if (count > MAX_PIDS) problem(`${value} is more than the kernel allows (at most ${MAX_PIDS}; 0 means no limit)`);
  return count;
}

const SIZE_UNITS: Record<string, bigint> = { '': 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n };
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024; // Docker refuses smaller memory limits

/** Bytes from e.g. 512m, 2G, 1gb, 1048576; binary units; 0 means no limit. */
export function parseSize(value: string): number {
  const match = /^(\d{1,16})(?:([kmgt])b?|b)?$/i.exec(value);
  if (match === null) problem(`${show(value)} is not a size (use e.g. 512m, 2g, or 0 for no limit)`);
  const bytes = BigInt(match[1]) * SIZE_UNITS[(match[2] ?? '').toLowerCase()];
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) problem(`${show(value)} is too large`);
  return Number(bytes);
}

/** A memory limit: a size Docker accepts. */
export function parseMemorySize(value: string): number {
  const result = parseSize(value);
  if (result !== 0 && result < MIN_MEMORY_BYTES) {
    problem(`${show(value)} is below Docker's minimum of 6m (use at least 6m, or 0 for no limit)`);
  }
  return result;
}

export const MAX_CPUS = 1024;

/** CPUs, fractional; Docker's smallest quota is a hundredth of a CPU. */
export function parseCpus(value: string): number {
  if (!/^\d{1,4}(?:\.\d{1,9})?$/.test(value)) {
    problem(`${show(value)} is not a number of CPUs (use e.g. 0.5, 2, or 0 for no limit)`);
  }
  const cpus = Number(value);
  if (cpus > MAX_CPUS) problem(`${value} is more than ${MAX_CPUS} CPUs`);
  if (cpus !== 0 && cpus < 0.01) problem(`${value} is below Docker's minimum of 0.01 CPUs (use 0 for no limit)`);
  return cpus;
}

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };
export const MAX_IDLE_SECONDS = 365 * 86400;

/** Seconds from e.g. 90, 30m, 2h, 1d; off or never means null. */
export function parseIdleStop(value: string): number | null {
  const word = value.toLowerCase();
  if (word === 'off' || word === 'never') return null;
  const match = /^(\d{1,9})([smhd])?$/i.exec(value);
  if (match === null) problem(`${show(value)} is not a duration (use e.g. 30m, 2h, 1d, a number of seconds, or off)`);
  const seconds = Number(match[1]) * DURATION_UNITS[(match[2] ?? '').toLowerCase()];
  if (seconds > MAX_IDLE_SECONDS) problem(`${show(value)} is longer than a year (use at most 365d, or off)`);
  return seconds;
}

/** A home's mode, in octal: the owner keeps rwx; setuid, setgid and sticky bits are refused. */
export function parseHomeMode(value: string): number {
  if (!/^0?[0-7]{3}$/.test(value)) problem(`${show(value)} is not an octal mode (use e.g. 0700 or 0750)`);
  const mode = parseInt(value, 8);
  if ((mode & 0o700) !== 0o700) problem(`${show(value)} does not give the owner rwx (use e.g. 0700)`);
  return mode;
}

export function parseUmask(value: string): number {
  if (!/^0?[0-7]{3}$/.test(value)) problem(`${show(value)} is not an octal umask (use e.g. 0077 or 0022)`);
  const umask = parseInt(value, 8);
  if ((umask & 0o700) !== 0) problem(`${show(value)} would take permissions from the owner (use e.g. 0077)`);
  return umask;
}

export function parsePamTimeout(value: string): number {
  const match = /^(\d{1,3})(s)?$/.exec(value);
  if (match === null) problem(`${show(value)} is not a number of seconds (use e.g. 10 or 10s)`);
  const seconds = Number(match[1]);
  if (seconds < 1 || seconds > 60) problem(`${show(value)} is out of range (1 to 60 seconds)`);
  return seconds;
}

/** A duration for gc's grace period: seconds, or with s, m, h or d; 0 removes at the first gc run. */
export function parseGrace(value: string): number {
  const seconds = parseIdleStop(value);
  if (seconds === null) problem(`${show(value)} is not a duration (use e.g. 7d, 12h, or 0)`);
  return seconds;
}

interface PathRules {
  /** Whitespace is refused where the path ends up in a command line. */
  allowWhitespace: boolean;
}

/** An absolute path, compared as written: no `..` component may climb out of where it points. */
export function parseAbsolutePath(value: string, rules: PathRules): string {
  if (value === '') problem('is empty (use an absolute path)');
  if (!value.startsWith('/')) problem(`${show(value)} is not an absolute path (it must start with /)`);
  checkPathText(value, rules);
  return value;
}

function checkPathText(value: string, rules: PathRules): void {
  // Docker tidies "." away (/./etc is /etc), so neither "." nor ".." may hide where a path really goes.
  for (const dots of ['..', '.']) if (value.split('/').includes(dots)) problem(`${show(value)} contains a "${dots}" component`);
  if (!rules.allowWhitespace && /\s/.test(value)) problem(`${show(value)} contains whitespace`);
}

export const MAX_SOCKET_PATH_BYTES = 107; // sun_path holds 108 bytes, one for the terminating NUL

export function parseSocketPath(value: string): string {
  const path = parseAbsolutePath(value, { allowWhitespace: true });
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    problem(`${show(value)} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the limit for a unix socket path`);
  }
  return path;
}

const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

export function parseGroupName(value: string): string {
  if (!GROUP_NAME.test(value)) {
    problem(`${show(value)} is not a group name (a letter or _, then up to 31 letters, digits, _ . or -)`);
  }
  return value;
}

/** A template split into its placeholders and the literal text between them. */
interface Template {
  placeholders: Set<string>;
  /** The template with every placeholder removed. */
  literal: string;
  /** The first piece: a literal character, or a placeholder's name in braces. */
  first: string;
}

function parseTemplate(value: string, allowed: readonly string[]): Template {
  const placeholders = new Set<string>();
  let literal = '';
  let first = '';
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (char === '{') {
      const end = value.indexOf('}', i + 1);
      if (end < 0) problem(`${show(value)} has a "{" without its "}"`);
      const name = value.slice(i + 1, end);
      if (!allowed.includes(name)) {
        problem(`${show(value)} has the unknown placeholder {${name}} (allowed: ${allowed.map((a) => `{${a}}`).join(', ')})`);
      }
      placeholders.add(name);
      if (i === 0) first = `{${name}}`;
      i = end;
    } else if (char === '}') {
      problem(`${show(value)} has a "}" without its "{"`);
    } else {
      if (i === 0) first = char;
      literal += char;
    }
  }
  return { placeholders, literal, first };
}

function checkLiteral(value: string, template: Template, allowedChar: RegExp, allowedText: string, what: string): void {
  for (const char of template.literal) {
    if (!allowedChar.test(char)) problem(`${show(value)} contains ${show(char)}, which ${what} may not (use ${allowedText})`);
  }
}

/** Docker container names must start with a letter or digit; a user name may start with _ so it cannot come first. */
export function parseNameTemplate(value: string): string {
  if (value === '') problem('is empty (use e.g. jail-{user})');
  const template = parseTemplate(value, ['user', 'uid']);
  checkLiteral(value, template, /[A-Za-z0-9_.-]/, 'letters, digits, _ . -', 'a container name');
  if (!/^[A-Za-z0-9]$/.test(template.first) && template.first !== '{uid}') {
    problem(`${show(value)} must start with a letter or digit (or {uid}), as Docker container names do`);
  }
  return value;
}

export function templateUsesUser(value: string): boolean {
  return value.includes('{user}') || value.includes('{uid}');
}

export function parseHostnameTemplate(value: string): string {
  if (value === '') problem('is empty (use e.g. {user}-jail)');
  const template = parseTemplate(value, ['user', 'uid']);
  checkLiteral(value, template, /[A-Za-z0-9-]/, 'letters, digits and -', 'a hostname');
  if (template.first === '-' || value.endsWith('-')) problem(`${show(value)} may not start or end with "-", as hostnames may not`);
  return value;
}

/**
 * Directories of the jail image that a user-owned mount must not replace:
 * the jail would then run programs and libraries the user wrote.
 */
const SYSTEM_DIRECTORIES = new Set(['bin', 'boot', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'sbin', 'sys', 'usr']);

/** A path inside the jail, with {home}, {user} and {uid}; {home} is absolute, so it may come first. */
export function parseJailPathTemplate(value: string): string {
  if (value === '') problem('is empty (use e.g. {home})');
  parseTemplate(value, ['home', 'user', 'uid']);
  if (!value.startsWith('/') && !value.startsWith('{home}')) {
    problem(`${show(value)} is not an absolute path (it must start with / or {home})`);
  }
  checkPathText(value, { allowWhitespace: false });
  return value;
}

export function parseHomeMount(value: string): string {
  parseJailPathTemplate(value);
  if (value.startsWith('/')) checkHomeTarget(value);
  return value;
}

/**
 * Where a home may be mounted in a jail: never over its root or a system
 * directory (the jail would run the user's files as its system). Checked on
 * the template when the config is read, and on the path once {user} or {home}
 * is filled in (a user named etc, a home under /usr).
 */
export function checkHomeTarget(path: string): void {
  checkPathText(path, { allowWhitespace: false });
  const top = path.split('/').filter((part) => part !== '')[0];
  if (top === undefined) problem(`${show(path)} would mount the home over the jail's root directory`);
  if (SYSTEM_DIRECTORIES.has(top)) {
    problem(`${show(path)} would mount the user's home over the jail's /${top}, so the jail would run the user's files as its system`);
  }
}

/** A path with repeated and trailing slashes dropped: /home//a/ is /home/a. Never resolves a symlink. */
function normalisePath(path: string): string {
  return `/${path
    .split('/')
    .filter((part) => part !== '')
    .join('/')}`;
}

/** [home] bases: the directories homes may lie below (SECURITY.md invariant 6); `/` would let a home be /etc/anything. */
export function parseHomeBases(value: string): string[] {
  const bases: string[] = [];
  for (const item of parseList(value)) {
    const base = normalisePath(parseAbsolutePath(item, { allowWhitespace: false }));
    if (base === '/') problem(`${show(item)} would let a home be anywhere, /etc included (use e.g. /home)`);
    if (bases.includes(base)) problem(`${show(item)} is listed twice`);
    bases.push(base);
  }
  if (bases.length === 0) problem('is empty (use e.g. /home, or several: /home /srv/homes)');
  return bases;
}

/**
 * Why root must not make or use `home` (an NSS entry, so a directory's to say),
 * or null when it lies strictly below one of the bases. Compared as written,
 * component by component (/home2/x is not below /home), never through a symlink.
 */
export function homeOutsideBases(home: string, bases: readonly string[]): string | null {
  if (!home.startsWith('/')) return 'is not an absolute path';
  const parts = home.split('/').filter((part) => part !== '');
  if (parts.includes('.') || parts.includes('..')) return 'has a "." or ".." component';
  const below = (base: string) => {
    const baseParts = base.split('/').filter((part) => part !== '');
    return parts.length > baseParts.length && baseParts.every((part, i) => parts[i] === part);
  };
  return bases.some(below) ? null : `is not below [home] bases (${bases.join(' ')})`;
}

export function parseShell(value: string): string {
  return parseAbsolutePath(value, { allowWhitespace: false });
}

// Docker's reference grammar (distribution/reference), restricted to sha256 digests.
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d{1,5})?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function parseImageReference(value: string): string {
  const usage = '(use e.g. docker-jail/base:bookworm, with lowercase path components, an optional :tag and an optional @sha256:digest)';
  if (value === '') problem(`is empty ${usage}`);
  let rest = value;
  const at = rest.indexOf('@');
  if (at >= 0) {
    if (!DIGEST.test(rest.slice(at + 1))) problem(`${show(value)} has a digest that is not sha256: and 64 lowercase hex digits`);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    if (!TAG.test(rest.slice(colon + 1))) problem(`${show(value)} has an invalid tag ${usage}`);
    rest = rest.slice(0, colon);
  }
  if (rest.length > 255) problem(`${show(value)} has a name longer than 255 characters`);
  const parts = rest.split('/');
  // As in Docker: the first part names a registry when it has a dot or a port, or is localhost.
  if (parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === 'localhost')) {
    if (!DOMAIN.test(parts[0])) problem(`${show(value)} has an invalid registry name ${show(parts[0])}`);
    parts.shift();
  }
  for (const part of parts) {
    if (!PATH_COMPONENT.test(part)) problem(`${show(value)} is not an image reference ${usage}`);
  }
  return value;
}

const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function parseNetwork(value: string): string {
  if (value.toLowerCase() === 'host') problem('"host" is refused: it would give jails the host\'s network stack');
  if (value.toLowerCase().startsWith('container:')) {
    problem(`${show(value)} is refused: it would put jails into another container's network namespace`);
  }
  if (!NETWORK_NAME.test(value)) {
    problem(`${show(value)} is not a network (use none, bridge, or a user-defined network's name)`);
  }
  return value;
}

/** Every capability of Linux (include/uapi/linux/capability.h, up to CAP_CHECKPOINT_RESTORE). */
const CAPABILITIES = new Set([
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
]);

/** Capability names, normalised to upper case without the CAP_ prefix, as Docker takes them. */
export function parseCapabilities(value: string, allowAll: boolean): string[] {
  const names: string[] = [];
  for (const item of parseList(value)) {
    const name = item.toUpperCase().replace(/^CAP_/, '');
    if (name === 'ALL') {
      if (!allowAll) {
        problem('ALL is refused here: it would give jails every capability, SYS_ADMIN included; name the capabilities the jails need');
      }
    } else if (!CAPABILITIES.has(name)) {
      problem(`${show(item)} is not a Linux capability (use e.g. NET_RAW or CAP_NET_RAW)`);
    }
    if (names.includes(name)) problem(`${show(item)} is listed twice`);
    names.push(name);
  }
  return names;
}

/** Variables that would change what runs, and why; a whitelist entry may not let any of them through. */
const REFUSED_VARIABLES: ReadonlyArray<{ name: string; prefix: boolean; why: string }> = [
  { name: 'LD_', prefix: true, why: 'the dynamic linker loads code named by LD_* variables' },
  { name: 'PATH', prefix: false, why: 'PATH decides which program a command runs' },
  { name: 'HOME', prefix: false, why: "docker-jail sets HOME from the user's account" },
  { name: 'USER', prefix: false, why: "docker-jail sets USER from the user's account" },
  { name: 'LOGNAME', prefix: false, why: "docker-jail sets LOGNAME from the user's account" },
  { name: 'SHELL', prefix: false, why: 'docker-jail sets SHELL from the configuration' },
  { name: 'DOCKER_JAIL', prefix: true, why: 'DOCKER_JAIL* variables are reserved for docker-jail itself' },
  { name: 'BASH_ENV', prefix: false, why: 'bash runs the file BASH_ENV names' },
  { name: 'BASH_FUNC_', prefix: true, why: 'bash turns BASH_FUNC_* variables into functions that replace commands' },
  { name: 'ENV', prefix: false, why: 'sh runs the file ENV names' },
];

const ENV_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

export function parseEnvWhitelist(value: string): string[] {
  const entries = parseList(value);
  for (const entry of entries) {
    if (entry === '*') problem('"*" is refused: it would pass every variable into the jail, PATH and LD_PRELOAD included');
    if (!ENV_PATTERN.test(entry)) {
      problem(`${show(entry)} is not a variable name (letters, digits and _, not starting with a digit; a trailing * matches a prefix)`);
    }
    const isPrefix = entry.endsWith('*');
    const stem = isPrefix ? entry.slice(0, -1) : entry;
    for (const refused of REFUSED_VARIABLES) {
      // Two name sets overlap when one is a prefix pattern that the other's stem starts with.
      const overlaps =
        (isPrefix && refused.name.startsWith(stem)) ||
        (refused.prefix && stem.startsWith(refused.name)) ||
        (!isPrefix && !refused.prefix && stem === refused.name);
      if (overlaps) {
        const label = refused.prefix ? `${refused.name}*` : refused.name;
        problem(`${show(entry)} is refused: it would pass ${label} into the jail, and ${refused.why}`);
      }
    }
  }
  return entries;
}

export function parseSuite(value: string): string {
  if (!/^[a-z]{1,32}$/.test(value)) problem(`${show(value)} is not a Debian suite name (lowercase letters, e.g. bookworm)`);
  return value;
}

export function parseMirror(value: string): string {
  if (value === 'auto') return value;
  if (/\s/.test(value)) problem(`${show(value)} contains whitespace`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return problem(`${show(value)} is not a URL (use auto, or e.g. http://deb.debian.org/debian)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') problem(`${show(value)} is not an http or https URL`);
  if (url.username !== '' || url.password !== '') {
    // Not shown: config errors reach jailed users' terminals.
    problem("contains a user name or password; keep credentials out of this file (use apt's auth.conf)");
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    problem(`${show(value)} has a query or fragment, which a Debian mirror URL does not`);
  }
  return value;
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

export function parsePackages(value: string): string[] {
  const packages = parseList(value);
  for (const name of packages) {
    if (!PACKAGE_NAME.test(name)) problem(`${show(name)} is not a Debian package name`);
  }
  return packages;
}

// The inverse of the parsers above, for `config check`: each value as an administrator writes it, and
// as its parser reads it back.

export function writeBoolean(on: boolean): string {
  return on ? 'yes' : 'no';
}

/** Bytes in the largest binary unit that holds them whole: 1073741824 is 1g, 1536m stays 1536m. */
export function writeSize(bytes: number): string {
  for (const unit of ['t', 'g', 'm', 'k'] as const) {
    const size = Number(SIZE_UNITS[unit]);
    if (bytes !== 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** Seconds in the largest unit that holds them whole: 604800 is 7d, 90 is 90s; 0 stays 0. */
export function writeDuration(seconds: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (seconds !== 0 && seconds % DURATION_UNITS[unit] === 0) return `${seconds / DURATION_UNITS[unit]}${unit}`;
  }
  return seconds === 0 ? '0' : `${seconds}s`;
}

/** A mode or umask as its parsers take it: 0700, 0077. */
export function writeOctal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
