// The configuration loader (src/config) on real files, as root: the
// ownership, mode, symlink and encoding rules on a real kernel. The same
// rules against a fake file system are in config.test.ts.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultConfig, loadConfig, nodeFs } from '../src/config/load';
import { CONFIG_EDIT_DIR_PREFIX, DEFAULT_CONFIG_PATH } from '../src/host/paths';
import { withConfig } from './support/config';
import { GOOD_TEXT, rejects } from './support/configRefusals';
import { run } from './support/host';
import { Terminal } from './support/pty';

const SHIPPED = path.join(__dirname, '..', 'etc', 'docker-jail.ini'); // the short conffile
const EXAMPLE = path.join(__dirname, '..', 'etc', 'examples', 'docker-jail.ini');

describe('config: a real file', () => {
  let dir = '';
  let file = '';

  before(function () {
    // A missing prerequisite fails here rather than skipping: these tests prove SECURITY.md, invariant 7 on a real kernel.
    assert.equal(process.getuid?.(), 0, 'the @root tests must run as root');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-jail-config-'));
    fs.chmodSync(dir, 0o755);
    file = path.join(dir, 'docker-jail.ini');
  });

  beforeEach(() => {
    fs.rmSync(file, { force: true });
    fs.chmodSync(dir, 0o755);
    fs.chownSync(dir, 0, 0);
  });

  after(() => {
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  function write(text: string, mode = 0o644): void {
    fs.writeFileSync(file, text, { mode });
    fs.chmodSync(file, mode); // the umask may have cleared bits
  }

  it('loads a root-owned 0644 file below the sticky /tmp', () => {
    write(GOOD_TEXT);
    const config = loadConfig(file);
    assert.equal(config.source, file);
    assert.equal(config.jail.mode, 'shared');
  });

  it('loads the shipped file, and the full example, to the defaults', () => {
    for (const shipped of [SHIPPED, EXAMPLE]) {
      write(fs.readFileSync(shipped, 'utf8'));
      assert.deepStrictEqual(loadConfig(file), { ...defaultConfig, source: file }, shipped);
    }
  });

  it('gives the defaults when there is no file', () => {
    assert.equal(loadConfig(file), defaultConfig);
  });

  it('refuses a group-writable file', () => {
    write(GOOD_TEXT, 0o664);
    rejects(() => loadConfig(file), `${file}: refused: writable by group or others (mode 0664); run: chmod go-w ${file}`);
  });

  it('refuses a file owned by uid 1000', () => {
    write(GOOD_TEXT);
    fs.chownSync(file, 1000, 1000);
    rejects(() => loadConfig(file), `${file}: refused: owned by uid 1000, not root; run: chown root ${file}`);
  });

  it('refuses a symlink to a good file', () => {
    const target = path.join(dir, 'real.ini');
    fs.writeFileSync(target, GOOD_TEXT, { mode: 0o644 });
    fs.symlinkSync(target, file);
    try {
      rejects(() => loadConfig(file), `${file}: refused: is a symbolic link; make it a regular file owned by root`);
      assert.throws(() => nodeFs.readFile(file), { code: 'ELOOP' });
    } finally {
      fs.rmSync(target);
    }
  });

  it('refuses a FIFO without blocking', () => {
    fs.rmSync(file, { force: true });
    execFileSync('mkfifo', ['-m', '0644', file]);
    rejects(() => loadConfig(file), `${file}: refused: is not a regular file`);
    assert.throws(() => nodeFs.readFile(file), /not a regular file/);
  });

  it('refuses a group-writable directory', () => {
    write(GOOD_TEXT);
    fs.chmodSync(dir, 0o775);
    rejects(() => loadConfig(file), `${file}: refused: its directory ${dir} is writable by group or others (mode 0775); run: chmod go-w ${dir}`);
  });

  it('refuses a file that is not UTF-8', () => {
    fs.writeFileSync(file, Buffer.from([0x5b, 0x6a, 0xff, 0x5d]), { mode: 0o644 });
    rejects(() => loadConfig(file), `${file}: cannot read: not valid UTF-8 text`);
  });

  it('accepts a byte order mark and CRLF line ends', () => {
    write(`\uFEFF${GOOD_TEXT.replace(/\n/g, '\r\n')}`);
    assert.equal(loadConfig(file).jail.nameTemplate, 'shared');
  });
});

describe('config check and config edit, on the installed package', function () {
  this.timeout(60_000);
  const CLI = '/usr/sbin/docker-jail';
  let dir = '';
  let editor = '';

  before(() => {
    assert.equal(process.getuid?.(), 0, 'config edit is root’s: run as root');
    dir = fs.mkdtempSync('/tmp/djt-config-edit-');
    editor = path.join(dir, 'editor');
  });
  after(() => {
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The "editor" config edit runs: a script doing `body` to the file it is given ($1). */
  function editorDoes(body: string): void {
    fs.writeFileSync(editor, `#!/bin/sh\n${body}\n`, { mode: 0o700 });
    fs.chmodSync(editor, 0o700);
  }
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => run(CLI, args, { env: { PATH: '/usr/bin:/bin', ...env }, input: '' });
  const editDirs = () => fs.readdirSync('/tmp').filter((name) => `/tmp/${name}`.startsWith(CONFIG_EDIT_DIR_PREFIX));
  const live = () => ({ text: fs.readFileSync(DEFAULT_CONFIG_PATH, 'utf8'), ...ownerAndMode(DEFAULT_CONFIG_PATH) });
  const ownerAndMode = (file: string) => {
    const stats = fs.statSync(file);
    return { uid: stats.uid, gid: stats.gid, mode: stats.mode & 0o7777 };
  };

  it('check FILE: a draft owned by another user is checked, its owner and mode only noted; the effective config printed as ini', () => {
    const draft = path.join(dir, 'draft.ini');
    fs.writeFileSync(draft, '[jail]\nmemory_limit = 512m\n[home]\nmode = 750\n');
    fs.chownSync(draft, 65534, 65534);
    fs.chmodSync(draft, 0o664);
    const result = cli(['config', 'check', draft]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^\[jail\]$/m);
    assert.match(result.stdout, /^memory_limit = 512m$/m);
    assert.match(result.stdout, /^\[home\]\nmode = 0750$/m);
    assert.match(result.stdout, /^pids_limit = 512$/m); // a default, as the file would take effect
    assert.doesNotMatch(result.stdout, /memoryBytes|"mode"|\b448\b/);
    assert.match(result.stderr, new RegExp(`note: ${draft}: owned by uid 65534: installed as it is, it would be refused`));
    assert.match(result.stderr, /note: .*writable by group or others \(mode 0664\)/);
  });

  it('check FILE: every problem, each with the file, line and key, exit 78', () => {
    const draft = path.join(dir, 'bad.ini');
    fs.writeFileSync(draft, '[jail]\npids_limit = lots\n\nmemory_limit = 1\n');
    const result = cli(['config', 'check', draft]);
    assert.equal(result.status, 78);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, result.stderr);
    assert.match(lines[0], new RegExp(`^docker-jail: ${draft}:2: \\[jail\\] pids_limit: `));
    assert.match(lines[1], new RegExp(`^docker-jail: ${draft}:4: \\[jail\\] memory_limit: `));
    assert.equal(cli(['config', 'check', path.join(dir, 'none.ini')]).status, 78);
  });

  it('check: the live file is held to its owner and mode', async () => {
    await withConfig(
      '[jail]\npids_limit = 9\n',
      () => {
        const result = cli(['config', 'check']);
        assert.equal(result.status, 78);
        assert.match(result.stderr, /^docker-jail: \/etc\/docker-jail\.ini: refused: writable by group or others \(mode 0666\)/);
      },
      0o666,
    );
  });

  it('edit: a good edit is installed root:root, keeping a stricter mode, and takes effect', async () => {
    editorDoes(`printf '%s\\n' '[jail]' 'pids_limit = 77' >> "$1"`);
    await withConfig(
      '# mine\n',
      () => {
        fs.chownSync(DEFAULT_CONFIG_PATH, 0, 65534);
        const result = cli(['config', 'edit'], { EDITOR: editor });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /\/etc\/docker-jail\.ini installed \(root:root 0640\)/);
        assert.deepStrictEqual(live(), { text: '# mine\n[jail]\npids_limit = 77\n', uid: 0, gid: 0, mode: 0o640 });
        assert.match(cli(['config', 'check']).stdout, /^pids_limit = 77$/m);
      },
      0o640,
    );
    assert.deepStrictEqual(editDirs(), []);
  });

  it('edit: a bad edit leaves the old file byte for byte, naming the line; no terminal to ask on, so it quits', async () => {
    editorDoes(`printf '%s\\n' '[jail]' '' 'pids_limit = lots' > "$1"`);
    await withConfig('[jail]\npids_limit = 100\n', () => {
      const before = live();
      const result = cli(['config', 'edit'], { VISUAL: editor, EDITOR: '/bin/false' });
      assert.equal(result.status, 78);
      assert.match(result.stderr, /^docker-jail: \/etc\/docker-jail\.ini:3: \[jail\] pids_limit: "lots" is not a whole number/m);
      assert.match(result.stderr, /\/etc\/docker-jail\.ini is unchanged/);
      assert.deepStrictEqual(live(), before);
    });
    assert.deepStrictEqual(editDirs(), []);
  });

  it('edit: unchanged writes nothing; an editor that fails changes nothing', async () => {
    await withConfig('[jail]\npids_limit = 100\n', () => {
      const inode = fs.statSync(DEFAULT_CONFIG_PATH).ino;
      const same = cli(['config', 'edit'], { EDITOR: '/bin/true' });
      assert.equal(same.status, 0, same.stderr);
      assert.match(same.stderr, /\/etc\/docker-jail\.ini unchanged/);
      editorDoes(`echo '# more' >> "$1"; exit 3`);
      const failed = cli(['config', 'edit'], { EDITOR: editor });
      assert.equal(failed.status, 1);
      assert.match(failed.stderr, /exited with status 3; \/etc\/docker-jail\.ini is unchanged/);
      assert.equal(fs.statSync(DEFAULT_CONFIG_PATH).ino, inode);
      assert.equal(fs.readFileSync(DEFAULT_CONFIG_PATH, 'utf8'), '[jail]\npids_limit = 100\n');
    });
    assert.deepStrictEqual(editDirs(), []);
  });

  it('edit: an unchanged copy of a broken live file is not passed as fine: its problems are named, exit 78', async () => {
    await withConfig('[jail]\npids_limit = lots\n', () => {
      const result = cli(['config', 'edit'], { EDITOR: '/bin/true' });
      assert.equal(result.status, 78, result.stderr);
      assert.match(result.stderr, /^docker-jail: \/etc\/docker-jail\.ini:2: \[jail\] pids_limit: "lots" is not a whole number/m);
      assert.equal(fs.readFileSync(DEFAULT_CONFIG_PATH, 'utf8'), '[jail]\npids_limit = lots\n');
    });
    assert.deepStrictEqual(editDirs(), []);
  });

  it('edit, at a terminal: shows the problem and asks; e edits again, and the fixed copy is installed', async () => {
    editorDoes(`printf '%s\\n' '[jail]' 'pids_limit = lots' >> "$1"`);
    await withConfig('# at a terminal\n', async () => {
      const term = new Terminal('/usr/bin/env', [`EDITOR=${editor}`, CLI, 'config', 'edit']);
      await term.expect(/\/etc\/docker-jail\.ini:3: \[jail\] pids_limit: [^\n]*\n[\s\S]*What now\? e: edit again, q: quit and keep the old file \[e\/q\] /);
      assert.equal(fs.readFileSync(DEFAULT_CONFIG_PATH, 'utf8'), '# at a terminal\n');
      editorDoes(`sed -i 's/lots/66/' "$1"`);
      term.write('e\r');
      assert.equal(await term.exited, 0, term.text);
      assert.equal(fs.readFileSync(DEFAULT_CONFIG_PATH, 'utf8'), '# at a terminal\n[jail]\npids_limit = 66\n');
    });
    assert.deepStrictEqual(editDirs(), []);
  });
});
