import { diagnose, type Finding } from '../doctor/doctor';
import { severityOf } from '../doctor/finding';
import { ExitCode, JailError } from '../errors';
import type { Command } from './command';
import { printable, printableJson } from './printable';

const HELP =
  "usage: docker-jail doctor [--json]\nChecks the engine (seccomp, AppArmor), the image, the config, the seccomp profile, the launcher, /etc/shells, the PAM profile, the sshd policy (as sshd -T applies it to a few jailed users from a few addresses, and the Match blocks read ahead of it) and sftp, the groups (and who an exempt group that was there before docker-jail exempts) and every jailed user's shell; and, as warnings, the engine's live-restore, the gc timer, the user@.service drop-in, debootstrap, the disk under the /tmp images and whether sshd read its drop-in since it last changed.\nEach line is ok, WARN or FAIL, with the command that fixes it; the last line counts them. Exits 1 when anything FAILs; warnings alone exit 0.";

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
    else {
      for (const finding of findings) io.stdout.write(findingLine(finding));
      io.stdout.write(summaryLine(findings));
    }
    return findings.every((f) => f.ok) ? 0 : 1;
  },
};

const LABELS = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

function findingLine(f: Finding): string {
  const severity = severityOf(f);
  const fix = severity === 'ok' ? '' : `\n     fix: ${printable(f.fix ?? '')}`;
  return `${LABELS[severity]} ${printable(f.check)}: ${printable(f.detail)}${fix}\n`;
}

/** `N checks: A ok, B WARN, C FAIL` */
function summaryLine(findings: Finding[]): string {
  const count = (severity: string) => findings.filter((f) => severityOf(f) === severity).length;
  return `${findings.length} checks: ${count('ok')} ok, ${count('warn')} WARN, ${count('fail')} FAIL\n`;
}
