import { loadConfig } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { engineFor } from '../jail/connect';
import { rollJails } from '../jail/gc';
import { buildImage } from '../jail/image';
import type { Command } from './command';
import { printLines } from './printable';
import { progressFor } from './progress';

const HELP =
  'usage: docker-jail image build [--rebuild] | image update [--config] [--dry-run]\nbuild: builds the jail image offline (debootstrap from the configured mirror, SUID/SGID bits removed, docker import).\nupdate: rebuilds it and recreates every idle outdated jail on it at once (homes are kept): on an older build, with limits or a network the config has changed since, another seccomp profile, or the other kind of sessions; busy jails move when their last session ends.\nupdate --config: the same without rebuilding the image: after an edit of the limits or the network.\n--dry-run: builds nothing and changes nothing; prints what would become of each jail measured against the image built now.';

export const imageCommand: Command = {
  name: 'image',
  usage: [
    { synopsis: 'image build [--rebuild]', summary: 'build the jail image named in /etc/docker-jail.ini' },
    { synopsis: 'image update [--dry-run]', summary: 'rebuild it and move the jails onto it (busy ones when their last session ends)' },
    { synopsis: 'image update --config [--dry-run]', summary: 'move the jails onto the config as it is now (limits, network), without rebuilding' },
  ],
  help: HELP,
  rootOnly: true,
  audited: true,
  async run(args, io) {
    const [sub, ...flags] = args;
    const update = sub === 'update' && flags.every((f): boolean => f === '--config' || f === '--dry-run');
    const configOnly = update && flags.includes('--config');
    const build = sub === 'build' && flags.every((f) => f === '--rebuild');
    if (!update && !build) throw new JailError(HELP, ExitCode.usage);
    const config = loadConfig();
    const engine = engineFor(config);
    if (update && flags.includes('--dry-run')) {
      const report = printLines(io.stdout);
      report(
        configOnly
          ? 'dry run: nothing is changed; image update --config would do this:'
          : `dry run: nothing is changed; image update would rebuild ${config.jail.image}, then do this (measured against the image built now):`,
      );
      return (await rollJails(engine, config, report, true)) ? 0 : 1;
    }
    const progress = progressFor(io.stdout);
    try {
      if (!configOnly) await buildImage(engine, config, { rebuild: update || flags.includes('--rebuild'), progress });
    } finally {
      progress.end();
    }
    // update: the image is rebuilt, then the jails are moved onto it (gc's roll).
    if (update && !(await rollJails(engine, config, printLines(io.stdout)))) return 1;
    return 0;
  },
};
