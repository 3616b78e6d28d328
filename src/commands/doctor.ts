import { diagnose, type Finding } from '../doctor/doctor';
import { ExitCode, JailError } from '../errors';
import type { Command } from './command';
import { printable, printableJson } from './printable';

const HELP =
  "usage: docker-jail doctor [--json]\nChecks the engine (seccomp, AppArmor), the image, the config, the seccomp profile, the launcher, /etc/shells, the PAM profile, the sshd policy (as sshd -T applies it to a few jailed users from a few addresses, and the Match blocks read ahead of it) and sftp, the groups and every jailed user's shell; exits 1 when anything is wrong.";

export const doctorCommand: Command = {
  name: 'doctor',
  usage: [{ synopsis: 'doctor [--json]', summary: 'check the host and say what is wrong and how to fix it' }],
  help: HELP,
  rootOnly: true,
  audited: false,
  async run(args, io) {
    if (args.some((a) => a !== '--json')) throw new JailError(HELP, ExitCode.usage);
    const findings = await diagnose();
    // Findings name users and login shells from the user database: shown escaped (printable).
    if (args.includes('--json')) io.stdout.write(`${printableJson(findings)}\n`);
    else for (const finding of findings) io.stdout.write(findingLine(finding));
    return findings.every((f) => f.ok) ? 0 : 1;
  },
};

function findingLine(f: Finding): string {
  const fix = f.ok && !f.warning ? '' : `\n     fix: ${printable(f.fix ?? '')}`;
  return `${f.warning ? 'warn' : f.ok ? 'ok  ' : 'FAIL'} ${printable(f.check)}: ${printable(f.detail)}${fix}\n`;
}
