import { readSync } from 'node:fs';
import { resolve } from 'node:path';
import { isatty } from 'node:tty';
import { checkConfigFile, DEFAULT_CONFIG_PATH } from '../config/load';
import { formatConfig } from '../config/parse';
import { editConfig, type OnProblems } from '../configEdit/edit';
import { ExitCode, JailError } from '../errors';
import type { Command, CommandIo } from './command';
import { printable } from './printable';

const HELP = [
  'usage: docker-jail config check [FILE]',
  '       docker-jail config edit',
  `check: checks ${DEFAULT_CONFIG_PATH} (its owner and mode too), or a draft FILE, like visudo -c -f;`,
  'prints the effective configuration as ini (every key, with the built-in default where the file sets none),',
  'or every problem with its file, line and key (exit 78). A draft owned by you is checked all the same;',
  'what would refuse it once installed (its owner, its mode) is noted.',
  `edit: opens a copy of ${DEFAULT_CONFIG_PATH} in $VISUAL, $EDITOR, editor or vi, checks it, and installs it`,
  'atomically (root:root, 0644) only when it has no problem; otherwise shows them and asks: e to edit again,',
  'q to quit keeping the old file (without a terminal: quits). An unchanged copy writes nothing.',
].join('\n');

export const configCommand: Command = {
  name: 'config',
  usage: [
    { synopsis: 'config check [FILE]', summary: `check ${DEFAULT_CONFIG_PATH} or a draft FILE; print the effective config` },
    { synopsis: 'config edit', summary: `edit ${DEFAULT_CONFIG_PATH} safely: checked before it is installed` },
  ],
  help: HELP,
  rootOnly: true,
  audited: (args) => args[0] === 'edit', // `config check` only reads
  async run(args, io) {
    if (args[0] === 'check' && args.length <= 2) return check(args[1], io);
    if (args[0] === 'edit' && args.length === 1) return edit(io);
    throw new JailError(HELP, ExitCode.usage);
  },
};

function check(file: string | undefined, io: CommandIo): number {
  // The live file named as FILE is held to every rule of the live file, as visudo -c -f /etc/sudoers is.
  const path = resolve(file ?? DEFAULT_CONFIG_PATH);
  const result = checkConfigFile(path, path !== DEFAULT_CONFIG_PATH);
  const say = (line: string) => io.stderr.write(`docker-jail: ${printable(line)}\n`);
  for (const problem of result.problems) say(problem);
  for (const note of result.installNotes) say(`note: ${note}`);
  if (result.problems.length > 0) return ExitCode.config;
  say(result.exists ? `${result.file} is valid` : `no ${result.file}: the built-in defaults`);
  io.stdout.write(`# the effective configuration: ${printable(result.exists ? result.file : 'the built-in defaults')}\n${formatConfig(result.config)}`);
  return 0;
}

function edit(io: CommandIo): number {
  const outcome = editConfig(askWhatNow(io), process.env, process.getuid?.() === 0);
  const say = (line: string) => io.stderr.write(`docker-jail: ${printable(line)}\n`);
  switch (outcome.kind) {
    case 'unchanged':
      say(`${outcome.file} unchanged`);
      return 0;
    case 'installed':
      say(`${outcome.file} installed (root:root ${outcome.mode.toString(8).padStart(4, '0')})`);
      return 0;
    case 'abandoned':
      say(`${outcome.file} is unchanged: the edit had problems`);
      return ExitCode.config;
  }
}

/** Shows the problems and asks, like visudo's "What now?"; without a terminal to ask on, quits. */
function askWhatNow(io: CommandIo): OnProblems {
  return (problems) => {
    for (const problem of problems) io.stderr.write(`docker-jail: ${printable(problem)}\n`);
    if (!isatty(0)) return 'quit';
    for (;;) {
      io.stderr.write('What now? e: edit again, q: quit and keep the old file [e/q] ');
      const answer = readLine();
      if (answer === null || /^\s*q/i.test(answer)) return 'quit';
      if (/^\s*e/i.test(answer)) return 'edit';
    }
  };
}

/** One line from the terminal on fd 0 (read directly: the editor runs on the same terminal next), null at its end. */
function readLine(): string | null {
  const buffer = Buffer.alloc(256);
  let line = '';
  for (;;) {
    let count: number;
    try {
      count = readSync(0, buffer, 0, buffer.length, null);
    } catch (error) {
      // A terminal someone else made non-blocking: wait for the answer rather than take none for "quit".
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      continue;
    }
    if (count === 0) return line === '' ? null : line;
    line += buffer.toString('utf8', 0, count);
    if (line.includes('\n')) return line;
  }
}
