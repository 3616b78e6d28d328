import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { CommandIo } from '../src/commands/command';
import { dispatch, unknownOption } from '../src/commands/dispatch';
import { forEachUser } from '../src/commands/perUser';
import { COMMANDS, topLevelUsage } from '../src/commands/registry';
import { JailError } from '../src/errors';

/** The top-level usage as it was written by hand before it was generated: scripts and people read it. */
const USAGE = `usage: docker-jail COMMAND
  enable [--now] USER...                 jail users: jail group, login shell jailsh (--now: home and jail at once)
  disable [--remove-jail] USER...        unjail users: group, previous shell; stop (or remove) the jail, never the home
  list [--json] / status [USER] [--json] every jail: owner, state, image (outdated, and why), sessions, use against limits, OOM kills, CPU, last login
  top [-b] [-n N] [-d SECONDS]           the jails live, refreshed in place; m/c sort by memory/CPU, q quits
  stop [--force] USER                    stop USER's jail (refused while busy unless --force); the next login starts it
  start USER                             start USER's stopped jail, as their next login would
  restart [--force] USER                 stop and start USER's jail (refused while busy unless --force)
  recreate [--force] USER                remake USER's jail on the current image, config and limits; home and /tmp kept
  shell USER                             a root shell (no capabilities) in USER's running jail, for support; audited
  config check [FILE]                    check /etc/docker-jail.ini or a draft FILE; print the effective config
  config edit                            edit /etc/docker-jail.ini safely: checked before it is installed
  doctor [--json]                        check the host and say what is wrong and how to fix it
  image build [--rebuild]                build the jail image named in /etc/docker-jail.ini
  image update [--dry-run]               rebuild it and move the jails onto it (busy ones when their last session ends)
  image update --config [--dry-run]      move the jails onto the config as it is now (limits, network), without rebuilding
  gc [--dry-run]                         stop idle jails, remove those of users gone or unjailed (after [gc] grace), dangling images
  metrics [--output FILE|-]              write Prometheus metrics for node_exporter's textfile collector
  sshd-policy                            print the sshd drop-in for the configured jail group
  user-manager UID                       (systemd's ExecCondition of user@.service: fails for jailed users)
  shell --login|--no-login -- [-c CMD]   (the jailed login: started by /usr/bin/jailsh only)
  pam-hook                               (started by pam_exec through the launcher only)
  --version
Every command takes --help.`;

/** The commands only the system starts (the launcher, pam_exec): no help of their own. */
const WITHOUT_HELP = ['shell --login|--no-login -- [-c CMD]', 'pam-hook'];

/** Argument errors of every root-only command: refused as non-root before these are read. */
const BAD_ARGUMENTS: Record<string, string[]> = {
  enable: [],
  disable: [],
  list: ['-x'],
  status: ['-x'],
  config: [],
  doctor: ['-x'],
  image: ['pull'],
  gc: ['now'],
  top: ['-x'],
  metrics: ['-x'],
  stop: [],
  start: ['--force', 'x'],
  restart: ['a', 'b'],
  recreate: ['--bogus', 'x'],
  'sshd-policy': ['x'],
  'user-manager': [],
};

function capture(): { io: CommandIo; stdout: () => string } {
  let written = '';
  const stream = { write: (text: string) => (written += text) };
  // Only stdout is written by --help and the usage: the rest of the streams is never touched.
  return { io: { stdout: stream, stderr: stream } as unknown as CommandIo, stdout: () => written };
}

/** The local modules a source file imports (`./x`, `../x/y`), as written. */
function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => m[1]);
}

describe('the command registry', () => {
  it('gives every command a name, usage lines and, unless only the system starts it, a help that begins with its usage', () => {
    for (const command of COMMANDS) {
      assert.match(command.name, /^[a-z][a-z-]*$/);
      assert.ok(command.usage.length > 0, command.name);
      for (const line of command.usage) {
        assert.ok(line.synopsis.startsWith(command.name) && line.summary.length > 0, command.name);
      }
      if (command.help === null) assert.ok(WITHOUT_HELP.includes(command.usage[0].synopsis), `${command.name} has no help`);
      else assert.match(command.help, new RegExp(`^usage: docker-jail ${command.name}\\b`));
    }
  });

  it('generates the top-level usage, listing every command, byte for byte as it was written by hand', () => {
    const usage = topLevelUsage();
    for (const command of COMMANDS) {
      for (const line of command.usage) assert.ok(usage.includes(`${line.synopsis} `), line.synopsis);
    }
    assert.equal(usage, USAGE);
  });

  it("prints each command's help for --help, wherever it stands, without running it", async () => {
    for (const command of COMMANDS.filter((c) => c.help !== null)) {
      for (const args of [
        [command.name, '--help'],
        [command.name, 'x', '--help'],
      ]) {
        const { io, stdout } = capture();
        assert.equal(await dispatch(args, io), 0);
        assert.equal(stdout(), `${command.help}\n`);
      }
    }
  });

  it('prints the usage for help and --help, and refuses nothing or an unknown command with it (exit 2)', async () => {
    for (const args of [['help'], ['--help']]) {
      const { io, stdout } = capture();
      assert.equal(await dispatch(args, io), 0);
      assert.equal(stdout(), `${USAGE}\n`);
    }
    await assert.rejects(dispatch([], capture().io), (e) => e instanceof JailError && e.exitCode === 2 && e.message === USAGE);
    for (const name of ['bogus', 'toString', 'constructor']) {
      await assert.rejects(
        dispatch([name, '--help'], capture().io),
        (e) => e instanceof JailError && e.exitCode === 2 && e.message === `unknown command "${name}"\n${USAGE}`,
      );
    }
  });

  it('refuses every root-only command to anyone but root (exit 77) before reading its arguments', async () => {
    const rootOnly = COMMANDS.filter((c) => c.rootOnly).map((c) => c.name);
    assert.deepEqual(rootOnly.sort(), Object.keys(BAD_ARGUMENTS).sort());
    const geteuid = process.geteuid;
    process.geteuid = () => 65534;
    try {
      for (const name of rootOnly) {
        await assert.rejects(
          dispatch([name, ...BAD_ARGUMENTS[name]], capture().io),
          (e) => e instanceof JailError && e.exitCode === 77 && e.message === 'docker-jail administration commands must be run as root',
        );
      }
    } finally {
      process.geteuid = geteuid;
    }
  });

  it('keeps each command to itself: no command file imports another, nor the engine or the host', () => {
    const shared = ['./command', './printable', './progress', './liveScreen', './perUser'];
    const notCommands = ['command.ts', 'dispatch.ts', 'registry.ts', 'printable.ts', 'progress.ts', 'liveScreen.ts', 'perUser.ts'];
    const files = readdirSync('src/commands').filter((f) => f.endsWith('.ts') && !notCommands.includes(f));
    assert.ok(files.length >= 10, files.join(' '));
    for (const file of files) {
      for (const imported of importsOf(`src/commands/${file}`)) {
        if (imported.startsWith('./')) assert.ok(shared.includes(imported), `${file} imports ${imported}`);
        else assert.doesNotMatch(imported, /^\.\.\/(engine|host)\//, `${file} imports ${imported}`);
      }
    }
    for (const file of ['command.ts', 'printable.ts', 'progress.ts', 'liveScreen.ts', 'perUser.ts']) {
      assert.deepEqual(
        importsOf(`src/commands/${file}`).filter((i) => i.startsWith('./') && !shared.includes(i)),
        [],
        file,
      );
    }
  });
});

/** Runs dispatch as root would (the root check passes); nothing runs: every case here stops at the arguments. */
async function asRoot<T>(body: () => Promise<T>): Promise<T> {
  const geteuid = process.geteuid;
  process.geteuid = () => 0;
  try {
    return await body();
  } finally {
    process.geteuid = geteuid;
  }
}

function captureBoth(): { io: CommandIo; stdout: () => string; stderr: () => string } {
  const out = { text: '' };
  const err = { text: '' };
  const io = { stdout: { write: (t: string) => (out.text += t) }, stderr: { write: (t: string) => (err.text += t) } } as unknown as CommandIo;
  return { io, stdout: () => out.text, stderr: () => err.text };
}

describe('the command line: -h, unknown options, several users', () => {
  it('takes -h as --help, at the top level and after every command that has a help', async () => {
    const { io, stdout } = capture();
    assert.equal(await dispatch(['-h'], io), 0);
    assert.equal(stdout(), `${USAGE}\n`);
    for (const command of COMMANDS.filter((c) => c.help !== null)) {
      const { io, stdout } = capture();
      assert.equal(await dispatch([command.name, 'x', '-h'], io), 0);
      assert.equal(stdout(), `${command.help}\n`);
    }
  });

  it('names an unknown option, with the command and its usage (exit 2), for every command that has a help', async () => {
    for (const command of COMMANDS.filter((c) => c.help !== null)) {
      for (const bogus of ['--bogus', '--bogus=1', '-z']) {
        const { io, stdout, stderr } = captureBoth();
        assert.equal(await asRoot(() => dispatch([command.name, bogus], io)), 2, `${command.name} ${bogus}`);
        assert.equal(stderr(), `docker-jail ${command.name}: unknown option ${bogus}\n${command.help}\n`);
        assert.equal(stdout(), '');
      }
    }
    const { io, stderr } = captureBoth();
    assert.equal(await asRoot(() => dispatch(['list', '--bogus'], io)), 2);
    assert.match(stderr(), /^docker-jail list: unknown option --bogus\nusage: docker-jail list/);
    await assert.rejects(
      dispatch(['--bogus'], capture().io),
      (e) => e instanceof JailError && e.exitCode === 2 && e.message.startsWith('unknown option "--bogus"\n'),
    );
  });

  it('escapes an unknown option before printing it (a terminal control sequence in an argument)', async () => {
    const { io, stderr } = captureBoth();
    assert.equal(await asRoot(() => dispatch(['gc', '--\x1b]0;owned\x07'], io)), 2);
    assert.match(stderr(), /^docker-jail gc: unknown option --\\x1b\]0;owned\\x07\n/);
  });

  it('takes the options each command declares in its usage, and reads none after --', () => {
    for (const command of COMMANDS.filter((c) => c.help !== null)) {
      const options = command.usage.flatMap((u) => u.synopsis.match(/(?<![\w-])--?[a-z][\w-]*/g) ?? []);
      for (const option of options) assert.equal(unknownOption(command, [option, 'x']), undefined, `${command.name} ${option}`);
      assert.equal(unknownOption(command, ['x', '--', '--bogus', '-z']), undefined, command.name);
      assert.equal(unknownOption(command, ['x', '--bogus', '--', '-z']), '--bogus', command.name);
    }
    const list = COMMANDS.find((c) => c.name === 'list');
    assert.ok(list);
    assert.equal(unknownOption(list, ['--json']), undefined);
    assert.equal(unknownOption(list, ['--json=yes']), undefined);
    // Commands only the system starts read their own arguments: the jailed login's `-c -h` is a command line.
    const login = COMMANDS.find((c) => c.help === null && c.name === 'shell');
    assert.ok(login);
    assert.equal(unknownOption(login, ['--no-login', '--bogus']), undefined);
  });

  it('carries on past a user that fails, names each failure and every user that failed, and exits with the first failure', async () => {
    const { io, stderr } = captureBoth();
    const done: string[] = [];
    const status = await forEachUser('enable', ['a', 'b', 'c', 'd'], io, async (name) => {
      if (name === 'b') throw new JailError('no such user: b', 2);
      if (name === 'd') throw new JailError('d: their systemd user manager still runs');
      done.push(name);
    });
    assert.equal(status, 2);
    assert.deepEqual(done, ['a', 'c']);
    assert.equal(
      stderr(),
      'docker-jail: b: no such user: b\ndocker-jail: d: their systemd user manager still runs\ndocker-jail: enable failed for 2 of 4 users: b d\n',
    );
  });

  it('fails one user as every command fails (the error itself), and returns 0 when every user succeeded', async () => {
    await assert.rejects(
      forEachUser('disable', ['a'], captureBoth().io, async () => {
        throw new JailError('root is never jailed');
      }),
      /^JailError: root is never jailed$/,
    );
    const { io, stderr } = captureBoth();
    assert.equal(await forEachUser('disable', ['a', 'b'], io, async () => {}), 0);
    assert.equal(stderr(), '');
  });
});
