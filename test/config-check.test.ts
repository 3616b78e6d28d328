// `config check` and `config edit` without root (issue 17): every problem of a file at once, the effective
// config written in the file's own terms, a draft told apart from the live file, the short conffile and the
// manual page made from the full example. On the installed package: config.e2e.test.ts.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ConfigFs, type ConfigStats, checkConfigFile, defaultConfig, jailGroupNamesIn, parseConfig } from '../src/config/load';
import { CONFIG_KEYS, checkConfigText, formatConfig } from '../src/config/parse';
import type { Config } from '../src/config/types';
import { JailError } from '../src/errors';
import { resolveEditor } from '../src/host/configFiles';
import { DEFAULT_CONFIG_PATH, EXAMPLE_CONFIG_PATH } from '../src/host/paths';
import type { Nss } from '../src/identity/nss';
import { mayHaveUserManager } from '../src/policy/access';
import { iniManpage } from '../tools/ini-manpage';
import { GOOD_TEXT } from './support/configRefusals';

const FILE = '/etc/docker-jail.ini';
const SHORT = path.join(__dirname, '..', 'etc', 'docker-jail.ini');
const EXAMPLE = path.join(__dirname, '..', 'etc', 'examples', 'docker-jail.ini');

/** A config set far from the defaults in every section, each kind of value included. */
const FULL_TEXT = [
  '[engine]',
  'socket = /run/docker.sock',
  '[access]',
  'jail_group = students',
  'exempt_group = staff',
  '[jail]',
  'image = localhost:5000/jail:1',
  'mode = shared',
  'name_template = jail-shared',
  'network = jails',
  'cap_drop = ALL',
  'cap_add = net_bind_service, CAP_NET_RAW',
  'no_new_privileges = on',
  'pids_limit = 0',
  'memory_limit = 1536m',
  'cpu_limit = 0.5',
  'tmp_size = 3000000',
  '[session]',
  'shell = /bin/zsh',
  'env_whitelist = TERM,LANG LC_*',
  'kill_on_logout = yes',
  'idle_stop = 90',
  '[home]',
  'mode = 750',
  'umask = 027',
  'bases = /home /srv/students',
  '[pam]',
  'timeout = 5s',
  '[gc]',
  'grace = 36h',
  '[image]',
  'mirror = http://deb.debian.org/debian',
  'packages = bash',
].join('\n');

interface Entry {
  kind: 'file' | 'dir' | 'symlink';
  uid?: number;
  mode?: number;
  text?: string;
}

/** / and /etc as on a sound host, and these entries; anything else does not exist. */
function fakeFs(entries: Record<string, Entry>): ConfigFs {
  const all: Record<string, Entry> = { '/': { kind: 'dir' }, '/etc': { kind: 'dir' }, '/home': { kind: 'dir' }, ...entries };
  const find = (target: string) => {
    const entry = Object.hasOwn(all, target) ? all[target] : undefined;
    if (entry === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, lstat '${target}'`), { code: 'ENOENT' });
    return entry;
  };
  return {
    lstat(target: string): ConfigStats {
      const entry = find(target);
      return {
        uid: entry.uid ?? 0,
        mode: entry.mode ?? (entry.kind === 'dir' ? 0o755 : 0o644),
        size: entry.text?.length ?? 0,
        isFile: () => entry.kind === 'file',
        isDirectory: () => entry.kind === 'dir',
        isSymbolicLink: () => entry.kind === 'symlink',
      };
    },
    readFile: (target: string) => find(target).text ?? '',
  };
}

describe('config check: every problem, each with file, line and key', () => {
  it('reports each bad value, stray line and unknown key of one file, in file order', () => {
    const text = ['[jail]', 'pids_limit = lots', 'memory_limit = 1', 'colour = blue', '[JAIL]', 'mode = x', '[home]', 'mode = 0777x', 'just words'].join('\n');
    const { problems } = checkConfigText(text, FILE);
    assert.deepStrictEqual(problems, [
      `${FILE}:4: [jail] colour: unknown key (known keys in [jail]: ${CONFIG_KEYS.get('jail')?.join(', ')})`,
      `${FILE}:5: [JAIL]: unknown section; section names are lower case: [jail]`,
      `${FILE}:9: expected "key = value", "[section]" or a comment, got "just words"`,
    ]);
    // The lines read first: values are judged once every line is, so here the key under [JAIL] is skipped.
    const values = checkConfigText('[jail]\npids_limit = lots\nmemory_limit = 1\n[home]\nmode = 0777x\n', FILE).problems;
    assert.equal(values.length, 3);
    assert.match(values[0], /^\/etc\/docker-jail\.ini:2: \[jail\] pids_limit: "lots" is not a whole number/);
    assert.match(values[1], /^\/etc\/docker-jail\.ini:3: \[jail\] memory_limit: /);
    assert.match(values[2], /^\/etc\/docker-jail\.ini:5: \[home\] mode: /);
  });

  it('reports first what every other reader refuses the file with', () => {
    for (const text of [
      '[jail]\npids_limit = lots\ncpu_limit = x\n',
      'x\n[jail]\nmode = y\n',
      '[access]\njail_group = a\nexempt_group = a\n',
      '[jail]\nmode = "x\n',
    ]) {
      const { problems } = checkConfigText(text, FILE);
      assert.ok(problems.length > 0, text);
      assert.throws(
        () => parseConfig(text, FILE),
        (error: unknown) => error instanceof JailError && error.message === problems[0],
      );
    }
  });

  it('finds nothing in a good file, and gives the config every reader gets', () => {
    assert.deepStrictEqual(checkConfigText(FULL_TEXT, FILE), { config: parseConfig(FULL_TEXT, FILE), problems: [] });
  });
});

describe('config check: the effective config in the file’s own terms', () => {
  it('writes every section and key, with values as an administrator writes them, never the internal form', () => {
    const text = formatConfig(parseConfig(FULL_TEXT, FILE));
    for (const line of [
      '[jail]',
      'memory_limit = 1536m',
      'tmp_size = 3000000',
      'cpu_limit = 0.5',
      'cap_add = NET_BIND_SERVICE NET_RAW',
      'no_new_privileges = yes',
      'mode = 0750',
      'umask = 0027',
      'idle_stop = 90s',
      'grace = 36h',
      'env_whitelist = TERM LANG LC_*',
      'timeout = 5',
    ]) {
      assert.ok(text.split('\n').includes(line), `no line ${JSON.stringify(line)} in\n${text}`);
    }
    assert.doesNotMatch(text, /memoryBytes|"mode"|448|\{\s*"/);
    const defaults = formatConfig(defaultConfig);
    for (const line of ['memory_limit = 1g', 'mode = 0700', 'idle_stop = off', 'grace = 7d', 'cap_add =', 'socket = /var/run/docker.sock']) {
      assert.ok(defaults.split('\n').includes(line), `no line ${JSON.stringify(line)} in the defaults`);
    }
    const sections = defaults.split('\n').filter((line) => line.startsWith('['));
    assert.deepStrictEqual(
      sections,
      [...CONFIG_KEYS.keys()].map((name) => `[${name}]`),
    );
  });

  it('reads back to the very same config (defaults, a full one, values that need quotes)', () => {
    const quoted = '[engine]\nsocket = "/run/a b/docker.sock "\n[jail]\nname_template = {uid}\n';
    for (const config of [defaultConfig, parseConfig(FULL_TEXT, FILE), parseConfig(GOOD_TEXT, FILE), parseConfig(quoted, FILE)]) {
      const again: Config = parseConfig(formatConfig(config), FILE);
      assert.deepStrictEqual(again, { ...config, source: FILE });
    }
  });
});

describe('config check FILE: a draft, and the live file', () => {
  const mine: Entry = { kind: 'file', uid: 1000, mode: 0o664, text: GOOD_TEXT };

  it('checks a draft the administrator owns, noting what would refuse it once installed', () => {
    const result = checkConfigFile('/home/draft.ini', true, fakeFs({ '/home/draft.ini': mine }));
    assert.deepStrictEqual(result.problems, []);
    assert.equal(result.config.jail.mode, 'shared');
    assert.deepStrictEqual(result.installNotes, [
      '/home/draft.ini: owned by uid 1000: installed as it is, it would be refused (chown root /home/draft.ini)',
      '/home/draft.ini: writable by group or others (mode 0664): installed as it is, it would be refused (chmod go-w /home/draft.ini)',
    ]);
  });

  it('refuses the same file as the live config, naming the fix', () => {
    const result = checkConfigFile(FILE, false, fakeFs({ [FILE]: mine }));
    assert.deepStrictEqual(result.problems, [`${FILE}: refused: owned by uid 1000, not root; run: chown root ${FILE}`]);
  });

  it('takes the built-in defaults when there is no live file, but a draft must exist', () => {
    const live = checkConfigFile(FILE, false, fakeFs({}));
    assert.deepStrictEqual({ exists: live.exists, problems: live.problems, config: live.config }, { exists: false, problems: [], config: defaultConfig });
    const draft = checkConfigFile('/home/none.ini', true, fakeFs({}));
    assert.equal(draft.exists, false);
    assert.deepStrictEqual(draft.problems, ['/home/none.ini: cannot check: no such file or directory (ENOENT)']);
  });

  it('names the draft, not the live file, in its problems', () => {
    const result = checkConfigFile('/home/draft.ini', true, fakeFs({ '/home/draft.ini': { kind: 'file', text: '[jail]\n\npids_limit = lots\n' } }));
    assert.match(result.problems.join('\n'), /^\/home\/draft\.ini:3: \[jail\] pids_limit: /);
  });
});

describe('user-manager without a config that loads: the jail groups a broken file names', () => {
  it('finds every jail_group line, wherever it stands, read loosely (the typo may be on it), skipping what is no group name', () => {
    const text =
      '[ACCESS]\njail_group = students\n# jail_group = commented\n  jail_group="pupils"\njail_group = bad name\n[jail]\njail_group = x;y\n' +
      "JAIL_GROUP: prisoners  # a comment\njail_group = 'inmates';\njail_group = -rf\n";
    assert.deepStrictEqual(jailGroupNamesIn(FILE, fakeFs({ [FILE]: { kind: 'file', uid: 1000, mode: 0o666, text } })), [
      'students',
      'pupils',
      'bad',
      'x',
      'prisoners',
      'inmates',
    ]);
    assert.deepStrictEqual(jailGroupNamesIn(FILE, fakeFs({})), []);
    assert.deepStrictEqual(jailGroupNamesIn(FILE, fakeFs({ [FILE]: { kind: 'symlink' } })), []);
  });
});

describe('the shipped conffile and the full example', () => {
  const short = fs.readFileSync(SHORT, 'utf8');

  it('ships a short /etc/docker-jail.ini that sets nothing and says where the defaults are', () => {
    assert.deepStrictEqual(parseConfig(short, FILE), { ...defaultConfig, source: FILE });
    assert.deepStrictEqual(
      short.split('\n').filter((line) => line !== '' && !line.startsWith('#')),
      [],
    );
    assert.ok(short.split('\n').length <= 20, 'the conffile grew: every change of it makes dpkg ask an administrator who edited theirs');
    assert.ok(short.includes(EXAMPLE_CONFIG_PATH));
    assert.match(short, /docker-jail\.ini\(5\)/);
    assert.match(short, /docker-jail config edit/);
    assert.equal(DEFAULT_CONFIG_PATH, '/etc/docker-jail.ini');
  });

  it('installs the full example where the conffile and the manual page say (debian/docker-jail.examples, uncompressed)', () => {
    assert.equal(EXAMPLE_CONFIG_PATH, `/usr/share/doc/docker-jail/examples/${path.basename(EXAMPLE)}`);
    assert.deepStrictEqual(fs.readFileSync('debian/docker-jail.examples', 'utf8').trim().split('\n'), ['etc/examples/docker-jail.ini']);
    assert.match(fs.readFileSync('debian/rules', 'utf8'), /^\tdh_compress -Xexamples\/docker-jail\.ini$/m);
  });

  it('makes docker-jail.ini(5) from the example, every section heading as the parser takes it', () => {
    const page = iniManpage(fs.readFileSync(EXAMPLE, 'utf8'), '1.0', '2026-01-01');
    const headings = [...page.matchAll(/^\.SH "(\[[^\]]*\])"$/gm)].map((match) => match[1]);
    assert.deepStrictEqual(
      headings,
      [...CONFIG_KEYS.keys()].map((name) => `[${name}]`),
    );
    for (const heading of headings) assert.doesNotThrow(() => parseConfig(`${heading}\n`, FILE), heading);
    assert.doesNotMatch(page, /^\.SH \[?[A-Z]+\]/m);
    assert.ok(page.includes(EXAMPLE_CONFIG_PATH.replace(/-/g, '\\-')));
  });
});

describe('config edit: the editor', () => {
  it('takes $VISUAL, then $EDITOR, with their words, from root only', () => {
    assert.deepStrictEqual(resolveEditor({ VISUAL: '/bin/cat -n', EDITOR: '/bin/false' }, true), { path: '/bin/cat', args: ['-n'] });
    assert.deepStrictEqual(resolveEditor({ EDITOR: ' /bin/cat ' }, true), { path: '/bin/cat', args: [] });
    const bare = resolveEditor({ EDITOR: 'sh' }, true);
    assert.match(bare.path, /^\/(usr\/)?s?bin\/sh$/);
    assert.throws(() => resolveEditor({ EDITOR: './vi' }, true), /\$EDITOR names "\.\/vi", which is not an absolute path to a program nor found in/);
    assert.throws(() => resolveEditor({ VISUAL: 'no-such-editor-x' }, true), /\$VISUAL names "no-such-editor-x"/);
    // Not root: the variables are not looked at.
    let fallback: string;
    try {
      fallback = resolveEditor({ VISUAL: 'no-such-editor-x' }, false).path;
    } catch (error) {
      fallback = String(error);
    }
    assert.match(fallback, /\/(editor|vi)$|no editor/);
  });
});

describe('user-manager: decided without the config when it does not load (fake NSS)', () => {
  // jailed 900, admins 901, students 902, staff 903; each user also has a private group of their uid.
  const GROUPS: Record<string, number> = { jailed: 900, admins: 901, students: 902, staff: 903 };
  const USERS: Record<number, { name: string; shell: string; groups: string[] }> = {
    1001: { name: 'plain', shell: '/bin/bash', groups: [] },
    1002: { name: 'jailee', shell: '/bin/bash', groups: ['jailed'] },
    1003: { name: 'admin', shell: '/bin/bash', groups: ['jailed', 'admins'] },
    1004: { name: 'pupil', shell: '/bin/bash', groups: ['students'] },
    1005: { name: 'shelled', shell: '/usr/bin/jailsh', groups: [] },
  };
  const nss: Nss = {
    passwdByUid: (uid) => {
      const user = USERS[uid];
      return user === undefined ? null : `${user.name}:x:${uid}:${uid}::/home/${user.name}:${user.shell}`;
    },
    passwdByName: () => null,
    groupIdsOf: (name) => {
      const [uid, user] = Object.entries(USERS).find(([, u]) => u.name === name) ?? [];
      return user === undefined ? [] : [Number(uid), ...user.groups.map((g) => GROUPS[g])];
    },
    groupLines: (keys) =>
      keys.flatMap((key) => {
        const byName = Object.hasOwn(GROUPS, key) ? GROUPS[key] : undefined;
        if (byName !== undefined) return [`${key}:x:${byName}:`];
        const byGid = Object.entries(GROUPS).find(([, gid]) => String(gid) === key);
        if (byGid !== undefined) return [`${byGid[0]}:x:${byGid[1]}:`];
        return /^\d+$/.test(key) ? [`own${key}:x:${key}:`] : [];
      }),
  };
  const broken = () => {
    throw new JailError('/etc/docker-jail.ini:1: [ENGINE]: unknown section; section names are lower case: [engine]', 78);
  };
  /** Each user's verdict: 0 passes, 77 refused. */
  const verdicts = (load: () => Config, named: string[] = [], launcherGid: number | null = null) =>
    Object.fromEntries(
      [0, 1001, 1002, 1003, 1004, 1005].map((uid) => {
        try {
          mayHaveUserManager(
            uid,
            nss,
            load,
            () => named,
            () => launcherGid,
          );
          return [uid, 0];
        } catch (error) {
          assert.ok(error instanceof JailError, String(error));
          return [uid, error.exitCode];
        }
      }),
    );

  it('with the config loading: the exempt group is honoured (control)', () => {
    assert.deepStrictEqual(
      verdicts(() => defaultConfig),
      { 0: 0, 1001: 0, 1002: 77, 1003: 0, 1004: 0, 1005: 77 },
    );
  });

  it('broken: root and users outside the default jail group pass; its members, administrators among them, and jailsh users do not', () => {
    assert.deepStrictEqual(verdicts(broken), { 0: 0, 1001: 0, 1002: 77, 1003: 77, 1004: 0, 1005: 77 });
  });

  it('broken: a jail_group the file names only adds refusals; one that does not resolve refuses all but root', () => {
    assert.deepStrictEqual(verdicts(broken, ['students']), { 0: 0, 1001: 0, 1002: 77, 1003: 77, 1004: 77, 1005: 77 });
    // An exempt group the file names exempts nobody, and the built-in jail group still counts.
    assert.deepStrictEqual(verdicts(broken, ['staff']), { 0: 0, 1001: 0, 1002: 77, 1003: 77, 1004: 0, 1005: 77 });
    assert.deepStrictEqual(verdicts(broken, ['nosuchgroup']), { 0: 0, 1001: 77, 1002: 77, 1003: 77, 1004: 77, 1005: 77 });
  });

  it('broken: the group that may run jailsh counts as jailed, whatever the file says (a custom jail group the broken file no longer names)', () => {
    assert.deepStrictEqual(verdicts(broken, [], 902), { 0: 0, 1001: 0, 1002: 77, 1003: 77, 1004: 77, 1005: 77 });
    // A name the file gives must still resolve; the launcher's group does not excuse that.
    assert.deepStrictEqual(verdicts(broken, ['nosuchgroup'], 902), { 0: 0, 1001: 77, 1002: 77, 1003: 77, 1004: 77, 1005: 77 });
  });
});
