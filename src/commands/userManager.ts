import { ExitCode, JailError } from '../errors';
import { mayHaveUserManager } from '../policy/access';
import type { Command } from './command';

const HELP =
  'usage: docker-jail user-manager UID\nExits 0 when uid may have a systemd user manager on the host; fails for a jailed user, whose manager would run units from their home.\nThe ExecCondition of user@.service (installed as a drop-in).';

export const userManagerCommand: Command = {
  name: 'user-manager',
  usage: [{ synopsis: 'user-manager UID', summary: "(systemd's ExecCondition of user@.service: fails for jailed users)" }],
  help: HELP,
  rootOnly: true,
  audited: false,
  async run(args) {
    if (args.length !== 1 || !/^\d{1,10}$/.test(args[0])) throw new JailError(HELP, ExitCode.usage);
    mayHaveUserManager(Number(args[0]));
    return 0;
  },
};
