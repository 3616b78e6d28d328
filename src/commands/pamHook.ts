import { runPamHook } from '../session/pam';
import type { Command } from './command';

/** Not rootOnly here: runPamHook refuses anyone whose real uid is not root. It reads PAM's variables, not arguments. */
export const pamHookCommand: Command = {
  name: 'pam-hook',
  usage: [{ synopsis: 'pam-hook', summary: '(started by pam_exec through the launcher only)' }],
  help: null,
  rootOnly: false,
  audited: false,
  run: () => runPamHook(process.env),
};
