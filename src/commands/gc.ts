import { loadConfig } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { engineFor } from '../jail/connect';
import { collectGarbage } from '../jail/gc';
import type { Command } from './command';
import { printLines } from './printable';

const HELP =
  'usage: docker-jail gc [--dry-run]\nStops jails idle longer than idle_stop, removes jails of users who are gone or no longer jailed once [gc] grace has passed\n(never their homes), and removes dangling images of docker-jail. Safe to run from a timer.\n--dry-run prints what it would do to each jail, /tmp image and image, and changes nothing.';

export const gcCommand: Command = {
  name: 'gc',
  usage: [{ synopsis: 'gc [--dry-run]', summary: 'stop idle jails, remove those of users gone or unjailed (after [gc] grace), dangling images' }],
  help: HELP,
  rootOnly: true,
  audited: true,
  async run(args, io) {
    const bad = args.find((a) => a !== '--dry-run');
    if (bad !== undefined) throw new JailError(`unknown argument ${bad}\n${HELP}`, ExitCode.usage);
    const dryRun = args.includes('--dry-run');
    const config = loadConfig();
    const report = printLines(io.stdout);
    if (dryRun) report('dry run: nothing is changed; gc would do this now:');
    return (await collectGarbage(engineFor(config), config, report, dryRun)) ? 0 : 1;
  },
};
