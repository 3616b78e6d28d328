import { loadConfig } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { enableUsers } from '../policy/enrolment';
import type { Command } from './command';
import { forEachUser } from './perUser';
import { printLines } from './printable';

const HELP =
  'usage: docker-jail enable [--now] USER...\nPuts each user in the jail group and makes /usr/bin/jailsh their login shell (the shell they had is remembered).\n--now also creates their home (if missing) and their jail.';

export const enableCommand: Command = {
  name: 'enable',
  usage: [{ synopsis: 'enable [--now] USER...', summary: 'jail users: jail group, login shell jailsh (--now: home and jail at once)' }],
  help: HELP,
  rootOnly: true,
  audited: true,
  async run(args, io) {
    const names = args.filter((a) => a !== '--now');
    const bad = names.find((a) => a.startsWith('-'));
    if (names.length === 0 || bad !== undefined) throw new JailError(bad ? `unknown option ${bad}\n${HELP}` : HELP, ExitCode.usage);
    const config = loadConfig();
    // One user at a time, on past one that fails: each failure names its user, and the exit status says one did.
    return forEachUser('enable', names, io, (name) => enableUsers(config, [name], args.includes('--now'), printLines(io.stdout)));
  },
};
