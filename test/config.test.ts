import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseIni } from 'ini';
import { type ConfigFs, type ConfigStats, DEFAULT_CONFIG_PATH, defaultConfig, loadConfig, parseConfig } from '../src/config/load';
import { agreeWithIni, CONFIG_KEYS, scanConfig } from '../src/config/parse';
import type { Config } from '../src/config/types';
import { homeOutsideBases } from '../src/config/values';
import { ExitCode, JailError } from '../src/errors';
import { homeTargetFor } from '../src/jail/placement';
import { GOOD_TEXT, rejects } from './support/configRefusals';

const FILE = '/etc/docker-jail.ini';
const SHIPPED = path.join(__dirname, '..', 'etc', 'examples', 'docker-jail.ini'); // every key, commented out

function parse(text: string): Config {
  return parseConfig(text, FILE);
}

function rejectsText(text: string, message: string, fragment?: string): void {
  rejects(() => parse(text), message, fragment);
}

/** The defaults with `source` set and `change` applied. */
function expected(change: (config: Config) => void = () => undefined): Config {
  const config = structuredClone(defaultConfig);
  config.source = FILE;
  change(config);
  return config;
}

/** The shipped file with every documented `# key = value` line made live. */
function uncommented(text: string): string {
  return text.replace(/^# (?=[a-z_]+ =(?: |$))/gm, '');
}

describe('config: defaults and the full example etc/examples/docker-jail.ini', () => {
  const shipped = fs.readFileSync(SHIPPED, 'utf8');

  it('uses /etc/docker-jail.ini', () => {
    assert.equal(DEFAULT_CONFIG_PATH, '/etc/docker-jail.ini');
  });

  it('has source null and is frozen all the way down', () => {
    assert.equal(defaultConfig.source, null);
    assert.ok(Object.isFrozen(defaultConfig));
    assert.ok(Object.isFrozen(defaultConfig.jail));
    assert.ok(Object.isFrozen(defaultConfig.jail.capDrop));
    assert.throws(() => {
      (defaultConfig.jail.capDrop as string[]).push('X');
    }, TypeError);
  });

  it('parses the shipped file, all commented out, to exactly the defaults', () => {
    assert.deepStrictEqual(parseConfig(shipped, SHIPPED), { ...defaultConfig, source: SHIPPED });
  });

  it('parses the shipped file with every "# key = value" uncommented to exactly the defaults', () => {
    const live = uncommented(shipped);
    assert.notEqual(live, shipped);
    assert.deepStrictEqual(parseConfig(live, SHIPPED), { ...defaultConfig, source: SHIPPED });
  });

  it('documents every section and key, each after a comment of its own', () => {
    const scan = scanConfig(uncommented(shipped), SHIPPED);
    assert.deepStrictEqual([...scan.keys()], [...CONFIG_KEYS.keys()]);
    for (const [section, keys] of CONFIG_KEYS) assert.deepStrictEqual([...scan.get(section)!.keys.keys()], keys, section);
    const lines = shipped.split('\n');
    lines.forEach((line, index) => {
      if (/^# [a-z_]+ =/.test(line)) assert.match(lines[index - 1], /^# \S/, `line ${index + 1} has no comment above it`);
    });
  });

  it('explains ownership and when the file is read in its header', () => {
    const header = shipped.slice(0, shipped.indexOf('[engine]')).replace(/\n# /g, ' ');
    assert.match(header, /owned by root/);
    assert.match(header, /not writable by group or others/);
    assert.match(header, /at every login/);
    assert.match(header, /docker-jail config edit/);
  });

  it('still parses to the defaults with CRLF line ends and a byte order mark', () => {
    const windows = '\uFEFF' + uncommented(shipped).replace(/\n/g, '\r\n');
    assert.deepStrictEqual(parseConfig(windows, SHIPPED), { ...defaultConfig, source: SHIPPED });
  });

  it('returns a fresh copy: changing a parsed config leaves the defaults alone', () => {
    const config = parse('');
    config.jail.capDrop.push('NET_RAW');
    assert.deepStrictEqual(defaultConfig.jail.capDrop, ['ALL']);
  });
});

describe('config: syntax', () => {
  it('accepts comments with ; and #, indented keys, blank lines and an empty file', () => {
    assert.deepStrictEqual(parse(''), expected());
    assert.deepStrictEqual(
      parse('; c\n  # c\n\n[jail]\n   mode=shared\n\tname_template\t=\tx\n'),
      expected((c) => {
        c.jail.mode = 'shared';
        c.jail.nameTemplate = 'x';
      }),
    );
  });

  it('accepts an empty section, and spaces inside the brackets as ini does', () => {
    assert.deepStrictEqual(
      parse('[engine]\n[ jail ]\nmode = shared\nname_template = x'),
      expected((c) => {
        c.jail.mode = 'shared';
        c.jail.nameTemplate = 'x';
      }),
    );
  });

  it('strips surrounding whitespace and one pair of double quotes', () => {
    assert.equal(parse('[engine]\nsocket =   "/run/docker.sock"   ').engine.socket, '/run/docker.sock');
    assert.equal(parse('[session]\nshell = "/bin/zsh"').session.shell, '/bin/zsh');
    assert.deepStrictEqual(parse('[jail]\ncap_add = ""').jail.capAdd, []);
    assert.deepStrictEqual(parse('[session]\nenv_whitelist = " TERM , LANG "').session.envWhitelist, ['TERM', 'LANG']);
  });

  it('reads quoted true/false/null as the text they are (ini makes them JSON values)', () => {
    assert.equal(parse('[jail]\nno_new_privileges = "true"').jail.noNewPrivileges, true);
    assert.equal(parse('[session]\nkill_on_logout = false').session.killOnLogout, false);
    rejectsText('[jail]\nmode = null', `${FILE}:2: [jail] mode: "null" is not one of: per-user, shared`);
    assert.equal(parse('[jail]\nnetwork = null').jail.network, 'null'); // a user-defined network may be called null
  });

  it('accepts CRLF line ends and reports the right line', () => {
    assert.equal(parse('[jail]\r\nmode = shared\r\nname_template = x\r\n').jail.mode, 'shared');
    rejectsText('[jail]\r\n\r\npids_limit = x\r\n', `${FILE}:3: [jail] pids_limit: "x" is not a whole number (use e.g. 512, or 0 for no limit)`);
  });

  it('accepts a UTF-8 byte order mark and counts lines after it', () => {
    assert.equal(parse('\uFEFF[jail]\nmode = shared\nname_template = x').jail.mode, 'shared');
    rejectsText('\uFEFF[jail]\nbad = 1', `${FILE}:2: [jail] bad: `, 'unknown key');
  });

  it('refuses a comment after a value, quoted or not', () => {
    rejectsText(
      '[jail]\nmode = per-user ; the default',
      `${FILE}:2: [jail] mode: comments after a value are not supported (";" found); put the comment on its own line, or quote the value`,
    );
    rejectsText('[jail]\n\nmode = per-user # the default', `${FILE}:3: [jail] mode: `, '"#" found');
    rejectsText('[jail]\nmode = "per-user" ; x', `${FILE}:2: [jail] mode: comments after a value are not supported; put the comment on its own line`);
  });

  it('refuses broken quotes, single quotes, and backslashes', () => {
    rejectsText('[jail]\nmode = "per-user', `${FILE}:2: [jail] mode: the value opens a " and never closes it`);
    rejectsText('[jail]\nmode = "per"-user"', `${FILE}:2: [jail] mode: text after the closing quote: "-user\\""`);
    rejectsText("[jail]\nmode = 'shared'", `${FILE}:2: [jail] mode: single quotes are not supported; use double quotes`);
    rejectsText('[session]\nshell = /bin/ba\\sh', `${FILE}:2: [session] shell: backslashes are not supported in values`);
    rejectsText('[session]\nshell = "/bin/ba\\sh"', `${FILE}:2: [session] shell: a quoted value cannot contain \\ or a tab (there are no escapes)`);
  });

  it('refuses a value over 4096 characters', () => {
    rejectsText(`[image]\npackages = ${'a'.repeat(4097)}`, `${FILE}:2: [image] packages: the value is too long (4097 characters, at most 4096)`);
    // 4096 is fine as far as length goes (the value itself is then checked).
    rejectsText(`[image]\nsuite = ${'a'.repeat(4096)}`, `${FILE}:2: [image] suite: `, 'is not a Debian suite name');
  });

  it('refuses control characters, including a lone CR', () => {
    rejectsText('[jail]\nmode = sha\u0000red', `${FILE}:2: contains the control character U+0000; save the file as plain text with \\n or \\r\\n line ends`);
    rejectsText('[jail]\rmode = shared\n', `${FILE}:1: `, 'U+000D');
    rejectsText('# \u001b[31m\n', `${FILE}:1: `, 'U+001B');
  });

  it('refuses a file over 1 MiB', () => {
    rejectsText('#'.repeat(1024 * 1024 + 1), `${FILE}: refused: larger than 1048576 characters`);
  });

  it('refuses lines that are not key = value, [section], comment or blank', () => {
    rejectsText('[jail]\nmode', `${FILE}:2: expected "key = value", "[section]" or a comment, got "mode"`);
    rejectsText('[jail]\n= shared', `${FILE}:2: a line starts with "=" where the key name belongs`);
    rejectsText('[jail]\nmy mode = shared', `${FILE}:2: "my mode" is not a key name`);
    rejectsText('[jail] ; comment', `${FILE}:1: a section header is "[name]" alone on its line (put comments on their own line)`);
    rejectsText('[jail\nmode = shared', `${FILE}:1: a section header is "[name]" alone on its line (put comments on their own line)`);
    rejectsText('  [jail]', `${FILE}:1: a section header must start in the first column`);
    rejectsText('[]', `${FILE}:1: "" is not a section name`);
    rejectsText('[a b]', `${FILE}:1: "a b" is not a section name`);
  });

  it('refuses keys before any section, saying where they belong', () => {
    rejectsText('# top\nsocket = /run/docker.sock\n[engine]', `${FILE}:2: socket: key outside any section; put it under [engine]`);
    rejectsText('whatever = 1', `${FILE}:1: whatever: key outside any section; put it under a [section]`);
  });

  it('refuses unknown sections and keys, listing the known ones', () => {
    rejectsText(
      '[engine]\n[docker]\nsocket = /x',
      `${FILE}:2: [docker]: unknown section (known sections: engine, access, jail, session, home, pam, gc, image)`,
    );
    rejectsText('[Jail]', `${FILE}:1: [Jail]: unknown section; section names are lower case: [jail]`);
    rejectsText('[engine]\nsock = /x', `${FILE}:2: [engine] sock: unknown key (known keys in [engine]: socket)`);
    rejectsText('[engine]\nshell = /bin/sh', `${FILE}:2: [engine] shell: unknown key; shell belongs in [session]`);
  });

  it('refuses a key given twice in a section, with both lines', () => {
    rejectsText('[jail]\nmode = shared\n\nmode = per-user', `${FILE}:4: [jail] mode: duplicate key (first set on line 2)`);
  });

  it('refuses a section given twice, with both lines', () => {
    rejectsText(
      '[jail]\nmode = shared\n[session]\n[jail]\nname_template = x',
      `${FILE}:4: [jail]: duplicate section (first on line 1); put all its keys under one [jail]`,
    );
  });

  it('refuses dotted section names', () => {
    rejectsText(
      '[jail.extra]\nmode = shared',
      `${FILE}:1: [jail.extra]: dotted section names are not supported (use one of: engine, access, jail, session, home, pam, gc, image)`,
    );
  });

  it('refuses ini array syntax', () => {
    rejectsText('[jail]\ncap_add[] = NET_RAW', `${FILE}:2: [jail] cap_add[]: the array syntax "key[]" is not supported; write one "key = a, b, c" line`);
    rejectsText('cap_add[] = NET_RAW', `${FILE}:1: cap_add[]: the array syntax "key[]" is not supported; write one "key = a, b, c" line`);
  });

  it('reports the first error in the file', () => {
    rejectsText('[jail]\nbogus = 1\n[nope]', `${FILE}:2: [jail] bogus: `, 'unknown key');
  });
});

describe('config: prototype keys', () => {
  const hostile = [
    '[__proto__]\npolluted = yes',
    '[__proto__.x]\npolluted = yes',
    '[constructor]\npolluted = yes',
    '[prototype]\npolluted = yes',
    '[jail]\n__proto__ = x',
    '[jail]\n__proto__[] = x',
    '[jail]\nconstructor = x',
    '[jail]\ntoString = x',
    '[jail]\nhasOwnProperty = x',
    '__proto__ = x',
    'constructor = x',
    '[jail]\npolluted = yes',
  ];

  it('refuses them with the usual messages', () => {
    rejectsText('[__proto__]\npolluted = yes', `${FILE}:1: [__proto__]: unknown section (known sections: engine, access, jail, session, home, pam, gc, image)`);
    rejectsText('[constructor]', `${FILE}:1: [constructor]: unknown section (known sections: engine, access, jail, session, home, pam, gc, image)`);
    rejectsText('[jail]\n__proto__ = 1', `${FILE}:2: [jail] __proto__: `, 'unknown key');
    rejectsText('[jail]\nconstructor = x', `${FILE}:2: [jail] constructor: `, 'unknown key');
    rejectsText('[jail]\ntoString = x', `${FILE}:2: [jail] toString: `, 'unknown key');
    rejectsText('constructor = x', `${FILE}:1: constructor: key outside any section; put it under a [section]`);
    rejectsText('[access]\n__proto__ = x', `${FILE}:2: [access] __proto__: `, 'unknown key');
  });

  it('leaves Object.prototype untouched whatever the input', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    for (const text of hostile) {
      assert.throws(() => parse(text), JailError, text);
    }
    assert.deepStrictEqual(Object.getOwnPropertyNames(Object.prototype).sort(), before);
    assert.equal(Reflect.get({}, 'polluted'), undefined);
    assert.equal(Object.prototype.toString.call({}), '[object Object]');
  });
});

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

describe('config: the line scan and ini must agree', () => {
  it('agree on thousands of generated files, or the file is refused at a named line', () => {
    const random = seeded(20240601);
    const pick = <T>(items: readonly T[]): T => items[random(items.length)];
    const sections = ['[jail]', '[session]', '[ jail ]', '[jail] ', '[image]', '[__proto__]', ' [jail]', '[jail.x]'];
    const keys = [
      'mode',
      'name_template',
      'network',
      'cap_add',
      'env_whitelist',
      'shell',
      'idle_stop',
      'mirror',
      'packages',
      '__proto__',
      'constructor',
      'cap_add[]',
      '',
    ];
    const pieces = [
      '"',
      "'",
      ';',
      '#',
      '\\',
      '=',
      'x',
      '{user}',
      'true',
      'null',
      'shared',
      'per-user',
      ' ',
      '\t',
      'LC_*',
      '1g',
      '/bin/sh',
      '\u00a0',
      '[',
      ']',
      '\\;',
      'http://h/d',
    ];
    const spaces = ['', ' ', '\t', '\u00a0'];
    for (let i = 0; i < 5000; i++) {
      const lines = [pick(sections)];
      for (let n = 1 + random(4); n > 0; n--) {
        let text = '';
        for (let k = random(5); k > 0; k--) text += pick(pieces);
        lines.push(random(8) === 0 ? pick(sections) : `${pick(spaces)}${pick(keys)}${pick(spaces)}=${pick(spaces)}${text}${pick(spaces)}`);
      }
      const text = lines.join(random(2) === 0 ? '\n' : '\r\n');
      try {
        parse(text);
      } catch (error) {
        assert.ok(error instanceof JailError, `${JSON.stringify(text)}: ${String(error)}`);
        assert.match(error.message, /^\/etc\/docker-jail\.ini:\d+: /, JSON.stringify(text));
        assert.doesNotMatch(error.message, /two ways/, JSON.stringify(text));
      }
    }
    assert.equal(Reflect.get({}, 'x'), undefined);
  });

  const scan = (text: string) => scanConfig(text, FILE);

  it('takes the values ini reads when both agree', () => {
    const text = '[jail]\nmode = "shared"\nno_new_privileges = true\n[session]';
    const values = agreeWithIni(scan(text), parseIni(text), FILE);
    assert.equal(values.get('jail')?.get('mode'), 'shared');
    assert.equal(values.get('jail')?.get('no_new_privileges'), 'true');
    assert.equal(values.get('session')?.size, 0);
  });

  it('refuses a file that ini reads with another value, key or section', () => {
    const text = '[jail]\nmode = shared';
    rejects(
      () => agreeWithIni(scan(text), { jail: { mode: 'per-user' } }, FILE),
      `${FILE}:2: [jail] mode: the ini parser reads the value differently from the line scan; the file reads two ways, refusing it`,
    );
    rejects(() => agreeWithIni(scan(text), { jail: { mode: 'shared', image: 'x' } }, FILE), `${FILE}:1: `, '"image"');
    rejects(() => agreeWithIni(scan(text), { jail: { mode: 'shared' }, image: {} }, FILE), `${FILE}: `, '"image"');
    rejects(
      () => agreeWithIni(scan(text), { jail: {} }, FILE),
      `${FILE}:2: [jail] mode: the ini parser does not see this key; the file reads two ways, refusing it`,
    );
    rejects(() => agreeWithIni(scan(text), {}, FILE), `${FILE}:1: the ini parser does not see [jail]; the file reads two ways, refusing it`);
    rejects(() => agreeWithIni(scan(text), { jail: 'x' }, FILE), `${FILE}:1: `, 'does not read [jail] as a section');
    rejects(() => agreeWithIni(scan(text), { jail: { mode: ['shared'] } }, FILE), `${FILE}:2: [jail] mode: `, 'differently');
  });
});

/** One key's accepted values (text → field value) and refused ones (text → a piece of the message). */
interface KeyCase {
  section: string;
  key: string;
  read: (config: Config) => unknown;
  good: Array<[string, unknown]>;
  bad: Array<[string, string]>;
  /** Lines added before the key, e.g. to satisfy a check between keys. */
  context?: string;
}

const keyCases: KeyCase[] = [
  {
    section: 'engine',
    key: 'socket',
    read: (c) => c.engine.socket,
    good: [
      ['/run/docker.sock', '/run/docker.sock'],
      ['/var/run/my docker.sock', '/var/run/my docker.sock'],
    ],
    bad: [
      ['run/docker.sock', '"run/docker.sock" is not an absolute path (it must start with /)'],
      ['/run/../tmp/docker.sock', '"/run/../tmp/docker.sock" contains a ".." component'],
      ['', 'is empty (use an absolute path)'],
      [`/${'s'.repeat(107)}`, 'is longer than 107 bytes, the limit for a unix socket path'],
      ['tcp://127.0.0.1:2375', 'is not an absolute path'],
    ],
  },
  {
    section: 'access',
    key: 'jail_group',
    read: (c) => c.access.jailGroup,
    good: [
      ['prisoners', 'prisoners'],
      ['_jail', '_jail'],
      ['Domain.Users-1', 'Domain.Users-1'],
      ['samba$', 'samba$'],
    ],
    bad: [
      ['1jailed', '"1jailed" is not a group name (a letter or _, then up to 31 letters, digits, _ . or -)'],
      ['a'.repeat(33), 'is not a group name'],
      ['jailed users', '"jailed users" is not a group name'],
      ['', '"" is not a group name'],
      ['admins', 'jail_group and exempt_group are both "admins"; a group cannot be both jailed and exempt'],
    ],
  },
  {
    section: 'access',
    key: 'exempt_group',
    read: (c) => c.access.exemptGroup,
    good: [
      ['wheel', 'wheel'],
      ['sudo', 'sudo'],
    ],
    bad: [
      ['-rf', '"-rf" is not a group name'],
      ['jailed', 'jail_group and exempt_group are both "jailed"'],
    ],
  },
  {
    section: 'jail',
    key: 'image',
    read: (c) => c.jail.image,
    good: [
      ['debian', 'debian'],
      ['debian:bookworm-slim', 'debian:bookworm-slim'],
      ['localhost:5000/jails/base:v1.2', 'localhost:5000/jails/base:v1.2'],
      ['registry.example.org/a__b/c-d.e:T_1', 'registry.example.org/a__b/c-d.e:T_1'],
      [`base@sha256:${'a'.repeat(64)}`, `base@sha256:${'a'.repeat(64)}`],
      [`base:1@sha256:${'0'.repeat(64)}`, `base:1@sha256:${'0'.repeat(64)}`],
    ],
    bad: [
      ['Docker-Jail/Base', '"Docker-Jail/Base" is not an image reference'],
      ['base:', 'has an invalid tag'],
      ['base:-x', 'has an invalid tag'],
      ['base@sha256:abc', 'has a digest that is not sha256: and 64 lowercase hex digits'],
      [`base@md5:${'a'.repeat(32)}`, 'has a digest that is not sha256'],
      ['-base', 'is not an image reference'],
      ['a//b', 'is not an image reference'],
      ['bad_host.x-/img', 'has an invalid registry name "bad_host.x-"'],
      ['', 'is empty'],
    ],
  },
  {
    section: 'jail',
    key: 'mode',
    read: (c) => c.jail.mode,
    good: [['per-user', 'per-user']],
    bad: [
      ['Shared', '"Shared" is not one of: per-user, shared'],
      ['', '"" is not one of: per-user, shared'],
    ],
  },
  {
    section: 'jail',
    key: 'name_template',
    read: (c) => c.jail.nameTemplate,
    good: [
      ['jail-{uid}', 'jail-{uid}'],
      ['{uid}.jail', '{uid}.jail'],
      ['j_{user}.{uid}', 'j_{user}.{uid}'],
    ],
    bad: [
      ['jail-{name}', '"jail-{name}" has the unknown placeholder {name} (allowed: {user}, {uid})'],
      ['jail-{home}', 'has the unknown placeholder {home}'],
      ['jail-{user', 'has a "{" without its "}"'],
      ['jail-user}', 'has a "}" without its "{"'],
      ['jail/{user}', '"jail/{user}" contains "/", which a container name may not (use letters, digits, _ . -)'],
      ['{user}-jail', '"{user}-jail" must start with a letter or digit (or {uid}), as Docker container names do'],
      ['_jail{user}', 'must start with a letter or digit'],
      ['jail', 'name_template "jail" has neither {user} nor {uid}, so with mode = per-user every user would get the same container'],
      ['', 'is empty (use e.g. jail-{user})'],
    ],
  },
  {
    section: 'jail',
    key: 'hostname_template',
    read: (c) => c.jail.hostnameTemplate,
    good: [
      ['{user}', '{user}'],
      ['jail-{uid}-x', 'jail-{uid}-x'],
    ],
    bad: [
      ['{user}.jail', '"{user}.jail" contains ".", which a hostname may not (use letters, digits and -)'],
      ['{user}_jail', 'contains "_"'],
      ['-{user}', 'may not start or end with "-"'],
      ['{user}-', 'may not start or end with "-"'],
      ['{home}', 'has the unknown placeholder {home} (allowed: {user}, {uid})'],
      ['', 'is empty'],
    ],
  },
  {
    section: 'jail',
    key: 'home_mount',
    read: (c) => c.jail.homeMount,
    good: [
      ['/home/{user}', '/home/{user}'],
      ['{home}/', '{home}/'],
      ['/jail{home}', '/jail{home}'],
      ['/u/{uid}', '/u/{uid}'],
    ],
    bad: [
      ['home/{user}', '"home/{user}" is not an absolute path (it must start with / or {home})'],
      ['{user}', 'is not an absolute path'],
      ['/home/../etc', 'contains a ".." component'],
      ['{home}/..', 'contains a ".." component'],
      ['/./etc', 'contains a "." component'],
      ['/home/{user} x', 'contains whitespace'],
      ['/', "would mount the home over the jail's root directory"],
      ['/etc/{user}', "\"/etc/{user}\" would mount the user's home over the jail's /etc, so the jail would run the user's files as its system"],
      ['/usr', "over the jail's /usr"],
      ['//bin', "over the jail's /bin"],
      ['/home/{name}', 'has the unknown placeholder {name} (allowed: {home}, {user}, {uid})'],
    ],
  },
  {
    section: 'jail',
    key: 'network',
    read: (c) => c.jail.network,
    good: [
      ['bridge', 'bridge'],
      ['none', 'none'],
      ['jails_net.1', 'jails_net.1'],
    ],
    bad: [
      ['host', '"host" is refused: it would give jails the host\'s network stack'],
      ['HOST', '"host" is refused'],
      ['container:other', '"container:other" is refused: it would put jails into another container\'s network namespace'],
      ['-net', '"-net" is not a network (use none, bridge, or a user-defined network\'s name)'],
      ['n'.repeat(65), 'is not a network'],
      ['', 'is not a network'],
    ],
  },
  {
    section: 'jail',
    key: 'cap_drop',
    read: (c) => c.jail.capDrop,
    good: [
      ['all', ['ALL']],
      ['CAP_NET_RAW, kill,mknod  cap_setfcap', ['NET_RAW', 'KILL', 'MKNOD', 'SETFCAP']],
      ['ALL CHECKPOINT_RESTORE', ['ALL', 'CHECKPOINT_RESTORE']],
      ['', []],
    ],
    bad: [
      ['NET_RAWW', '"NET_RAWW" is not a Linux capability (use e.g. NET_RAW or CAP_NET_RAW)'],
      ['CAP_', '"CAP_" is not a Linux capability'],
      ['NET_RAW CAP_NET_RAW', '"CAP_NET_RAW" is listed twice'],
    ],
  },
  {
    section: 'jail',
    key: 'cap_add',
    read: (c) => c.jail.capAdd,
    good: [
      ['NET_BIND_SERVICE', ['NET_BIND_SERVICE']],
      ['cap_chown,cap_fowner', ['CHOWN', 'FOWNER']],
    ],
    bad: [
      ['ALL', 'ALL is refused here: it would give jails every capability, SYS_ADMIN included; name the capabilities the jails need'],
      ['cap_all', 'ALL is refused here'],
      ['SYS_FOO', '"SYS_FOO" is not a Linux capability'],
    ],
  },
  {
    section: 'jail',
    key: 'no_new_privileges',
    read: (c) => c.jail.noNewPrivileges,
    good: [
      ['no', false],
      ['off', false],
      ['0', false],
      ['FALSE', false],
      ['yes', true],
      ['On', true],
      ['1', true],
      ['true', true],
    ],
    bad: [
      ['maybe', '"maybe" is not a boolean (use yes or no)'],
      ['', '"" is not a boolean'],
      ['y', 'is not a boolean'],
    ],
  },
  {
    section: 'jail',
    key: 'pids_limit',
    read: (c) => c.jail.pidsLimit,
    good: [
      ['0', 0],
      ['100', 100],
      ['4194304', 4194304],
      ['0042', 42],
    ],
    bad: [
      ['4194305', '4194305 is more than the kernel allows (at most 4194304; 0 means no limit)'],
      ['-1', '"-1" is not a whole number (use e.g. 512, or 0 for no limit)'],
      ['1.5', 'is not a whole number'],
      ['1e3', 'is not a whole number'],
      ['123456789', 'is not a whole number'],
      ['', 'is not a whole number'],
    ],
  },
  {
    section: 'jail',
    key: 'tmp_size',
    read: (c) => c.jail.tmpBytes,
    good: [
      ['0', 0],
      ['256m', 256 * 2 ** 20],
      ['1G', 2 ** 30],
      ['4096', 4096],
      ['1k', 1024],
    ],
    bad: [
      ['12x', '"12x" is not a size (use e.g. 512m, 2g, or 0 for no limit)'],
      ['-1m', 'is not a size'],
      ['0.5g', 'is not a size'],
      ['', 'is not a size'],
      ['99999999999t', 'is too large'],
    ],
  },
  {
    section: 'jail',
    key: 'memory_limit',
    read: (c) => c.jail.memoryBytes,
    good: [
      ['0', 0],
      ['512m', 512 * 2 ** 20],
      ['2G', 2 * 2 ** 30],
      ['1gb', 2 ** 30],
      ['6MB', 6 * 2 ** 20],
      ['6144k', 6 * 2 ** 20],
      ['1t', 2 ** 40],
      ['7340032', 7340032],
      ['7340032b', 7340032],
    ],
    bad: [
      ['12x', '"12x" is not a size (use e.g. 512m, 2g, or 0 for no limit)'],
      ['5m', '"5m" is below Docker\'s minimum of 6m (use at least 6m, or 0 for no limit)'],
      ['1', "is below Docker's minimum of 6m"],
      ['1.5g', 'is not a size'],
      ['-1g', 'is not a size'],
      ['1 g', 'is not a size'],
      ['9999999999t', '"9999999999t" is too large'],
      ['', 'is not a size'],
    ],
  },
  {
    section: 'jail',
    key: 'cpu_limit',
    read: (c) => c.jail.cpus,
    good: [
      ['0', 0],
      ['0.5', 0.5],
      ['2', 2],
      ['1024', 1024],
      ['0.01', 0.01],
      ['1.000000001', 1.000000001],
    ],
    bad: [
      ['1025', '1025 is more than 1024 CPUs'],
      ['0.001', "0.001 is below Docker's minimum of 0.01 CPUs (use 0 for no limit)"],
      ['-1', '"-1" is not a number of CPUs (use e.g. 0.5, 2, or 0 for no limit)'],
      ['.5', 'is not a number of CPUs'],
      ['1e2', 'is not a number of CPUs'],
      ['two', 'is not a number of CPUs'],
      ['', 'is not a number of CPUs'],
    ],
  },
  {
    section: 'session',
    key: 'shell',
    read: (c) => c.session.shell,
    good: [
      ['/bin/sh', '/bin/sh'],
      ['/usr/bin/zsh', '/usr/bin/zsh'],
    ],
    bad: [
      ['bash', '"bash" is not an absolute path (it must start with /)'],
      ['/bin/bash -l', '"/bin/bash -l" contains whitespace'],
      ['/bin/../tmp/sh', 'contains a ".." component'],
      ['', 'is empty (use an absolute path)'],
    ],
  },
  {
    section: 'session',
    key: 'workdir',
    read: (c) => c.session.workdir,
    good: [
      ['/', '/'],
      ['/tmp', '/tmp'],
      ['{home}/work', '{home}/work'],
      ['/srv/{user}', '/srv/{user}'],
    ],
    bad: [
      ['work', '"work" is not an absolute path (it must start with / or {home})'],
      ['{home}/../root', 'contains a ".." component'],
      ['/srv/{who}', 'has the unknown placeholder {who}'],
      ['', 'is empty (use e.g. {home})'],
    ],
  },
  {
    section: 'session',
    key: 'env_whitelist',
    read: (c) => c.session.envWhitelist,
    good: [
      ['', []],
      ['TERM', ['TERM']],
      ['LC_*, TZ,COLORTERM  EDITOR', ['LC_*', 'TZ', 'COLORTERM', 'EDITOR']],
      ['_X', ['_X']],
      ['ENVIRONMENT', ['ENVIRONMENT']],
    ],
    bad: [
      ['LD_PRELOAD', '"LD_PRELOAD" is refused: it would pass LD_* into the jail, and the dynamic linker loads code named by LD_* variables'],
      ['TERM LD_*', '"LD_*" is refused'],
      ['L*', '"L*" is refused: it would pass LD_* into the jail'],
      ['PATH', '"PATH" is refused: it would pass PATH into the jail, and PATH decides which program a command runs'],
      ['P*', '"P*" is refused: it would pass PATH'],
      ['HOME', '"HOME" is refused: it would pass HOME into the jail, and docker-jail sets HOME from the user\'s account'],
      ['USER', '"USER" is refused'],
      ['LOGNAME', '"LOGNAME" is refused'],
      ['SHELL', '"SHELL" is refused'],
      [
        'DOCKER_JAIL_UID',
        '"DOCKER_JAIL_UID" is refused: it would pass DOCKER_JAIL* into the jail, and DOCKER_JAIL* variables are reserved for docker-jail itself',
      ],
      ['DOCKER_*', '"DOCKER_*" is refused'],
      ['BASH_ENV', '"BASH_ENV" is refused: it would pass BASH_ENV into the jail, and bash runs the file BASH_ENV names'],
      ['BASH_FUNC_*', '"BASH_FUNC_*" is refused'],
      ['B*', '"B*" is refused'],
      ['ENV', '"ENV" is refused: it would pass ENV into the jail, and sh runs the file ENV names'],
      ['*', '"*" is refused: it would pass every variable into the jail, PATH and LD_PRELOAD included'],
      ['1TERM', '"1TERM" is not a variable name'],
      ['TE*RM', '"TE*RM" is not a variable name'],
      ['TERM-X', 'is not a variable name'],
      ['TERM TERM', '"TERM" is listed twice'],
    ],
  },
  {
    section: 'session',
    key: 'kill_on_logout',
    read: (c) => c.session.killOnLogout,
    good: [
      ['yes', true],
      ['no', false],
      ['OFF', false],
    ],
    bad: [['always', '"always" is not a boolean (use yes or no)']],
  },
  {
    section: 'session',
    key: 'idle_stop',
    read: (c) => c.session.idleStopSeconds,
    good: [
      ['off', null],
      ['Never', null],
      ['0', 0],
      ['90', 90],
      ['90s', 90],
      ['30m', 1800],
      ['2h', 7200],
      ['1D', 86400],
      ['365d', 31536000],
    ],
    bad: [
      ['soon', '"soon" is not a duration (use e.g. 30m, 2h, 1d, a number of seconds, or off)'],
      ['1.5h', 'is not a duration'],
      ['-1', 'is not a duration'],
      ['1w', 'is not a duration'],
      ['366d', '"366d" is longer than a year (use at most 365d, or off)'],
      ['', 'is not a duration'],
    ],
  },
  {
    section: 'image',
    key: 'suite',
    read: (c) => c.image.suite,
    good: [
      ['trixie', 'trixie'],
      ['sid', 'sid'],
    ],
    bad: [
      ['Bookworm', '"Bookworm" is not a Debian suite name (lowercase letters, e.g. bookworm)'],
      ['bookworm-backports', 'is not a Debian suite name'],
      ['', 'is not a Debian suite name'],
    ],
  },
  {
    section: 'image',
    key: 'mirror',
    read: (c) => c.image.mirror,
    good: [
      ['http://deb.debian.org/debian', 'http://deb.debian.org/debian'],
      ['https://mirror.example.org:8443/debian/', 'https://mirror.example.org:8443/debian/'],
      ['auto', 'auto'],
    ],
    bad: [
      ['ftp://ftp.debian.org/debian', '"ftp://ftp.debian.org/debian" is not an http or https URL'],
      ['file:///srv/mirror', 'is not an http or https URL'],
      ['deb.debian.org/debian', '"deb.debian.org/debian" is not a URL (use auto, or e.g. http://deb.debian.org/debian)'],
      ['https://user:secret@mirror.example.org/debian', "contains a user name or password; keep credentials out of this file (use apt's auth.conf)"],
      ['https://mirror.example.org/debian?x=1', 'has a query or fragment, which a Debian mirror URL does not'],
      ['"https://mirror.example.org/debian#x"', 'has a query or fragment'],
      ['http://mirror.example.org/deb ian', 'contains whitespace'],
      ['Auto', 'is not a URL'],
      ['', 'is not a URL'],
    ],
  },
  {
    section: 'home',
    key: 'mode',
    read: (c) => c.home.mode,
    good: [
      ['0700', 0o700],
      ['750', 0o750],
      ['0711', 0o711],
    ],
    bad: [
      ['4700', '"4700" is not an octal mode (use e.g. 0700 or 0750)'],
      ['0500', '"0500" does not give the owner rwx (use e.g. 0700)'],
      ['rwx', 'is not an octal mode'],
      ['0800', 'is not an octal mode'],
    ],
  },
  {
    section: 'home',
    key: 'umask',
    read: (c) => c.home.umask,
    good: [
      ['0077', 0o077],
      ['022', 0o022],
    ],
    bad: [
      ['0277', '"0277" would take permissions from the owner (use e.g. 0077)'],
      ['77', 'is not an octal umask'],
    ],
  },
  {
    section: 'home',
    key: 'skel',
    read: (c) => c.home.skel,
    good: [
      ['/etc/skel', '/etc/skel'],
      ['/srv/skel.students', '/srv/skel.students'],
    ],
    bad: [
      ['skel', '"skel" is not an absolute path (it must start with /)'],
      ['/etc/../tmp', 'contains a ".." component'],
    ],
  },
  {
    section: 'home',
    key: 'bases',
    read: (c) => c.home.bases,
    good: [
      ['/home', ['/home']],
      ['/home /srv/homes', ['/home', '/srv/homes']],
      ['/home/ //srv//homes', ['/home', '/srv/homes']],
    ],
    bad: [
      ['', 'is empty (use e.g. /home, or several: /home /srv/homes)'],
      ['/', '"/" would let a home be anywhere, /etc included (use e.g. /home)'],
      ['//', 'would let a home be anywhere'],
      ['home', '"home" is not an absolute path (it must start with /)'],
      ['/home/../etc', 'contains a ".." component'],
      ['/./etc', 'contains a "." component'],
      ['/home /home/', '"/home/" is listed twice'],
    ],
  },
  {
    section: 'pam',
    key: 'timeout',
    read: (c) => c.pam.timeoutSeconds,
    good: [
      ['10', 10],
      ['5s', 5],
      ['60', 60],
    ],
    bad: [
      ['0', '"0" is out of range (1 to 60 seconds)'],
      ['61', 'is out of range'],
      ['2m', '"2m" is not a number of seconds (use e.g. 10 or 10s)'],
    ],
  },
  {
    section: 'gc',
    key: 'grace',
    read: (c) => c.gc.graceSeconds,
    good: [
      ['7d', 7 * 86400],
      ['0', 0],
      ['90', 90],
      ['12h', 43200],
    ],
    bad: [
      ['off', '"off" is not a duration (use e.g. 7d, 12h, or 0)'],
      ['soon', 'is not a duration'],
      ['400d', 'is longer than a year'],
    ],
  },
  {
    section: 'image',
    key: 'packages',
    read: (c) => c.image.packages,
    good: [
      ['', []],
      ['bash', ['bash']],
      ['bash, g++ libc6-dev,lib.x-1', ['bash', 'g++', 'libc6-dev', 'lib.x-1']],
    ],
    bad: [
      ['--allow-unauthenticated', '"--allow-unauthenticated" is not a Debian package name'],
      ['Bash', '"Bash" is not a Debian package name'],
      ['a', '"a" is not a Debian package name'],
      ['bash=5.2', 'is not a Debian package name'],
      ['bash bash', '"bash" is listed twice'],
    ],
  },
];

describe('config: every key', () => {
  it('covers every key the parser knows', () => {
    const covered = new Set(keyCases.map((c) => `${c.section}.${c.key}`));
    for (const [section, keys] of CONFIG_KEYS) {
      for (const key of keys) assert.ok(covered.has(`${section}.${key}`), `${section}.${key} has no test cases`);
    }
  });

  for (const c of keyCases) {
    describe(`[${c.section}] ${c.key}`, () => {
      for (const [text, value] of c.good) {
        it(`accepts ${JSON.stringify(text)}`, () => {
          const config = parse(`# comment\n[${c.section}]\n${c.key} = ${text}\n`);
          assert.deepStrictEqual(c.read(config), value);
          assert.equal(config.source, FILE);
        });
      }
      for (const [text, fragment] of c.bad) {
        it(`refuses ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text)}`, () => {
          rejectsText(`# comment\n[${c.section}]\n${c.key} = ${text}\n`, `${FILE}:3: [${c.section}] ${c.key}: `, fragment);
        });
      }
    });
  }
});

describe('config: checks between keys', () => {
  it('reports a group set twice at the later of the two keys', () => {
    rejectsText(
      '[access]\nexempt_group = wheel\njail_group = wheel',
      `${FILE}:3: [access] jail_group: jail_group and exempt_group are both "wheel"; a group cannot be both jailed and exempt`,
    );
    rejectsText('[access]\njail_group = wheel\n\nexempt_group = wheel', `${FILE}:4: [access] exempt_group: `, 'both "wheel"');
  });

  it('allows a fixed container name only in shared mode, whatever the key order', () => {
    const shared = expected((c) => {
      c.jail.mode = 'shared';
      c.jail.nameTemplate = 'jail';
    });
    assert.deepStrictEqual(parse('[jail]\nname_template = jail\nmode = shared'), shared);
    assert.deepStrictEqual(parse('[jail]\nmode = shared\nname_template = jail'), shared);
    rejectsText('[jail]\nname_template = jail\nmode = per-user', `${FILE}:3: [jail] mode: `, 'has neither {user} nor {uid}');
    rejectsText('[jail]\nmode = per-user\nname_template = jail', `${FILE}:3: [jail] name_template: `, 'has neither {user} nor {uid}');
  });

  it('refuses a capability both added and dropped', () => {
    rejectsText(
      '[jail]\ncap_add = NET_RAW\ncap_drop = CAP_NET_RAW KILL',
      `${FILE}:3: [jail] cap_drop: NET_RAW is in both cap_add and cap_drop; keep it in one of them`,
    );
    assert.deepStrictEqual(
      parse('[jail]\ncap_add = NET_RAW').jail,
      expected((c) => {
        c.jail.capAdd = ['NET_RAW'];
      }).jail,
    );
  });

  it('reads a whole file', () => {
    const text = [
      '[engine]',
      'socket = /run/docker.sock',
      '[access]',
      'jail_group = students',
      'exempt_group = staff',
      '[jail]',
      'image = localhost:5000/jail:1',
      'mode = shared',
      'name_template = jail-shared',
      'hostname_template = jail',
      'home_mount = /home/{user}',
      'network = jails',
      'cap_drop = all',
      'cap_add = net_bind_service',
      'no_new_privileges = on',
      'pids_limit = 0',
      'memory_limit = 0',
      'cpu_limit = 0',
      'tmp_size = 64m',
      '[session]',
      'shell = /bin/zsh',
      'workdir = /',
      'env_whitelist = TERM,LANG',
      'kill_on_logout = yes',
      'idle_stop = 1h',
      '[home]',
      'mode = 0750',
      'umask = 027',
      'skel = /etc/skel.students',
      'bases = /home /srv/students',
      '[pam]',
      'timeout = 5s',
      '[gc]',
      'grace = 1d',
      '[image]',
      'suite = trixie',
      'mirror = http://deb.debian.org/debian',
      'packages = bash',
    ].join('\n');
    const want: Config = {
      source: FILE,
      engine: { socket: '/run/docker.sock' },
      access: { jailGroup: 'students', exemptGroup: 'staff' },
      jail: {
        image: 'localhost:5000/jail:1',
        mode: 'shared',
        nameTemplate: 'jail-shared',
        hostnameTemplate: 'jail',
        homeMount: '/home/{user}',
        network: 'jails',
        capDrop: ['ALL'],
        capAdd: ['NET_BIND_SERVICE'],
        noNewPrivileges: true,
        pidsLimit: 0,
        memoryBytes: 0,
        cpus: 0,
        tmpBytes: 64 * 2 ** 20,
      },
      session: { shell: '/bin/zsh', workdir: '/', envWhitelist: ['TERM', 'LANG'], killOnLogout: true, idleStopSeconds: 3600 },
      home: { mode: 0o750, umask: 0o027, skel: '/etc/skel.students', bases: ['/home', '/srv/students'] },
      pam: { timeoutSeconds: 5 },
      gc: { graceSeconds: 86400 },
      image: { suite: 'trixie', mirror: 'http://deb.debian.org/debian', packages: ['bash'] },
    };
    assert.deepStrictEqual(parse(text), want);
  });
});

interface FakeEntry {
  kind: 'file' | 'dir' | 'symlink' | 'fifo';
  uid?: number;
  mode?: number;
  text?: string;
  size?: number;
}

function fsError(code: string, description: string, syscall: string, target: string): Error {
  return Object.assign(new Error(`${code}: ${description}, ${syscall} '${target}'`), { code });
}

/** A file system of a few entries; anything else does not exist. Records what was read. */
class FakeFs implements ConfigFs {
  readonly reads: string[] = [];
  constructor(private readonly entries: Record<string, FakeEntry>) {}

  lstat(target: string): ConfigStats {
    const entry = Object.hasOwn(this.entries, target) ? this.entries[target] : undefined;
    if (entry === undefined) throw fsError('ENOENT', 'no such file or directory', 'lstat', target);
    const defaultMode = entry.kind === 'dir' ? 0o755 : entry.kind === 'symlink' ? 0o777 : 0o644;
    return {
      uid: entry.uid ?? 0,
      mode: entry.mode ?? defaultMode,
      size: entry.size ?? entry.text?.length ?? 0,
      isFile: () => entry.kind === 'file',
      isDirectory: () => entry.kind === 'dir',
      isSymbolicLink: () => entry.kind === 'symlink',
    };
  }

  readFile(target: string): string {
    this.reads.push(target);
    const entry = Object.hasOwn(this.entries, target) ? this.entries[target] : undefined;
    if (entry?.text === undefined) throw fsError('EACCES', 'permission denied', 'open', target);
    return entry.text;
  }
}

/** / and /etc as on a sound host, plus `file` at /etc/docker-jail.ini. */
function host(file: FakeEntry | undefined, more: Record<string, FakeEntry> = {}): FakeFs {
  const entries: Record<string, FakeEntry> = { '/': { kind: 'dir' }, '/etc': { kind: 'dir' }, ...more };
  if (file !== undefined) entries[FILE] = file;
  return new FakeFs(entries);
}

describe('config: loading and the ownership rules', () => {
  it('loads a root-owned file that only root can write', () => {
    const fake = host({ kind: 'file', text: GOOD_TEXT });
    const config = loadConfig(FILE, fake);
    assert.equal(config.source, FILE);
    assert.equal(config.jail.mode, 'shared');
    assert.deepStrictEqual(fake.reads, [FILE]);
  });

  it('accepts 0600, 0640 and 0444', () => {
    for (const mode of [0o600, 0o640, 0o444, 0o100644]) {
      assert.equal(loadConfig(FILE, host({ kind: 'file', mode, text: GOOD_TEXT })).jail.mode, 'shared');
    }
  });

  it('gives the built-in defaults when the file does not exist', () => {
    assert.equal(loadConfig(FILE, host(undefined)), defaultConfig);
    assert.equal(loadConfig('/opt/none/docker-jail.ini', host(undefined)), defaultConfig);
  });

  it('uses /etc/docker-jail.ini by default', () => {
    assert.equal(loadConfig(undefined, host({ kind: 'file', text: GOOD_TEXT })).source, FILE);
  });

  it('refuses a symbolic link, before reading anything', () => {
    const fake = host({ kind: 'symlink' });
    rejects(() => loadConfig(FILE, fake), `${FILE}: refused: is a symbolic link; make it a regular file owned by root`);
    assert.deepStrictEqual(fake.reads, []);
  });

  it('refuses what is not a regular file', () => {
    rejects(() => loadConfig(FILE, host({ kind: 'dir' })), `${FILE}: refused: is not a regular file`);
    rejects(() => loadConfig(FILE, host({ kind: 'fifo' })), `${FILE}: refused: is not a regular file`);
  });

  it('refuses a file owned by another user', () => {
    const fake = host({ kind: 'file', uid: 1000, text: GOOD_TEXT });
    rejects(() => loadConfig(FILE, fake), `${FILE}: refused: owned by uid 1000, not root; run: chown root ${FILE}`);
    assert.deepStrictEqual(fake.reads, []);
  });

  it('refuses a file writable by group or others', () => {
    rejects(
      () => loadConfig(FILE, host({ kind: 'file', mode: 0o664, text: GOOD_TEXT })),
      `${FILE}: refused: writable by group or others (mode 0664); run: chmod go-w ${FILE}`,
    );
    rejects(
      () => loadConfig(FILE, host({ kind: 'file', mode: 0o646, text: GOOD_TEXT })),
      `${FILE}: refused: writable by group or others (mode 0646); run: chmod go-w ${FILE}`,
    );
    rejects(
      () => loadConfig(FILE, host({ kind: 'file', mode: 0o100622, text: GOOD_TEXT })),
      `${FILE}: refused: writable by group or others (mode 0622); run: chmod go-w ${FILE}`,
    );
  });

  it('refuses a file in a directory that is not root-only', () => {
    rejects(
      () => loadConfig(FILE, host({ kind: 'file', text: GOOD_TEXT }, { '/etc': { kind: 'dir', mode: 0o775 } })),
      `${FILE}: refused: its directory /etc is writable by group or others (mode 0775); run: chmod go-w /etc`,
    );
    rejects(
      () => loadConfig(FILE, host({ kind: 'file', text: GOOD_TEXT }, { '/etc': { kind: 'dir', mode: 0o1777 } })),
      `${FILE}: refused: its directory /etc is writable by group or others (mode 1777); run: chmod go-w /etc`,
    );
    rejects(
      () => loadConfig(FILE, host({ kind: 'file', text: GOOD_TEXT }, { '/etc': { kind: 'dir', uid: 1000 } })),
      `${FILE}: refused: its directory /etc is owned by uid 1000, not root; run: chown root /etc`,
    );
    rejects(
      () => loadConfig(FILE, host({ kind: 'file', text: GOOD_TEXT }, { '/etc': { kind: 'symlink' } })),
      `${FILE}: refused: its directory /etc is a symbolic link; give the real path`,
    );
  });

  it('refuses even a missing file when its directory is not root-only (the file could be planted)', () => {
    rejects(
      () => loadConfig(FILE, host(undefined, { '/etc': { kind: 'dir', mode: 0o777 } })),
      `${FILE}: refused: its directory /etc is writable by group or others (mode 0777); run: chmod go-w /etc`,
    );
  });

  it('checks every directory above, where a root-owned sticky one is fine', () => {
    const file = '/srv/conf/docker-jail.ini';
    const tree = (srv: FakeEntry) =>
      new FakeFs({
        '/': { kind: 'dir' },
        '/srv': srv,
        '/srv/conf': { kind: 'dir' },
        [file]: { kind: 'file', text: GOOD_TEXT },
      });
    assert.equal(loadConfig(file, tree({ kind: 'dir', mode: 0o1777 })).source, file);
    rejects(
      () => loadConfig(file, tree({ kind: 'dir', mode: 0o777 })),
      `${file}: refused: /srv, a directory above it, is writable by group or others (mode 0777); run: chmod go-w /srv`,
    );
    rejects(
      () => loadConfig(file, tree({ kind: 'dir', mode: 0o1777, uid: 1000 })),
      `${file}: refused: /srv, a directory above it, is owned by uid 1000, not root; run: chown root /srv`,
    );
    rejects(() => loadConfig(file, tree({ kind: 'file' })), `${file}: refused: /srv, a directory above it, is not a directory`);
  });

  it('refuses a relative path, and checks and reads the path as resolved', () => {
    rejects(() => loadConfig('docker-jail.ini', host(undefined)), 'docker-jail.ini: refused: the configuration file must be given as an absolute path');
    const fake = host({ kind: 'file', text: GOOD_TEXT });
    assert.equal(loadConfig('/nowhere/../etc/./docker-jail.ini', fake).source, FILE);
    assert.deepStrictEqual(fake.reads, [FILE]);
  });

  it('refuses a file over 1 MiB without reading it', () => {
    const fake = host({ kind: 'file', size: 2 * 1024 * 1024, text: '' });
    rejects(() => loadConfig(FILE, fake), `${FILE}: refused: larger than 1048576 bytes`);
    assert.deepStrictEqual(fake.reads, []);
  });

  it('names the file on any other error', () => {
    const broken: ConfigFs = {
      lstat: (target) => {
        throw fsError('EACCES', 'permission denied', 'lstat', target);
      },
      readFile: () => '',
    };
    rejects(() => loadConfig(FILE, broken), `${FILE}: cannot check /: permission denied (EACCES)`);
    const failing: ConfigFs = {
      lstat: (target) => {
        if (target === FILE) throw fsError('EIO', 'i/o error', 'lstat', target);
        return host(undefined).lstat(target);
      },
      readFile: () => '',
    };
    rejects(() => loadConfig(FILE, failing), `${FILE}: cannot check: i/o error (EIO)`);
    rejects(() => loadConfig(FILE, host({ kind: 'file' })), `${FILE}: cannot read: permission denied (EACCES)`);
    const odd: ConfigFs = {
      lstat: host({ kind: 'file' }).lstat.bind(host({ kind: 'file' })),
      readFile: () => {
        throw new Error('gone');
      },
    };
    rejects(() => loadConfig(FILE, odd), `${FILE}: cannot read: gone`);
  });

  it('names file, line and key for bad content', () => {
    rejects(
      () => loadConfig(FILE, host({ kind: 'file', text: '[jail]\n\nmemory_limit = 12x\n' })),
      `${FILE}:3: [jail] memory_limit: "12x" is not a size (use e.g. 512m, 2g, or 0 for no limit)`,
    );
  });
});

describe('config: home_mount once filled in for a user', () => {
  const withMount = (homeMount: string): Config => ({ ...defaultConfig, jail: { ...defaultConfig.jail, homeMount } });
  const vars = (user: string, home: string) => ({ user, uid: '1001', home });

  it('puts the home where the template says', () => {
    assert.equal(homeTargetFor(withMount('{home}'), vars('alice', '/home/alice')), '/home/alice');
    assert.equal(homeTargetFor(withMount('/{user}'), vars('alice', '/home/alice')), '/alice');
  });

  it("refuses a user name or home that would put the home over the jail's system, naming the key", () => {
    for (const [template, user, home, over] of [
      ['/{user}', 'etc', '/home/etc', '/etc'],
      ['/{user}', 'usr', '/home/usr', '/usr'],
      ['{home}', 'bob', '/usr/local/bob', '/usr'],
      ['{home}', 'bob', '/', 'root directory'],
    ]) {
      assert.throws(
        () => homeTargetFor(withMount(template), vars(user, home)),
        (error: unknown) => {
          assert.ok(error instanceof JailError);
          assert.equal(error.exitCode, ExitCode.config);
          assert.ok(error.message.startsWith(`[jail] home_mount for ${user}: `), error.message);
          assert.ok(error.message.includes(over), error.message);
          return true;
        },
      );
    }
  });
});

describe('config: a home from NSS against [home] bases', () => {
  const bases = ['/home', '/srv/homes'];

  it('accepts a home strictly below a base, however its slashes are written', () => {
    for (const home of ['/home/alice', '/home/alice/', '//home//alice', '/srv/homes/bob', '/home/a/b']) {
      assert.equal(homeOutsideBases(home, bases), null, home);
    }
  });

  it('refuses a base itself, a sibling sharing its prefix, a . or .. component, a relative path, anything else', () => {
    for (const home of [
      '/home',
      '/home/',
      '/home2/x',
      '/homex',
      '/srv/homesick/x',
      '/srv/x',
      '/etc/systemd/system/x',
      '/',
      '/home/../etc/x',
      '/home/./x',
      'home/x',
      '',
    ]) {
      assert.notEqual(homeOutsideBases(home, bases), null, home);
    }
    assert.equal(homeOutsideBases('/etc/x', bases), 'is not below [home] bases (/home /srv/homes)');
  });
});
