import { loadConfig } from '../config/load';
import { ExitCode, JailError } from '../errors';
import type { Command } from './command';

const HELP = 'usage: docker-jail config check\nValidates /etc/docker-jail.ini (ownership, syntax, values) and prints the effective configuration as JSON.';

export const configCommand: Command = {
  name: 'config',
  usage: [{ synopsis: 'config check', summary: 'validate /etc/docker-jail.ini and print the effective config (JSON)' }],
  help: HELP,
  rootOnly: true,
  audited: (args) => args[0] === 'edit', // `config check` only reads
  async run(args, io) {
    if (args.length !== 1 || args[0] !== 'check') throw new JailError(HELP, ExitCode.usage);
    const config = loadConfig();
    io.stderr.write(`docker-jail: ${config.source ?? 'no /etc/docker-jail.ini: the built-in defaults'} is valid\n`);
    io.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return 0;
  },
};
