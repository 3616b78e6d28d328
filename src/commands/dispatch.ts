import { loadConfig } from '../config/load';
import { connectEngine } from '../engine/client';
import { buildImage } from '../jail/image';
import { ExitCode, JailError } from '../errors';
import { uidOfUser } from '../identity/nss';
import { diagnose } from '../doctor/doctor';
import { runPamHook } from '../session/pam';
import { progressFor } from './progress';
import { runAdminShell } from '../session/adminShell';
import { collectGarbage, rollJails } from '../jail/gc';
import { listJails } from '../jail/status';
import { printable, printableJson } from './printable';
import { runShell } from '../session/login';
import { renderSshdPolicy } from '../doctor/sshdPolicy';
import { disableUsers, enableUsers } from '../policy/enrolment';
import { mayHaveUserManager } from '../policy/access';
import { formatJailTable } from './list';

const USAGE = `usage: docker-jail COMMAND
  enable [--now] USER...                 jail users: jail group, login shell jailsh (--now: home and jail at once)
  disable [--remove-jail] USER...        unjail users: group, previous shell; stop (or remove) the jail, never the home
  list [--json] / status [USER] [--json] every jail: owner, state, image (outdated?), uptime, sessions, CPU, memory, last login
  shell USER                             a root shell (no capabilities) in USER's running jail, for support; audited
  config check                           validate /etc/docker-jail.ini and print the effective config (JSON)
  doctor [--json]                        check the host and say what is wrong and how to fix it
  image build [--rebuild]                build the jail image named in /etc/docker-jail.ini
  image update                           rebuild it and move the jails onto it (busy ones when their last session ends)
  gc                                     stop idle jails, remove those of users gone or unjailed (after [gc] grace), dangling images
  sshd-policy                            print the sshd drop-in for the configured jail group
  user-manager UID                       (systemd's ExecCondition of user@.service: fails for jailed users)
  shell --login|--no-login -- [-c CMD]   (the jailed login: started by /usr/bin/jailsh only)
  pam-hook                               (started by pam_exec through the launcher only)
  --version
Every command takes --help.`;

const HELP: Record<string, string> = {
  enable: 'usage: docker-jail enable [--now] USER...\nPuts each user in the jail group and makes /usr/bin/jailsh their login shell (the shell they had is remembered).\n--now also creates their home (if missing) and their jail.',
  disable: 'usage: docker-jail disable [--remove-jail] USER...\nTakes each user out of the jail group, gives back the login shell they had (else /bin/bash) and stops their jail.\n--remove-jail also removes the jail container. The home is never touched.',
  config: 'usage: docker-jail config check\nValidates /etc/docker-jail.ini (ownership, syntax, values) and prints the effective configuration as JSON.',
  list: 'usage: docker-jail list [--json]\nEvery jail with its owner, state, image (and whether it is outdated), uptime, sessions open now and how they are served (through the jail\'s agent, or docker exec), CPU and memory use, and last login.',
  status: 'usage: docker-jail status [USER] [--json]\nLike list, for one user\'s jail (and the shared jail).',
  shell: 'usage: docker-jail shell USER\nOpens a root shell inside USER\'s running jail, for support. Root there has no capabilities; the session is audited.',
  doctor: 'usage: docker-jail doctor [--json]\nChecks the engine (seccomp, AppArmor), the image, the config, the seccomp profile, the launcher, /etc/shells, the PAM profile, the sshd policy (as sshd -T applies it to a few jailed users from a few addresses, and the Match blocks read ahead of it) and sftp, the groups and every jailed user\'s shell; exits 1 when anything is wrong.',
  image: 'usage: docker-jail image build [--rebuild] | image update\nbuild: builds the jail image offline (debootstrap from the configured mirror, SUID/SGID bits removed, docker import).\nupdate: rebuilds it and recreates every idle jail on it at once (homes are kept); busy jails move when their last session ends.',
  gc: 'usage: docker-jail gc\nStops jails idle longer than idle_stop, removes jails of users who are gone or no longer jailed once [gc] grace has passed\n(never their homes), and removes dangling images of docker-jail. Safe to run from a timer.',
  'user-manager': 'usage: docker-jail user-manager UID\nExits 0 when uid may have a systemd user manager on the host; fails for a jailed user, whose manager would run units from their home.\nThe ExecCondition of user@.service (installed as a drop-in).',
  'sshd-policy': 'usage: docker-jail sshd-policy\nPrints the sshd drop-in (no forwarding, no tunnels, no ~/.ssh/rc) for the configured jail group.',
};

declare const DOCKER_JAIL_VERSION: string;

/** What the launcher execs: `shell --login|--no-login -- ...`; `shell USER` is the administrators' command. */
export function isLauncherShell(args: string[]): boolean {
  return args[0] === 'shell' && (args[1] === '--login' || args[1] === '--no-login');
}

/** Entry point of /usr/lib/docker-jail/docker-jail; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command !== undefined && rest.includes('--help') && HELP[command] !== undefined) {
    process.stdout.write(`${HELP[command]}\n`);
    return 0;
  }
  switch (command) {
    case 'enable':
    case 'disable': {
      requireRoot();
      const flag = command === 'enable' ? '--now' : '--remove-jail';
      const names = rest.filter((a) => a !== flag);
      const bad = names.find((a) => a.startsWith('-'));
      if (names.length === 0 || bad !== undefined) throw new JailError(bad ? `unknown option ${bad}\n${HELP[command]}` : HELP[command], ExitCode.usage);
      const report = (line: string) => process.stdout.write(`${printable(line)}\n`);
      if (command === 'enable') await enableUsers(loadConfig(), names, rest.includes(flag), report);
      else await disableUsers(loadConfig(), names, rest.includes(flag), report);
      return 0;
    }
    case 'doctor': {
      requireRoot();
      const json = rest.includes('--json');
      if (rest.some((a) => a !== '--json')) throw new JailError(HELP.doctor, ExitCode.usage);
      const findings = await diagnose();
      // Findings name users and login shells from the user database: shown escaped (printable).
      if (json) process.stdout.write(`${printableJson(findings)}\n`);
      else for (const f of findings) process.stdout.write(`${f.warning ? 'warn' : f.ok ? 'ok  ' : 'FAIL'} ${printable(f.check)}: ${printable(f.detail)}${f.ok && !f.warning ? '' : `\n     fix: ${printable(f.fix ?? '')}`}\n`);
      return findings.every((f) => f.ok) ? 0 : 1;
    }
    case 'gc': {
      requireRoot();
      if (rest.length > 0) throw new JailError(HELP.gc, ExitCode.usage);
      const config = loadConfig();
      const ok = await collectGarbage(connectEngine(config.engine.socket), config, (line) => process.stdout.write(`${printable(line)}\n`));
      return ok ? 0 : 1;
    }
    case 'config': {
      requireRoot();
      if (rest.length !== 1 || rest[0] !== 'check') throw new JailError(HELP.config, ExitCode.usage);
      const config = loadConfig();
      process.stderr.write(`docker-jail: ${config.source ?? 'no /etc/docker-jail.ini: the built-in defaults'} is valid\n`);
      process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
      return 0;
    }
    case 'shell': {
      // Made on first use: a session handed to the jail's agent must find its fds untouched (Node makes a pipe
      // non-blocking, for everyone sharing it, the moment process.stdin is read).
      const io = {
        get stdin() {
          return process.stdin;
        },
        get stdout() {
          return process.stdout;
        },
        get stderr() {
          return process.stderr;
        },
      };
      return isLauncherShell(args) ? runShell(rest, io) : runAdminShell(rest, io);
    }
    case 'list':
    case 'status': {
      requireRoot();
      const json = rest.includes('--json');
      const names = rest.filter((a) => a !== '--json');
      if (names.some((a) => a.startsWith('-')) || names.length > (command === 'status' ? 1 : 0)) throw new JailError(HELP[command], ExitCode.usage);
      const config = loadConfig();
      let uid: number | null = null;
      if (names[0] !== undefined) {
        uid = uidOfUser(names[0]);
        if (uid === null) throw new JailError(`no such user: ${names[0]}`, ExitCode.usage);
      }
      const jails = await listJails(connectEngine(config.engine.socket), config, uid);
      process.stdout.write(json ? `${printableJson(jails)}\n` : formatJailTable(jails));
      return 0;
    }
    case 'pam-hook':
      return runPamHook(process.env);
    case 'image':
      return runImage(rest);
    case 'sshd-policy':
      requireRoot();
      if (rest.length > 0) throw new JailError('usage: docker-jail sshd-policy', ExitCode.usage);
      process.stdout.write(renderSshdPolicy(loadConfig().access.jailGroup));
      return 0;
    case 'user-manager': {
      requireRoot();
      if (rest.length !== 1 || !/^\d{1,10}$/.test(rest[0])) throw new JailError(HELP['user-manager'], ExitCode.usage);
      mayHaveUserManager(Number(rest[0]));
      return 0;
    }
    case '--version':
      process.stdout.write(`docker-jail ${typeof DOCKER_JAIL_VERSION === 'string' ? DOCKER_JAIL_VERSION : 'dev'}\n`);
      return 0;
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new JailError(command === undefined ? USAGE : `unknown command ${JSON.stringify(command)}\n${USAGE}`, ExitCode.usage);
  }
}

async function runImage(args: string[]): Promise<number> {
  requireRoot();
  const [sub, ...flags] = args;
  const update = sub === 'update' && flags.length === 0;
  const build = sub === 'build' && flags.every((f) => f === '--rebuild');
  if (!update && !build) throw new JailError(HELP.image, ExitCode.usage);
  const config = loadConfig();
  const engine = connectEngine(config.engine.socket);
  const progress = progressFor(process.stdout);
  try {
    await buildImage(engine, config, { rebuild: update || flags.includes('--rebuild'), progress });
  } finally {
    progress.end();
  }
  if (update && !(await rollJails(engine, config, (line) => process.stdout.write(`${printable(line)}\n`)))) return 1;
  return 0;
}

function requireRoot(): void {
  if (process.geteuid?.() !== 0) throw new JailError('docker-jail administration commands must be run as root', ExitCode.refused);
}
