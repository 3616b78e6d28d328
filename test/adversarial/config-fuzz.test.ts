// Property-based fuzzing of the configuration parser and loader
// (src/config), with fast-check: whatever text /etc/docker-jail.ini holds,
// parseConfig returns a config that keeps every security rule, or throws a
// JailError that names the file and the line (and the key, at that line);
// never another exception, never a hang. config-fuzz.e2e.test.ts proves the
// loader's ownership, mode and symlink refusals on real files.
//
// A failure prints fast-check's seed and path: pass them to fc.assert as
// { seed, path } to replay the exact counterexample.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { defaultConfig, parseConfig } from '../../src/config/load';
import { CONFIG_KEYS, MAX_CONFIG_CHARS, MAX_VALUE_CHARS } from '../../src/config/parse';
import type { Config } from '../../src/config/types';
import { ExitCode, JailError } from '../../src/errors';

const FILE = '/etc/docker-jail.ini';
const SHIPPED = path.join(__dirname, '..', '..', 'etc', 'examples', 'docker-jail.ini'); // every key, commented out
const SHIPPED_TEXT = fs.readFileSync(SHIPPED, 'utf8');
/** The shipped file with every documented `# key = value` line made live: a valid file that sets every key. */
const LIVE_TEXT = SHIPPED_TEXT.replace(/^# (?=[a-z_]+ =(?: |$))/gm, '');
const SECTIONS = [...CONFIG_KEYS.keys()];
/** No single parse may take longer than this, whatever the text (a hang or a regex blow-up fails here). */
const PARSE_BUDGET_MS = 2000;
/** Error messages reach a jailed user's terminal and syslog: one short line. */
const MAX_MESSAGE_CHARS = 1024;

type Outcome = { ok: true; config: Config } | { ok: false; error: JailError };

/** Parses, and fails the test on anything but a config or a config JailError, or on a slow parse. */
function outcome(text: string): Outcome {
  const started = process.hrtime.bigint();
  let result: Outcome;
  try {
    result = { ok: true, config: parseConfig(text, FILE) };
  } catch (error) {
    if (!(error instanceof JailError)) {
      throw new Error(`parseConfig threw ${String(error)} (not a JailError) for ${JSON.stringify(text.slice(0, 300))}`);
    }
    assert.equal(error.exitCode, ExitCode.config, error.message);
    result = { ok: false, error };
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(ms < PARSE_BUDGET_MS, `parseConfig took ${ms.toFixed(0)} ms for ${text.length} characters`);
  return result;
}

/** The lines as the parser numbers them: after one leading byte order mark, split at \n, one trailing \r dropped. */
function linesOf(text: string): string[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  return body.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

const SECTION_HEADER = /^\[([^\]]*)\]\s*$/;
const KEY_MESSAGE = /^\/etc\/docker-jail\.ini:(\d+): \[([^\]]*)\] ([^\s:]+): /;

/**
 * A refusal names file:line, the line exists, and when the message names
 * "[section] key" that key is written on that line, under that section.
 * Returns the line number.
 */
function assertRefusedAtLine(error: JailError, text: string): number {
  const match = /^\/etc\/docker-jail\.ini:(\d+): \S/.exec(error.message);
  assert.ok(match, `no file:line in ${JSON.stringify(error.message.slice(0, 300))}`);
  const line = Number(match[1]);
  const lines = linesOf(text);
  assert.ok(line >= 1 && line <= lines.length, `line ${line} of a ${lines.length}-line file: ${error.message.slice(0, 200)}`);
  const named = KEY_MESSAGE.exec(error.message);
  if (named !== null) {
    const written = lines[line - 1];
    const key = written.slice(0, written.indexOf('=')).trim();
    // A long key may be shown cut short, like a long value: "aaaa...".
    const same = key === named[3] || (named[3].endsWith('...') && key.length > named[3].length - 3 && key.startsWith(named[3].slice(0, -3)));
    assert.ok(same, `${error.message.slice(0, 200)}\n  but line ${line} is ${JSON.stringify(written.slice(0, 200))}`);
    const header = lines
      .slice(0, line - 1)
      .reverse()
      .map((l) => SECTION_HEADER.exec(l))
      .find((m) => m !== null);
    assert.ok(header?.[1].trim() === named[2], `${error.message.slice(0, 200)}: the key is not under [${named[2]}]`);
  }
  return line;
}

/** Variables that must never pass into the jail, whatever the whitelist says (see parseEnvWhitelist). */
const NEVER_PASSED = [
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'LD_AUDIT',
  'LD_',
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'BASH_ENV',
  'ENV',
  'BASH_FUNC_ls%%',
  'BASH_FUNC_',
  'DOCKER_JAIL_UID',
  'DOCKER_JAIL_SESSION',
  'DOCKER_JAIL',
];
const SYSTEM_DIRS = ['bin', 'boot', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'sbin', 'sys', 'usr'];

function isDotDotFree(value: string): boolean {
  return !value.split('/').includes('..');
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsIn);
  return [];
}

/** Same own keys, value types and prototypes as the defaults, all the way down. */
function assertShapeOfDefaults(got: unknown, want: unknown, at: string): void {
  if (at.endsWith('.idleStopSeconds')) {
    assert.ok(got === null || typeof got === 'number', `${at} is ${String(got)}`);
    return;
  }
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got) && Object.getPrototypeOf(got) === Array.prototype, `${at} is not a plain array`);
    for (const item of got) assert.equal(typeof item, 'string', `${at} holds a ${typeof item}`);
    return;
  }
  if (typeof want === 'object' && want !== null) {
    assert.ok(typeof got === 'object' && got !== null && Object.getPrototypeOf(got) === Object.prototype, `${at} is not a plain object`);
    assert.deepEqual(Reflect.ownKeys(got), Reflect.ownKeys(want), `${at} has other keys`);
    for (const key of Object.keys(want)) assert.doesNotThrow(() => assertShapeOfDefaults(Reflect.get(got, key), Reflect.get(want, key), `${at}.${key}`));
    return;
  }
  assert.equal(typeof got, typeof want, `${at} is a ${typeof got}`);
}

/**
 * Every rule an accepted config must keep, written from the documentation,
 * not from the parser: any input that gets past parseConfig with a config
 * breaking one of these is a wrong acceptance.
 */
function assertSafeConfig(config: Config): void {
  assertShapeOfDefaults(config, { ...defaultConfig, source: FILE }, 'config');
  assert.equal(config.source, FILE);
  for (const text of stringsIn(config)) {
    assert.doesNotMatch(text, /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/, `control character in ${JSON.stringify(text)}`);
    assert.ok(text.length <= MAX_VALUE_CHARS, `a ${text.length}-character value was accepted`);
  }
  const { engine, access, jail, session, home, pam, gc, image } = config;
  assert.ok(engine.socket.startsWith('/') && isDotDotFree(engine.socket) && Buffer.byteLength(engine.socket) <= 107, engine.socket);
  for (const group of [access.jailGroup, access.exemptGroup]) assert.match(group, /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/);
  assert.notEqual(access.jailGroup, access.exemptGroup);
  assert.ok(jail.mode === 'per-user' || jail.mode === 'shared');
  if (jail.mode === 'per-user') assert.match(jail.nameTemplate, /\{user\}|\{uid\}/, 'per-user jails would share one container');
  assert.match(jail.nameTemplate, /^(?:[A-Za-z0-9]|\{uid\})/);
  assert.notEqual(jail.network.toLowerCase(), 'host');
  assert.ok(!jail.network.toLowerCase().startsWith('container:'), jail.network);
  assert.ok(!jail.capAdd.includes('ALL'), 'cap_add gives ALL');
  for (const name of jail.capAdd) assert.ok(!jail.capDrop.includes(name), `${name} both added and dropped`);
  assert.ok(Number.isInteger(jail.pidsLimit) && jail.pidsLimit >= 0 && jail.pidsLimit <= 4194304, String(jail.pidsLimit));
  assert.ok(Number.isSafeInteger(jail.memoryBytes) && (jail.memoryBytes === 0 || jail.memoryBytes >= 6 * 1024 * 1024), String(jail.memoryBytes));
  assert.ok(Number.isSafeInteger(jail.tmpBytes) && jail.tmpBytes >= 0, String(jail.tmpBytes));
  assert.ok(Number.isFinite(jail.cpus) && (jail.cpus === 0 || (jail.cpus >= 0.01 && jail.cpus <= 1024)), String(jail.cpus));
  for (const template of [jail.homeMount, session.workdir]) {
    assert.ok((template.startsWith('/') || template.startsWith('{home}')) && isDotDotFree(template) && !/\s/.test(template), template);
  }
  if (jail.homeMount.startsWith('/')) {
    // Docker cleans a mount target (path.Clean), so /./etc is /etc.
    const top = path.posix
      .normalize(jail.homeMount)
      .split('/')
      .find((part) => part !== '');
    assert.ok(top !== undefined && !SYSTEM_DIRS.includes(top), `home_mount ${jail.homeMount} mounts the home over /${top ?? ''}`);
  }
  for (const file of [session.shell, home.skel]) assert.ok(file.startsWith('/') && isDotDotFree(file) && !/\s/.test(file), file);
  assert.ok(home.bases.length > 0, 'no [home] bases');
  for (const base of home.bases) {
    assert.ok(base.startsWith('/') && isDotDotFree(base) && !/\s/.test(base) && !base.endsWith('/') && !base.includes('//'), `[home] bases has ${base}`);
  }
  for (const entry of session.envWhitelist) {
    const matches = (name: string) => (entry.endsWith('*') ? name.startsWith(entry.slice(0, -1)) : name === entry);
    const leaked = NEVER_PASSED.find(matches);
    assert.equal(leaked, undefined, `env_whitelist entry ${entry} passes ${leaked}`);
  }
  const year = 365 * 86400;
  assert.ok(session.idleStopSeconds === null || (Number.isInteger(session.idleStopSeconds) && session.idleStopSeconds >= 0 && session.idleStopSeconds <= year));
  assert.ok(Number.isInteger(gc.graceSeconds) && gc.graceSeconds >= 0 && gc.graceSeconds <= year);
  assert.ok(Number.isInteger(home.mode) && (home.mode & ~0o777) === 0 && (home.mode & 0o700) === 0o700, home.mode.toString(8));
  assert.ok(Number.isInteger(home.umask) && (home.umask & ~0o777) === 0 && (home.umask & 0o700) === 0, home.umask.toString(8));
  assert.ok(Number.isInteger(pam.timeoutSeconds) && pam.timeoutSeconds >= 1 && pam.timeoutSeconds <= 60);
  assert.match(image.suite, /^[a-z]+$/);
  if (image.mirror !== 'auto') {
    const url = new URL(image.mirror);
    assert.ok(url.protocol === 'http:' || url.protocol === 'https:', image.mirror);
    assert.equal(url.username + url.password, '', 'credentials in the mirror URL');
  }
  for (const name of image.packages) assert.match(name, /^[a-z0-9][a-z0-9+.-]+$/);
}

/** Either outcome, checked: a safe config, or a refusal at an existing line. */
function assertSound(text: string): Outcome {
  const result = outcome(text);
  if (result.ok) assertSafeConfig(result.config);
  else if (text.length <= MAX_CONFIG_CHARS) assertRefusedAtLine(result.error, text);
  return result;
}

/** A value as a file would hold it so that the parser reads it back unchanged: bare when it can be, else in quotes. */
function writeValue(value: string): string {
  const bare = value === value.trim() && !/[;#\\]/.test(value) && !value.startsWith('"') && !value.startsWith("'") && !value.endsWith("'");
  if (bare) return value;
  assert.doesNotMatch(value, /["\\\t]/, `the parser accepted ${JSON.stringify(value)}, which no file can hold`);
  return `"${value}"`;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** The config as docker-jail.ini text, every key set. */
function serialize(config: Config): string {
  const list = (items: string[]) => items.join(', ');
  const yes = (flag: boolean) => (flag ? 'yes' : 'no');
  const sections: Record<string, Record<string, string>> = {
    engine: { socket: config.engine.socket },
    access: { jail_group: config.access.jailGroup, exempt_group: config.access.exemptGroup },
    jail: {
      image: config.jail.image,
      mode: config.jail.mode,
      name_template: config.jail.nameTemplate,
      hostname_template: config.jail.hostnameTemplate,
      home_mount: config.jail.homeMount,
      network: config.jail.network,
      cap_drop: list(config.jail.capDrop),
      cap_add: list(config.jail.capAdd),
      no_new_privileges: yes(config.jail.noNewPrivileges),
      pids_limit: String(config.jail.pidsLimit),
      memory_limit: String(config.jail.memoryBytes),
      cpu_limit: String(config.jail.cpus),
      tmp_size: String(config.jail.tmpBytes),
    },
    session: {
      shell: config.session.shell,
      workdir: config.session.workdir,
      env_whitelist: list(config.session.envWhitelist),
      kill_on_logout: yes(config.session.killOnLogout),
      idle_stop: config.session.idleStopSeconds === null ? 'off' : String(config.session.idleStopSeconds),
    },
    home: { mode: octal(config.home.mode), umask: octal(config.home.umask), skel: config.home.skel, bases: list(config.home.bases) },
    pam: { timeout: String(config.pam.timeoutSeconds) },
    gc: { grace: String(config.gc.graceSeconds) },
    image: { suite: config.image.suite, mirror: config.image.mirror, packages: list(config.image.packages) },
  };
  assert.deepEqual(Object.keys(sections), SECTIONS);
  const lines: string[] = [];
  for (const [section, keys] of Object.entries(sections)) {
    assert.deepEqual(Object.keys(keys).sort(), [...(CONFIG_KEYS.get(section) ?? [])].sort(), section);
    lines.push(`[${section}]`, ...Object.entries(keys).map(([key, value]) => `${key} = ${writeValue(value)}`));
  }
  return `${lines.join('\n')}\n`;
}

// ---- Generators ----------------------------------------------------------

const join = (parts: fc.Arbitrary<string[]>, separators: string[] = ['']) =>
  fc.tuple(parts, fc.constantFrom(...separators)).map(([items, separator]) => items.join(separator));
const pieces = (items: string[], max = 6) => join(fc.array(fc.constantFrom(...items), { maxLength: max }));
const LIST_SEPARATORS = [', ', ',', ' ', ' , ', '\t'];
/** A list value: often one item (so one bad item does not hide the rest), else several. */
const list = (items: string[], max = 4) => fc.oneof(fc.constantFrom(...items), join(fc.array(fc.constantFrom(...items), { maxLength: max }), LIST_SEPARATORS));
const CAPABILITIES = ['CHOWN', 'KILL', 'NET_RAW', 'NET_BIND_SERVICE', 'SYS_ADMIN', 'SETUID', 'MKNOD', 'SETFCAP', 'AUDIT_WRITE', 'DAC_OVERRIDE'];

/** Values for every key: valid ones, near misses and hostile ones. */
const VALUES: Record<string, fc.Arbitrary<string>> = {
  'engine.socket': fc.oneof(
    fc.constantFrom(
      '/var/run/docker.sock',
      '/run/docker.sock',
      '/var/run/my docker.sock',
      'run/docker.sock',
      '/a/../b',
      '',
      'tcp://127.0.0.1:2375',
      `/${'s'.repeat(106)}`,
      `/${'s'.repeat(107)}`,
      `/${'é'.repeat(53)}`,
      `/${'é'.repeat(54)}`,
    ),
    fc.stringMatching(/^\/[a-z0-9 ._/-]{0,120}$/),
  ),
  'access.jail_group': fc.oneof(
    fc.constantFrom('jailed', 'admins', 'students', 'samba$', '1x', 'a b', '', 'a'.repeat(32), 'a'.repeat(33), `${'a'.repeat(32)}$`),
    fc.stringMatching(/^[A-Za-z_$][A-Za-z0-9_.$-]{0,33}$/),
  ),
  'access.exempt_group': fc.oneof(fc.constantFrom('admins', 'jailed', 'wheel', '-rf', ''), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,33}$/)),
  'jail.image': fc.oneof(
    fc.constantFrom('docker-jail/base:bookworm', 'debian', 'localhost:5000/j/b:v1', `b@sha256:${'a'.repeat(64)}`, 'Debian', 'a//b', 'b:', ''),
    fc.stringMatching(/^[a-z0-9]{1,8}(\/[a-z0-9._-]{1,8}){0,2}(:[A-Za-z0-9_.-]{1,10})?$/),
  ),
  'jail.mode': fc.constantFrom('per-user', 'shared', 'Shared', 'per_user', '', 'null'),
  'jail.name_template': pieces(['{user}', '{uid}', '{home}', '{', '}', 'jail', '-', '_', '.', '/', 'J', '9', ' '], 5),
  'jail.hostname_template': pieces(['{user}', '{uid}', '{x}', 'h', '-', '.', '_', '}'], 5),
  'jail.home_mount': fc.oneof(
    pieces(['/', '{home}', '{user}', '{uid}', '..', 'etc', 'usr', 'home', 'jail', ' ', '.', '{'], 6),
    fc
      .tuple(fc.constantFrom('/', '//', '/./', '/.//', '/././'), fc.constantFrom('', ...SYSTEM_DIRS, 'home', '.'), fc.constantFrom('', '/', '/x', '/{user}'))
      .map(([lead, dir, rest]) => `${lead}${dir}${rest}`),
  ),
  'jail.network': fc.oneof(
    fc.constantFrom('none', 'bridge', 'host', 'HOST', 'Host', 'container:web', 'CONTAINER:x', 'jails', '-x', 'null', ''),
    fc.stringMatching(/^[A-Za-z0-9_.:-]{0,70}$/),
  ),
  'jail.cap_drop': list([...CAPABILITIES, 'ALL', 'all', 'cap_kill', 'CAP_NET_RAW', 'BOGUS']),
  'jail.cap_add': list([...CAPABILITIES, 'ALL', 'all', 'cap_chown', 'CAP_ALL', 'BOGUS']),
  'jail.no_new_privileges': fc.constantFrom('yes', 'no', 'true', 'false', 'on', 'off', '1', '0', 'YES', 'maybe', '', 'null'),
  'jail.pids_limit': fc.oneof(
    fc.nat({ max: 2 * 4194304 }).map(String),
    fc.constantFrom('-1', '1e3', '0x10', '', '007', '99999999', '999999999', '4194304', '4194305', '04194305', '0'),
  ),
  'jail.memory_limit': fc.oneof(
    fc.tuple(fc.stringMatching(/^\d{1,17}$/), fc.constantFrom('', 'k', 'm', 'g', 't', 'kb', 'MB', 'b', 'p', ' m')).map(([digits, unit]) => digits + unit),
    fc.constantFrom('6m', '5m', '6291455', '6291456', '6143k', '6144k', '8191t', '8192t', '9007199254740991', '9007199254740992', '0k', '0.5g'),
  ),
  'jail.tmp_size': fc.oneof(
    fc.tuple(fc.stringMatching(/^\d{1,17}$/), fc.constantFrom('', 'k', 'm', 'g', 't', 'kb', 'MB', 'b', 'p', ' m')).map(([digits, unit]) => digits + unit),
    fc.constantFrom('0', '1', '256m', '8191t', '8192t', '9007199254740991', '9007199254740992', '0.5g', '-1'),
  ),
  'jail.cpu_limit': fc.oneof(
    fc.stringMatching(/^\d{1,5}(\.\d{1,10})?$/),
    fc.constantFrom('0.001', '0.01', '0.009999999', '1024', '1024.000000001', '1024.5', '-1', 'NaN', 'Infinity', '1e2', '.5', '0.0'),
  ),
  'session.shell': fc.constantFrom('/bin/bash', '/bin/zsh', 'bash', '/bin/../sh', '/bin/b sh', '', '/'),
  'session.workdir': pieces(['/', '{home}', '{user}', '{uid}', '..', 'tmp', ' ', '{', '}'], 6),
  'session.env_whitelist': list(
    [
      'TERM',
      'LANG',
      'LC_*',
      'SSH_CONNECTION',
      'PATH',
      'PATH*',
      'P*',
      'LD_PRELOAD',
      'LD_*',
      'L*',
      '*',
      'HOME',
      'BASH_FUNC_x',
      'BASH_*',
      'DOCKER_JAIL_X',
      'DOCKER_*',
      'D*',
      'E*',
      'ENV',
      'ENVX',
      'MY_VAR',
      '1X',
      'A-B',
      'SHELL',
      'SHELLX',
      'LOGNAME*',
      'US*',
      'USERS',
      'BASH_ENV',
      'LOGNAME',
    ],
    5,
  ),
  'session.kill_on_logout': fc.constantFrom('yes', 'no', 'On', 'OFF', '2', ''),
  'session.idle_stop': fc.oneof(
    fc.stringMatching(/^\d{1,10}[smhdSMHDw]?$/),
    fc.constantFrom('off', 'never', 'OFF', '', '-1', '365d', '366d', '31536000', '31536001', '525600m', '525601m', '8760h', '8761h'),
  ),
  'home.mode': fc.stringMatching(/^0?[0-9]{3,4}$/),
  'home.umask': fc.stringMatching(/^0?[0-9]{3,4}$/),
  'home.skel': pieces(['/', 'etc', 'skel', '..', ' ', '.', 'x'], 5),
  'home.bases': pieces(['/', 'home', 'srv', '..', ' ', '.', ',', 'x'], 6),
  'pam.timeout': fc.oneof(fc.stringMatching(/^\d{1,4}s?$/), fc.constantFrom('0', '1', '60', '61', '060s', '0s')),
  'gc.grace': fc.oneof(fc.stringMatching(/^\d{1,10}[smhd]?$/), fc.constantFrom('off', 'never', '7d', '', '365d', '366d', '0')),
  'image.suite': fc.oneof(fc.constantFrom('bookworm', 'trixie', 'Bookworm', 'sid2', ''), fc.stringMatching(/^[a-z]{0,34}$/)),
  'image.mirror': fc.oneof(
    fc.constantFrom(
      'auto',
      'http://deb.debian.org/debian',
      'https://m.example/debian/',
      'ftp://h/d',
      'http://u:p@h/d',
      'http://h/d?q',
      'http://h/d#f',
      'not a url',
      'http://[::1]/debian',
      'http://h:99999/',
      'file:///srv/debian',
      'http://h/d\u00a0x',
      'http://user@h/d',
      'https://:secret@h/d',
      'HTTP://H/D',
      'http://h/d?',
      'http://h/d#',
      'javascript:alert(1)',
    ),
    fc.webUrl({ authoritySettings: { withUserInfo: true, withPort: true, withIPv6: true }, withQueryParameters: true, withFragments: true }),
  ),
  'image.packages': fc.oneof(
    list(['bash', 'git', 'g++', 'libc6-dev', 'vim-tiny', 'Bash', 'a', '-x', 'p_q', 'x.y'], 5),
    fc.constantFrom(`p${'a'.repeat(4095)}`, `p${'a'.repeat(4096)}`),
  ),
};

const KNOWN_KEYS = [...CONFIG_KEYS].flatMap(([section, keys]) => keys.map((key) => ({ section, key })));
assert.deepEqual(Object.keys(VALUES).sort(), KNOWN_KEYS.map(({ section, key }) => `${section}.${key}`).sort(), 'VALUES must cover every key');

const HOSTILE_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  '__lookupSetter__',
  'isPrototypeOf',
];
const SPACE = fc.constantFrom('', ' ', '  ', '\t', '\u00a0', '\u3000', '\u2028', '\ufeff');
const JUNK_CHARS = [
  '[',
  ']',
  '=',
  '"',
  "'",
  ';',
  '#',
  '\\',
  ' ',
  '\t',
  '.',
  '_',
  '*',
  '{',
  '}',
  'a',
  'Z',
  '0',
  '\u00a0',
  '\u2028',
  '\u0085',
  '\u0000',
  '\r',
  '\u007f',
  '\ufeff',
  'é',
  '\ud83d\ude00',
  '\ud800',
];

const sectionName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SECTIONS) },
  fc.constantFrom(...HOSTILE_NAMES, 'Jail', 'jail.x', 'jail.__proto__', '', 'a b'),
);
const keyName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...KNOWN_KEYS.map(({ key }) => key)) },
  fc.constantFrom(...HOSTILE_NAMES, 'cap_add[]', '__proto__[]', 'Mode', 'mode x', '', 'a.b'),
);

/** A value as written: bare, quoted, single-quoted, with a comment after it, or padded. */
const writtenValue = (value: fc.Arbitrary<string>) =>
  fc.tuple(value, fc.nat({ max: 9 }), SPACE).map(([text, style, pad]) => {
    if (style === 0) return `"${text}"`;
    if (style === 1) return `'${text}'`;
    if (style === 2) return `${text} ; comment`;
    if (style === 3) return `"${text}" # comment`;
    if (style === 4) return `${pad}${text}${pad}`;
    return text;
  });

const anyValue = fc.oneof(...Object.values(VALUES));

/** One line of the grammar, good or bad. */
const grammarLine: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.nat({ max: 5 }), SPACE, sectionName, SPACE, fc.constantFrom('', ' ', ' ; c', ']', '['))
      .map(([indent, lead, name, inner, tail]) => `${indent === 0 ? lead : ''}[${inner}${name}${inner}]${tail}`),
  },
  {
    weight: 8,
    arbitrary: fc
      .tuple(SPACE, keyName, SPACE, fc.constantFrom('=', '=', '=', ':', '=='), SPACE, writtenValue(anyValue))
      .map(([a, key, b, eq, c, value]) => `${a}${key}${b}${eq}${c}${value}`),
  },
  { weight: 1, arbitrary: fc.tuple(SPACE, fc.constantFrom('#', ';'), fc.string({ maxLength: 20 })).map(([lead, mark, text]) => `${lead}${mark}${text}`) },
  { weight: 1, arbitrary: SPACE },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...JUNK_CHARS), maxLength: 12 }) },
);

const lineEnd = fc.constantFrom('\n', '\r\n');
const grammarFile = fc
  .tuple(fc.array(grammarLine, { maxLength: 14 }), lineEnd, fc.boolean())
  .map(([lines, end, bom]) => `${bom ? '\uFEFF' : ''}${lines.join(end)}`);

/** Values each key accepts, and that together keep the checks between keys: a file built from them is valid. */
const GOOD: Record<string, string[]> = {
  'engine.socket': ['/var/run/docker.sock', '/run/docker.sock', '/var/run/my docker.sock', '/r/d.sock'],
  'access.jail_group': ['jailed', 'students', '_j', 'Domain.Users-1', 'samba$'],
  'access.exempt_group': ['admins', 'wheel', 'staff'],
  'jail.image': ['docker-jail/base:bookworm', 'debian', 'localhost:5000/j/b:v1', `b@sha256:${'a'.repeat(64)}`],
  'jail.mode': ['per-user', 'shared'],
  'jail.name_template': ['jail-{user}', 'jail-{uid}', '{uid}.jail', 'j_{user}.{uid}'],
  'jail.hostname_template': ['{user}-jail', '{user}', 'jail-{uid}-x'],
  'jail.home_mount': ['{home}', '/home/{user}', '{home}/x', '/jails/{uid}'],
  'jail.network': ['none', 'bridge', 'jails', 'null'],
  'jail.cap_drop': ['ALL', 'all', 'KILL, NET_RAW', 'cap_mknod setfcap', ''],
  'jail.cap_add': ['', 'CHOWN', 'net_bind_service', 'CAP_AUDIT_WRITE, SETUID'],
  'jail.no_new_privileges': ['yes', 'no', 'true', 'false', 'on', 'off', '1', '0', 'YES'],
  'jail.pids_limit': ['0', '512', '4194304', '00000001'],
  'jail.memory_limit': ['0', '6m', '1g', '512MB', '1048576000', '2T', '8388608b'],
  'jail.cpu_limit': ['0', '1', '0.5', '0.01', '1024', '2.123456789', '1023.999999999'],
  'jail.tmp_size': ['0', '256m', '1g', '4096', '64MB'],
  'session.shell': ['/bin/bash', '/bin/zsh', '/usr/bin/fish'],
  'session.workdir': ['{home}', '/', '/tmp/{uid}', '{home}/work'],
  'session.env_whitelist': ['TERM LANG LC_* SSH_CONNECTION', '', 'TERM', 'MY_VAR, LC_*', 'ENVX USERS SHELLX'],
  'session.kill_on_logout': ['yes', 'no', 'On', 'OFF'],
  'session.idle_stop': ['off', 'never', '0', '30m', '2h', '365d', '31536000'],
  'home.mode': ['0700', '750', '0755', '0777'],
  'home.umask': ['0077', '022', '0000', '0027'],
  'home.skel': ['/etc/skel', '/etc/skel.students', '/'],
  'home.bases': ['/home', '/home /srv/homes', '/srv/homes, /home/', '//home//x'],
  'pam.timeout': ['10', '1', '60s', '5s'],
  'gc.grace': ['7d', '0', '12h', '86400'],
  'image.suite': ['bookworm', 'trixie', 'sid'],
  'image.mirror': ['auto', 'http://deb.debian.org/debian', 'https://m.example/debian/', 'http://[::1]/debian'],
  'image.packages': ['bash', 'bash git g++', 'libc6-dev, vim-tiny', ''],
};
assert.deepEqual(Object.keys(GOOD).sort(), Object.keys(VALUES).sort(), 'GOOD must cover every key');

interface GoodKey {
  key: string;
  value: string;
}
interface GoodSection {
  section: string;
  keys: GoodKey[];
}

/** Valid settings: some sections in some order, some keys of each, good values. */
const goodSettings: fc.Arbitrary<GoodSection[]> = fc
  .shuffledSubarray(SECTIONS)
  .chain((sections) =>
    fc.tuple(
      ...sections.map((section) =>
        fc
          .shuffledSubarray([...(CONFIG_KEYS.get(section) ?? [])])
          .chain((keys) => fc.tuple(...keys.map((key) => fc.constantFrom(...GOOD[`${section}.${key}`]).map((value) => ({ key, value })))))
          .map((keys) => ({ section, keys })),
      ),
    ),
  )
  .filter((settings) => {
    // mode = per-user with a fixed name is covered by the templates; a fixed name never occurs in GOOD.
    const all = new Map(settings.flatMap((s) => s.keys.map((k) => [`${s.section}.${k.key}`, k.value] as const)));
    const jailGroup = all.get('access.jail_group') ?? 'jailed';
    const exemptGroup = all.get('access.exempt_group') ?? 'admins';
    return jailGroup !== exemptGroup;
  });

/** Where each line of a rendered valid file came from. */
type LineRole = { kind: 'section'; section: string } | { kind: 'key'; section: string; key: string } | { kind: 'other' };
interface Rendered {
  lines: string[];
  roles: LineRole[];
}

const FILLER = ['', '# a comment', '; another', '   ', '\t# indented comment', '#[jail]', '# mode = shared'];

/** A valid file from settings, with blank and comment lines between its lines, in one of many layouts. */
const goodFile: fc.Arbitrary<Rendered> = fc
  .tuple(goodSettings, fc.infiniteStream(fc.tuple(fc.nat({ max: 2 }), fc.constantFrom(...FILLER), fc.nat({ max: 7 }))))
  .map(([settings, stream]) => {
    const lines: string[] = [];
    const roles: LineRole[] = [];
    const next = () => stream.next().value;
    const filler = () => {
      const [count, text] = next();
      for (let i = 0; i < count; i++) {
        lines.push(text);
        roles.push({ kind: 'other' });
      }
    };
    for (const { section, keys } of settings) {
      filler();
      const [, , style] = next();
      lines.push(style === 0 ? `[ ${section} ]` : style === 1 ? `[${section}]  ` : `[${section}]`);
      roles.push({ kind: 'section', section });
      for (const { key, value } of keys) {
        filler();
        const [, , layout] = next();
        const quoted = layout === 0 && !/["\\\t]/.test(value) ? `"${value}"` : value;
        lines.push(layout === 1 ? `  ${key}=${quoted}` : layout === 2 ? `${key}\t=\t${quoted}  ` : `${key} = ${quoted}`);
        roles.push({ kind: 'key', section, key });
      }
    }
    filler();
    return { lines, roles };
  });

/** A snapshot of what prototype pollution would change. */
function prototypeSnapshot(): string {
  const names = (object: object) => Reflect.ownKeys(object).map(String).sort().join(',');
  return [Object.prototype, Array.prototype, Map.prototype, Function.prototype, String.prototype].map(names).join('|');
}

// ---- Properties ----------------------------------------------------------

describe('adversarial: config parser under fuzzing', function () {
  // Each property runs a bounded number of cases; together well under 20 s.
  this.timeout(30000);
  const pristine = prototypeSnapshot();

  afterEach(() => {
    assert.equal(prototypeSnapshot(), pristine, 'a prototype was changed');
    assert.equal(Reflect.get({}, 'polluted'), undefined);
    assert.equal(Reflect.get({}, 'x'), undefined);
  });

  it('the generators make valid files, and the shipped file is one (control)', () => {
    assert.ok(assertSound(LIVE_TEXT).ok);
    fc.assert(
      fc.property(goodFile, ({ lines }) => {
        const result = outcome(lines.join('\n'));
        assert.ok(result.ok, result.ok ? '' : result.error.message);
      }),
      { numRuns: 300 },
    );
  });

  it('any unicode text: a config that keeps every rule, or a JailError at file:line', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        assertSound(text);
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        assertSound(text);
      }),
      { numRuns: 500 },
    );
  });

  it('any text of the ini alphabet: the same', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...JUNK_CHARS, '\n', '\n', 'mode', 'jail', 'socket'), maxLength: 200 }), (text) => {
        assertSound(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('files from a grammar of sections, keys, values and comments: the same, and a key named in an error is on that line', () => {
    let accepted = 0;
    fc.assert(
      fc.property(grammarFile, (text) => {
        if (assertSound(text).ok) accepted++;
      }),
      { numRuns: 5000 },
    );
    assert.ok(accepted > 0, 'the grammar never made a valid file: it tests nothing past the first error');
  });

  it('files with one setting from every value generator: accepted ones keep every rule', () => {
    // One key at a time reaches every value parser with hostile input, not just the first bad key of a file.
    const oneSetting = fc
      .constantFrom(...KNOWN_KEYS)
      .chain(({ section, key }) => fc.tuple(fc.constant(section), fc.constant(key), writtenValue(VALUES[`${section}.${key}`])));
    let accepted = 0;
    fc.assert(
      fc.property(oneSetting, ([section, key, value]) => {
        const text = `[${section}]\n${key} = ${value}\n`;
        const result = assertSound(text);
        if (result.ok) accepted++;
        else if (!result.error.message.startsWith(`${FILE}:2: [${section}] ${key}: `)) {
          assert.fail(`a bad value must be reported at line 2 with its key: ${result.error.message}`);
        }
      }),
      { numRuns: 5000 },
    );
    assert.ok(accepted > 1000, `only ${accepted} accepted settings`);
  });

  it('the checks between keys: groups, mode and name, added and dropped capabilities', () => {
    const caps = ['ALL', 'all', 'KILL', 'CAP_KILL', 'kill', 'NET_RAW', 'CHOWN', ''];
    const settings = fc.record({
      jailGroup: fc.constantFrom('jailed', 'admins', 'wheel', 'Jailed'),
      exemptGroup: fc.constantFrom('admins', 'jailed', 'wheel', 'Admins'),
      mode: fc.constantFrom('per-user', 'shared'),
      name: fc.constantFrom('jail-{user}', 'jail-{uid}', 'jail', 'jail-user', '{uid}', 'u{user}'),
      capAdd: fc.array(fc.constantFrom(...caps), { maxLength: 2 }).map((items) => items.join(', ')),
      capDrop: fc.array(fc.constantFrom(...caps), { maxLength: 2 }).map((items) => items.join(' ')),
      order: fc.boolean(),
    });
    let accepted = 0;
    fc.assert(
      fc.property(settings, (s) => {
        const access = s.order
          ? [`exempt_group = ${s.exemptGroup}`, `jail_group = ${s.jailGroup}`]
          : [`jail_group = ${s.jailGroup}`, `exempt_group = ${s.exemptGroup}`];
        const jail = [`mode = ${s.mode}`, `name_template = ${s.name}`, `cap_add = ${s.capAdd}`, `cap_drop = ${s.capDrop}`];
        if (s.order) jail.reverse();
        const result = assertSound(['[access]', ...access, '[jail]', ...jail].join('\n'));
        if (result.ok) accepted++;
      }),
      { numRuns: 1500 },
    );
    assert.ok(accepted > 100, `only ${accepted} accepted`);
  });

  it('files with a few settings of one section from the value generators: accepted ones keep every rule', () => {
    // Few keys at a time reach every value parser, and the checks between keys, with hostile input,
    // not just the first bad key of a long file.
    const keysOf = (section: string): string[] => [...(CONFIG_KEYS.get(section) ?? [])];
    const fewSettings = fc
      .constantFrom(...SECTIONS)
      .chain((section) =>
        fc
          .shuffledSubarray(keysOf(section), { minLength: 1, maxLength: Math.min(3, keysOf(section).length) })
          .chain((keys) =>
            fc.tuple(fc.constant(section), fc.tuple(...keys.map((key) => writtenValue(VALUES[`${section}.${key}`]).map((value) => `${key} = ${value}`)))),
          ),
      );
    let accepted = 0;
    fc.assert(
      fc.property(fewSettings, ([section, lines]) => {
        const text = `[${section}]\n${lines.join('\n')}\n`;
        const result = assertSound(text);
        if (result.ok) accepted++;
        else if (!/^\/etc\/docker-jail\.ini:[2-4]: \[\w+\] \w+: /.test(result.error.message)) {
          assert.fail(`a bad value must be reported at its line with its key: ${result.error.message}`);
        }
      }),
      { numRuns: 3000 },
    );
    assert.ok(accepted > 150, `only ${accepted} accepted files`);
  });

  it('round trip: an accepted config written back as a file parses to the same config', () => {
    assert.deepStrictEqual(parseConfig(serialize({ ...defaultConfig, source: FILE }), FILE), { ...defaultConfig, source: FILE });
    fc.assert(
      fc.property(
        fc.oneof(
          grammarFile,
          goodFile.map(({ lines }) => lines.join('\n')),
        ),
        (text) => {
          const first = outcome(text);
          if (!first.ok) return;
          const written = serialize(first.config);
          const again = outcome(written);
          assert.ok(again.ok, `${JSON.stringify(written)} refused: ${again.ok ? '' : again.error.message}`);
          assert.deepStrictEqual(again.config, first.config);
          assert.equal(serialize(again.config), written);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('layout does not matter: order of sections and keys, spacing, quotes, comments, CRLF and a BOM give the same config', () => {
    fc.assert(
      fc.property(goodSettings, lineEnd, fc.boolean(), (settings, end, bom) => {
        const plain = settings.map(({ section, keys }) => [`[${section}]`, ...keys.map(({ key, value }) => `${key} = ${value}`)].join('\n')).join('\n');
        const reordered = [...settings]
          .reverse()
          .map(({ section, keys }) =>
            [
              `# ${section}`,
              `[ ${section} ]`,
              ...[...keys].reverse().map(({ key, value }) => `\t${key}\u00a0=  ${/["\\\t]/.test(value) ? value : `"${value}"`}  `),
              '',
            ].join(end),
          )
          .join(end);
        const a = outcome(plain);
        const b = outcome(`${bom ? '\uFEFF' : ''}${reordered}`);
        assert.ok(a.ok, a.ok ? '' : a.error.message);
        assert.ok(b.ok, `${JSON.stringify(reordered)}: ${b.ok ? '' : b.error.message}`);
        assert.deepStrictEqual(b.config, a.config);
      }),
      { numRuns: 500 },
    );
  });

  // Regression test for a finding of this fuzzing: parseHomeMount takes the first non-empty path
  // component as written, so "." hides / or a system directory; Docker cleans the target, so
  // home_mount = /./etc mounts the user's home over the jail's /etc, and /. over its root.
  it('refuses a home_mount that reaches / or a system directory through "." components', () => {
    for (const value of ['/.', '/./', '/././', '/.//', '/./etc', '/./usr/lib', '/.//bin', '/././sbin/x', '/./{user}/../etc']) {
      const result = outcome(`[jail]\nhome_mount = ${value}\n`);
      assert.ok(!result.ok, `home_mount = ${value} accepted: it mounts the home over ${path.posix.normalize(value)}`);
      assert.ok(result.error.message.startsWith(`${FILE}:2: [jail] home_mount: `), result.error.message);
    }
    // Even a harmless "." is refused, with a message that names it: no path in the config is read two ways.
    assert.throws(() => parseConfig('[jail]\nhome_mount = /./home/{user}\n', FILE), /home_mount: "\/\.\/home\/\{user\}" contains a "\." component/);
    assert.equal(parseConfig('[jail]\nhome_mount = /home/{user}\n', FILE).jail.homeMount, '/home/{user}', 'control: the same path without "." is fine');
  });

  it('CRLF line ends and a byte order mark change nothing: the same config, or the very same error', () => {
    fc.assert(
      fc.property(grammarFile, (text) => {
        fc.pre(!text.includes('\r') && !text.startsWith('\uFEFF'));
        const base = outcome(text);
        for (const variant of [text.replace(/\n/g, '\r\n'), `\uFEFF${text}`]) {
          const other = outcome(variant);
          if (base.ok) {
            assert.ok(other.ok, `${JSON.stringify(variant)}: ${other.ok ? '' : other.error.message}`);
            assert.deepStrictEqual(other.config, base.config);
          } else {
            assert.ok(!other.ok, `${JSON.stringify(variant)} accepted, but refused without CRLF/BOM: ${base.error.message}`);
            assert.equal(other.error.message, base.error.message);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('mutations of the shipped file: refused at the first changed line or after it, never before', () => {
    const mutation = fc.record({
      at: fc.nat({ max: LIVE_TEXT.length }),
      kind: fc.constantFrom('delete', 'insert', 'replace', 'duplicate-line', 'delete-line', 'swap-lines'),
      text: fc.oneof(
        fc.constantFrom(...JUNK_CHARS, '\n', '\r\n', '\n[jail]\n', '\nmode = shared\n', '\n[__proto__]\n', '__proto__', '[', '='),
        fc.string({ maxLength: 4 }),
      ),
      length: fc.integer({ min: 1, max: 12 }),
    });
    const apply = (text: string, m: { at: number; kind: string; text: string; length: number }): string => {
      const at = Math.min(m.at, text.length);
      const lineStart = text.lastIndexOf('\n', at - 1) + 1;
      const lineEnd = text.indexOf('\n', at) < 0 ? text.length : text.indexOf('\n', at) + 1;
      const line = text.slice(lineStart, lineEnd);
      switch (m.kind) {
        case 'delete':
          return text.slice(0, at) + text.slice(at + m.length);
        case 'insert':
          return text.slice(0, at) + m.text + text.slice(at);
        case 'replace':
          return text.slice(0, at) + m.text + text.slice(at + m.length);
        case 'duplicate-line':
          return text.slice(0, lineEnd) + line + text.slice(lineEnd);
        case 'delete-line':
          return text.slice(0, lineStart) + text.slice(lineEnd);
        default: {
          const nextEnd = text.indexOf('\n', lineEnd) < 0 ? text.length : text.indexOf('\n', lineEnd) + 1;
          const next = text.slice(lineEnd, nextEnd);
          return text.slice(0, lineStart) + (next.endsWith('\n') ? next : `${next}\n`) + line + text.slice(nextEnd);
        }
      }
    };
    let refused = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        const mutated = mutations.reduce(apply, LIVE_TEXT);
        let firstDiff = 0;
        while (firstDiff < mutated.length && mutated[firstDiff] === LIVE_TEXT[firstDiff]) firstDiff++;
        const result = assertSound(mutated);
        if (mutated === LIVE_TEXT) assert.ok(result.ok);
        if (result.ok) return;
        refused++;
        const line = assertRefusedAtLine(result.error, mutated);
        const firstChangedLine = linesOf(mutated.slice(0, firstDiff)).length;
        assert.ok(line >= firstChangedLine, `refused at line ${line}, but nothing changed before line ${firstChangedLine}: ${result.error.message}`);
      }),
      { numRuns: 3000 },
    );
    assert.ok(refused > 100, `only ${refused} mutants refused`);
  });

  it('a control character anywhere in a valid file (NUL included) is refused at its line, by its code point', () => {
    const controls = [...Array(32).keys(), 0x7f, ...Array.from({ length: 32 }, (_, i) => 0x80 + i)]
      .filter((code) => code !== 0x09 && code !== 0x0a)
      .map((code) => String.fromCharCode(code));
    fc.assert(
      fc.property(goodFile, fc.nat(), fc.constantFrom(...controls), ({ lines }, where, control) => {
        const text = lines.join('\n');
        const at = where % (text.length + 1);
        const mutated = text.slice(0, at) + control + text.slice(at);
        // A CR before a line end is a CRLF line end: that is allowed.
        fc.pre(!(control === '\r' && (mutated[at + 1] === '\n' || at === text.length)));
        const line = linesOf(mutated.slice(0, at)).length;
        const code = control.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
        const result = outcome(mutated);
        assert.ok(!result.ok, `accepted with U+${code} at line ${line}`);
        assert.equal(
          result.error.message,
          `${FILE}:${line}: contains the control character U+${code}; save the file as plain text with \\n or \\r\\n line ends`,
        );
      }),
      { numRuns: 1500 },
    );
  });

  it('[__proto__], [constructor] and prototype keys anywhere in a valid file are refused at their line, polluting nothing', () => {
    const hostileLine = fc.oneof(
      fc
        .tuple(fc.constantFrom(...HOSTILE_NAMES, '__proto__.jail', 'jail.__proto__', 'constructor.prototype'), fc.constantFrom('', ' '))
        .map(([name, pad]) => ({ line: `[${pad}${name}${pad}]`, name })),
      fc
        .tuple(fc.constantFrom(...HOSTILE_NAMES, '__proto__[]', 'constructor[]'), fc.constantFrom('x', 'yes', '{"polluted":1}', ''))
        .map(([name, value]) => ({ line: `${name} = ${value}`, name })),
    );
    fc.assert(
      fc.property(goodFile, hostileLine, fc.nat(), ({ lines }, hostile, where) => {
        const at = where % (lines.length + 1);
        const text = [...lines.slice(0, at), hostile.line, ...lines.slice(at)].join('\n');
        const result = outcome(text);
        assert.ok(!result.ok, `accepted ${hostile.line}`);
        assert.ok(result.error.message.startsWith(`${FILE}:${at + 1}: `), `${result.error.message} is not at line ${at + 1}`);
        assert.ok(result.error.message.includes(hostile.name), `${result.error.message} does not name ${hostile.name}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('a key set twice in its section is refused at the second line, naming the first', () => {
    fc.assert(
      fc.property(goodFile, fc.nat(), fc.nat(), fc.constantFrom('', ' ', '\t'), ({ lines, roles }, pickKey, pickPlace, pad) => {
        const keyLines = roles.flatMap((role, index) => (role.kind === 'key' ? [{ role, index }] : []));
        fc.pre(keyLines.length > 0);
        const { role, index } = keyLines[pickKey % keyLines.length];
        if (role.kind !== 'key') return;
        let end = index + 1; // the line after the section's last line
        while (end < lines.length && roles[end].kind !== 'section') end++;
        const at = index + 1 + (pickPlace % (end - index));
        const value = GOOD[`${role.section}.${role.key}`][pickPlace % GOOD[`${role.section}.${role.key}`].length];
        const text = [...lines.slice(0, at), `${pad}${role.key}${pad}=${pad}${value}`, ...lines.slice(at)].join('\n');
        const result = outcome(text);
        assert.ok(!result.ok, `accepted ${role.key} twice`);
        assert.equal(result.error.message, `${FILE}:${at + 1}: [${role.section}] ${role.key}: duplicate key (first set on line ${index + 1})`);
      }),
      { numRuns: 800 },
    );
  });

  it('a section given twice is refused at the second header, naming the first, wherever it comes', () => {
    fc.assert(
      fc.property(goodFile, fc.nat(), fc.nat(), fc.constantFrom('[%]', '[ % ]', '[%]  ', '[\t%]'), ({ lines, roles }, pickSection, pickPlace, form) => {
        const headers = roles.flatMap((role, index) => (role.kind === 'section' ? [{ section: role.section, index }] : []));
        fc.pre(headers.length > 0);
        const { section, index } = headers[pickSection % headers.length];
        const at = index + 1 + (pickPlace % (lines.length - index));
        const text = [...lines.slice(0, at), form.replace('%', section), ...lines.slice(at)].join('\n');
        const result = outcome(text);
        assert.ok(!result.ok, `accepted [${section}] twice`);
        assert.equal(
          result.error.message,
          `${FILE}:${at + 1}: [${section}]: duplicate section (first on line ${index + 1}); put all its keys under one [${section}]`,
        );
      }),
      { numRuns: 800 },
    );
  });

  describe('huge input (1 MB lines)', () => {
    const room = (used: number) => MAX_CONFIG_CHARS - used;

    it('refuses a 1 MB value, bare or quoted, at its line, quickly', () => {
      for (const [open, close] of [
        ['', ''],
        ['"', '"'],
        ['"', ''],
      ]) {
        const head = '# a\n[image]\npackages = ';
        const text = `${head}${open}${'a'.repeat(room(head.length + 2))}${close}`;
        assert.ok(text.length <= MAX_CONFIG_CHARS);
        const result = outcome(text);
        assert.ok(!result.ok);
        const length = text.length - head.length;
        assert.equal(result.error.message, `${FILE}:3: [image] packages: the value is too long (${length} characters, at most ${MAX_VALUE_CHARS})`);
      }
    });

    it('reads a file of exactly 1 MiB whose bulk is one comment line, and refuses one character more', () => {
      const head = '[jail]\nmode = shared\nname_template = x\n#';
      const text = head + 'c'.repeat(room(head.length));
      assert.equal(text.length, MAX_CONFIG_CHARS);
      const result = outcome(text);
      assert.ok(result.ok, result.ok ? '' : result.error.message);
      assert.equal(result.config.jail.mode, 'shared');
      assert.ok(!outcome(`${text}c`).ok);
    });

    it('never hangs: a child process killed after 20 s parses 1 MB pathological texts and random files', () => {
      // In-process, a parse that never returns would hang mocha itself; a child can be killed.
      const bulk = room(40);
      const texts = [
        `[jail]\n${' '.repeat(bulk)}x`,
        `[jail]${' '.repeat(bulk)}x`,
        `[${'['.repeat(bulk)}`,
        `[${']'.repeat(bulk)}`,
        `[jail]\nmode${'='.repeat(bulk)}`,
        `[jail]\nmode = ${'"'.repeat(bulk)}`,
        `[jail]\n${'\n'.repeat(bulk)}mode = shared\nname_template = x`,
        `[jail]\n${'\r\n'.repeat(bulk / 2)}`,
        `${'\t'.repeat(bulk)}#`,
        `[jail]\nmode = ${'\\'.repeat(bulk)}`,
        `[jail]\n${'\u2028'.repeat(bulk)}`,
        `${'[jail]\n'.repeat(bulk / 7)}`,
        `[jail]\n${'mode = shared\n'.repeat(bulk / 14)}`,
        `[jail]\nmode = ${'a '.repeat(bulk / 2)}`,
        `[jail]\n${'mode'.repeat(bulk / 4)}`,
        `[${'a.'.repeat(bulk / 2)}]`,
        `[jail]\nmode = "${' '.repeat(bulk)}"`,
        ...fc.sample(grammarFile, 300),
        ...fc.sample(fc.string({ unit: 'binary', maxLength: 300 }), 300),
      ];
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-jail-config-hang-'));
      try {
        const input = path.join(dir, 'texts.json');
        fs.writeFileSync(input, JSON.stringify(texts));
        const script = `
          const { parseConfig } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'src', 'config', 'parse'))});
          const texts = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(input)}, 'utf8'));
          let slowest = 0, refused = 0;
          for (const text of texts) {
            const started = process.hrtime.bigint();
            try { parseConfig(text, '/etc/docker-jail.ini'); } catch (error) {
              if (!error || error.name !== 'JailError') { console.log('not a JailError: ' + String(error)); process.exit(3); }
              refused++;
            }
            slowest = Math.max(slowest, Number(process.hrtime.bigint() - started) / 1e6);
          }
          console.log(JSON.stringify({ parsed: texts.length, refused, slowest }));`;
        const child = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], {
          encoding: 'utf8',
          timeout: 20000,
          killSignal: 'SIGKILL',
          maxBuffer: 1024 * 1024,
        });
        assert.equal(child.signal, null, `killed after 20 s: a parse hangs\n${child.stderr}`);
        assert.equal(child.status, 0, `${child.stdout}${child.stderr}`);
        const report = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { parsed: number; refused: number; slowest: number };
        assert.equal(report.parsed, texts.length);
        assert.ok(report.refused > 0 && report.refused < texts.length, `${report.refused} of ${texts.length} refused: the texts do not reach both outcomes`);
        assert.ok(report.slowest < PARSE_BUDGET_MS, `the slowest parse took ${report.slowest.toFixed(0)} ms`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    // Regression test for a finding of this fuzzing: a long key or section name is echoed whole
    // into the error message (1 MB), while show() cuts every value at 64 characters.
    it('keeps error messages short for a 1 MB key or section name (names shown like values, cut short)', () => {
      const name = 'a'.repeat(room(40));
      const texts = [`[${name}]`, `[${name}.b]`, `[jail]\n${name} = 1`, `[jail]\n${name}[] = 1`, `${name} = 1`];
      for (const text of texts) {
        const result = outcome(text);
        assert.ok(!result.ok);
        assertRefusedAtLine(result.error, text);
        assert.ok(
          result.error.message.length <= MAX_MESSAGE_CHARS,
          `a ${result.error.message.length}-character message for ${JSON.stringify(`${text.slice(0, 20)}...`)}: ${result.error.message.slice(0, 80)}...`,
        );
      }
    });

    it('keeps every error message short, whatever the text', () => {
      // Long values are cut by show(); this holds the rest of the messages to the same rule.
      const longPiece = fc
        .constantFrom('mode', 'jail', '__proto__', 'x')
        .chain((word) => fc.integer({ min: 100, max: 5000 }).map((n) => word.repeat(Math.ceil(n / word.length))));
      const longLine = fc.oneof(
        longPiece.map((text) => `[jail]\nmode = ${text}`),
        longPiece.map((text) => `[jail]\nmode = "${text}`),
        longPiece.map((text) => `[jail]\n${text}`),
        longPiece.map((text) => `[jail]\n  [${text}]`),
        longPiece.map((text) => `[jail]\nmode = x ; ${text}`),
        longPiece.map((text) => `[jail]\nmode = "x" ${text}`),
        longPiece.map((text) => `[session]\nenv_whitelist = ${text}*`),
        longPiece.map((text) => `[image]\nmirror = http://${text}/`),
      );
      fc.assert(
        fc.property(longLine, (text) => {
          const result = outcome(text);
          if (result.ok) return;
          assert.ok(result.error.message.length <= MAX_MESSAGE_CHARS, `${result.error.message.length} characters: ${result.error.message.slice(0, 120)}...`);
        }),
        { numRuns: 300 },
      );
    });
  });
});
