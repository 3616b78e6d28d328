import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { CommandIo } from '../src/commands/command';
import { dispatch } from '../src/commands/dispatch';
import { COMMANDS, topLevelUsage } from '../src/commands/registry';
import { JailError } from '../src/errors';

/** The top-level usage as it was written by hand before it was generated: scripts and people read it. */
const USAGE = `usage: docker-jail COMMAND
  enable [--now] USER...                 jail users: jail group, login shell jailsh (--now: home and jail at once)
  disable [--remove-jail] USER...        unjail users: group, previous shell; stop (or remove) the jail, never the home
  list [--json] / status [USER] [--json] every jail: owner, state, image (outdated?), uptime, sessions, CPU, memory, last login
  shell USER                             a root shell (no capabilities) in USER's running jail, for support; audited
  config check [FILE]                    check /etc/docker-jail.ini or a draft FILE; print the effective config
  config edit                            edit /etc/docker-jail.ini safely: checked before it is installed
  doctor [--json]                        check the host and say what is wrong and how to fix it
  image build [--rebuild]                build the jail image named in /etc/docker-jail.ini
  image update                           rebuild it and move the jails onto it (busy ones when their last session ends)
  gc                                     stop idle jails, remove those of users gone or unjailed (after [gc] grace), dangling images
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
    const shared = ['./command', './printable', './progress'];
    const notCommands = ['command.ts', 'dispatch.ts', 'registry.ts', 'printable.ts', 'progress.ts'];
    const files = readdirSync('src/commands').filter((f) => f.endsWith('.ts') && !notCommands.includes(f));
    assert.ok(files.length >= 10, files.join(' '));
    for (const file of files) {
      for (const imported of importsOf(`src/commands/${file}`)) {
        if (imported.startsWith('./')) assert.ok(shared.includes(imported), `${file} imports ${imported}`);
        else assert.doesNotMatch(imported, /^\.\.\/(engine|host)\//, `${file} imports ${imported}`);
      }
    }
    for (const file of ['command.ts', 'printable.ts', 'progress.ts']) {
      assert.deepEqual(
        importsOf(`src/commands/${file}`).filter((i) => i.startsWith('./') && !shared.includes(i)),
        [],
        file,
      );
    }
  });
});
