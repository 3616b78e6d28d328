import { loadConfig } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { engineFor } from '../jail/connect';
import { changeJail, type LifecycleVerb } from '../jail/lifecycle';
import type { Command, UsageLine } from './command';
import { printLines } from './printable';

const BUSY = "A jail with sessions open or jobs of its owner left (nohup'd) is refused, saying how many, unless --force (which ends them).";
const WHO =
  "USER must be jailed, in per-user mode (a shared jail is everyone's): root, the exempt group, users outside the jail group or without a jail are refused with one line.";

/** One lifecycle command: `docker-jail VERB [--force] USER` (start takes no --force: it ends nothing). */
function lifecycleCommand(verb: LifecycleVerb, usage: UsageLine, text: string, forced: boolean): Command {
  const help = `usage: docker-jail ${usage.synopsis}\n${text}\n${forced ? `${BUSY}\n` : ''}${WHO}`;
  return {
    name: verb,
    usage: [usage],
    help,
    rootOnly: true,
    audited: true,
    async run(args, io) {
      const options = args.filter((a) => a.startsWith('-'));
      const names = args.filter((a) => !a.startsWith('-'));
      const bad = options.find((a) => !(forced && a === '--force'));
      if (bad !== undefined) throw new JailError(`unknown option ${bad}\n${help}`, ExitCode.usage);
      if (names.length !== 1) throw new JailError(help, ExitCode.usage);
      const config = loadConfig();
      await changeJail(engineFor(config), config, verb, names[0], options.includes('--force'), printLines(io.stdout));
      return 0;
    },
  };
}

export const stopCommand = lifecycleCommand(
  'stop',
  { synopsis: 'stop [--force] USER', summary: "stop USER's jail (refused while busy unless --force); the next login starts it" },
  "Stops USER's jail (its home and /tmp stay); their next login, or docker-jail start, starts it again.",
  true,
);

export const startCommand = lifecycleCommand(
  'start',
  { synopsis: 'start USER', summary: "start USER's stopped jail, as their next login would" },
  "Starts USER's stopped jail the way a login does: its /tmp mounted again (after a reboot), its passwd and group written, and\na jail that serves sessions differently from one made now made anew (home and /tmp kept).",
  false,
);

export const restartCommand = lifecycleCommand(
  'restart',
  { synopsis: 'restart [--force] USER', summary: "stop and start USER's jail (refused while busy unless --force)" },
  "Stops USER's jail and starts it again as start does (a stopped one is just started).",
  true,
);

export const recreateCommand = lifecycleCommand(
  'recreate',
  { synopsis: 'recreate [--force] USER', summary: "remake USER's jail on the current image, config and limits; home and /tmp kept" },
  "Removes USER's jail container and makes it anew from the current image, config and limits ([jail] memory, pids, cpus, network...).\nThe home and the jail's /tmp and /var/tmp image are kept; a stopped jail stays stopped. Refused, keeping the jail, when the home could not be bound.",
  true,
);
