import { runAdminShell } from '../session/adminShell';
import { runShell } from '../session/login';
import type { Command } from './command';

/** What the launcher execs is `shell --login|--no-login -- ...`; `shell USER` is the administrators' command. */
const fromLauncher = (args: readonly string[]) => args[0] === '--login' || args[0] === '--no-login';

/** `docker-jail shell USER`. Not rootOnly here: runAdminShell refuses anyone whose real uid is not root, as it always has. */
export const adminShellCommand: Command = {
  name: 'shell',
  takes: (args) => !fromLauncher(args),
  usage: [{ synopsis: 'shell USER', summary: "a root shell (no capabilities) in USER's running jail, for support; audited" }],
  help: "usage: docker-jail shell USER\nOpens a root shell inside USER's running jail, for support. Root there has no capabilities; the session is audited.",
  rootOnly: false,
  audited: true,
  run: (args, io) => runAdminShell(args, io),
};

/**
 * The jailed login, as /usr/bin/jailsh starts it. Not rootOnly here: runShell refuses unless both uids are root
 * (the setuid launcher's). It has no help of its own: `shell --login ... --help` has always printed the admin shell's.
 */
export const loginShellCommand: Command = {
  name: 'shell',
  takes: fromLauncher,
  usage: [{ synopsis: 'shell --login|--no-login -- [-c CMD]', summary: '(the jailed login: started by /usr/bin/jailsh only)' }],
  help: null,
  rootOnly: false,
  audited: false, // a login: its session records are written by the login itself
  run: (args, io) => runShell(args, io),
};
