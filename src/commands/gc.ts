import { loadConfig } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { engineFor } from '../jail/connect';
import { collectGarbage } from '../jail/gc';
import type { Command } from './command';
import { printLines } from './printable';

const HELP =
  'usage: docker-jail gc\nStops jails idle longer than idle_stop, removes jails of users who are gone or no longer jailed once [gc] grace has passed\n(never their homes), and removes dangling images of docker-jail. Safe to run from a timer.';

export const gcCommand: Command = {
  name: 'gc',
  usage: [{ synopsis: 'gc', summary: 'stop idle jails, remove those of users gone or unjailed (after [gc] grace), dangling images' }],
  help: HELP,
  rootOnly: true,
  audited: true,
  async run(args, io) {
    if (args.length > 0) throw new JailError(HELP, ExitCode.usage);
    const config = loadConfig();
    return (await collectGarbage(engineFor(config), config, printLines(io.stdout))) ? 0 : 1;
  },
};
