/**
 * The bash completion (tools/bash-completion.ts, generated from the command
 * registry at build time), sourced into a real bash: what COMPREPLY holds
 * after a few command lines. No root, no bash-completion package needed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { COMMANDS } from '../src/commands/registry';
import { completionScript } from '../tools/bash-completion';

describe('bash completion of docker-jail', () => {
  let dir: string;
  let script: string;

  before(() => {
    dir = mkdtempSync(`${tmpdir()}/djt-completion-`);
    script = `${dir}/docker-jail`;
    writeFileSync(script, completionScript());
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  /** What bash offers for this command line (the cursor at its end; a trailing space starts a new word). */
  function complete(line: string): string[] {
    const result = spawnSync(
      '/bin/bash',
      [
        '--norc',
        '--noprofile',
        '-c',
        'source "$1"; read -ra COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE=$2; COMP_POINT=${#2}; _docker_jail; printf "%s\\n" "${COMPREPLY[@]}"; complete -p docker-jail >&2',
        'bash',
        script,
        line,
      ],
      { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /^complete -F _docker_jail docker-jail$/m);
    return result.stdout.split('\n').filter(Boolean);
  }

  it('offers every command an administrator types, as the registry declares them, and no command only the system starts', () => {
    const offered = complete('docker-jail ');
    const typed = [...new Set(COMMANDS.filter((c) => c.help !== null).map((c) => c.name))];
    assert.ok(typed.length >= 10);
    assert.deepEqual(
      typed.filter((name) => !offered.includes(name)),
      [],
    );
    assert.equal(offered.includes('pam-hook'), false);
    assert.deepEqual(complete('docker-jail en'), ['enable']);
    assert.deepEqual(complete('docker-jail -').sort(), ['--help', '--version', '-h']);
  });

  it("offers each command's options, as its usage declares them", () => {
    assert.deepEqual(complete('docker-jail enable --').sort(), ['--help', '--now']);
    assert.deepEqual(complete('docker-jail disable --r'), ['--remove-jail']);
    assert.deepEqual(complete('docker-jail list --').sort(), ['--help', '--json']);
    assert.deepEqual(complete('docker-jail image build --').sort(), ['--help', '--rebuild']);
    for (const command of COMMANDS.filter((c) => c.help !== null)) {
      const options = command.usage.flatMap((u) => u.synopsis.match(/(?<![\w-])--[a-z][\w-]*/g) ?? []);
      const words = command.usage.map((u) => u.synopsis.split(/\s+/)[1]).filter((w) => w !== undefined && /^[a-z][a-z-]*$/.test(w));
      // Options of a subcommand are offered after it; the others right after the command's name.
      const offered = words.length > 0 ? words.flatMap((w) => complete(`docker-jail ${command.name} ${w} --`)) : complete(`docker-jail ${command.name} --`);
      assert.deepEqual(
        options.filter((o) => !offered.includes(o)),
        [],
        command.name,
      );
    }
  });

  it('offers the subcommands of config and image', () => {
    assert.ok(complete('docker-jail config ').includes('check'));
    assert.deepEqual(complete('docker-jail image ').sort(), ['build', 'update']);
    assert.deepEqual(complete('docker-jail image u'), ['update']);
  });

  it('offers user names (compgen -u) where a command takes USER, and none elsewhere', () => {
    for (const line of [
      'docker-jail enable ro',
      'docker-jail enable --now ro',
      'docker-jail disable alice ro',
      'docker-jail status ro',
      'docker-jail shell ro',
    ])
      assert.ok(complete(line).includes('root'), line);
    for (const line of ['docker-jail list ro', 'docker-jail gc ro', 'docker-jail image build ro']) assert.deepEqual(complete(line), [], line);
    assert.deepEqual(complete('docker-jail no-such-command '), []);
  });
});
