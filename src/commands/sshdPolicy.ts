import { loadConfig } from '../config/load';
import { renderSshdPolicy } from '../doctor/sshdPolicy';
import { ExitCode, JailError } from '../errors';
import type { Command } from './command';

const USAGE = 'usage: docker-jail sshd-policy';

export const sshdPolicyCommand: Command = {
  name: 'sshd-policy',
  usage: [{ synopsis: 'sshd-policy', summary: 'print the sshd drop-in for the configured jail group' }],
  help: `${USAGE}\nPrints the sshd drop-in (no forwarding, no tunnels, no ~/.ssh/rc) for the configured jail group.`,
  rootOnly: true,
  audited: false,
  async run(args, io) {
    if (args.length > 0) throw new JailError(USAGE, ExitCode.usage);
    io.stdout.write(renderSshdPolicy(loadConfig().access.jailGroup));
    return 0;
  },
};
