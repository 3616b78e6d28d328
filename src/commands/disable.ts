import { loadConfig } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { disableUsers } from '../policy/enrolment';
import type { Command } from './command';
import { forEachUser } from './perUser';
import { printLines } from './printable';

const HELP =
  'usage: docker-jail disable [--remove-jail] USER...\nTakes each user out of the jail group, gives back the login shell they had (else /bin/bash) and stops their jail.\n--remove-jail also removes the jail container. The home is never touched.';

export const disableCommand: Command = {
  name: 'disable',
  usage: [{ synopsis: 'disable [--remove-jail] USER...', summary: 'unjail users: group, previous shell; stop (or remove) the jail, never the home' }],
  help: HELP,
  rootOnly: true,
  audited: true,
  async run(args, io) {
    const names = args.filter((a) => a !== '--remove-jail');
    const bad = names.find((a) => a.startsWith('-'));
    if (names.length === 0 || bad !== undefined) throw new JailError(bad ? `unknown option ${bad}\n${HELP}` : HELP, ExitCode.usage);
    const config = loadConfig();
    // One user at a time, on past one that fails: each failure names its user, and the exit status says one did.
    return forEachUser('disable', names, io, (name) => disableUsers(config, [name], args.includes('--remove-jail'), printLines(io.stdout)));
  },
};
