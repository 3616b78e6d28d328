import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { JAILED_SSHD_SETTINGS } from './sshdPolicy';

/**
 * What doctor checks in sshd's effective configuration (`sshd -T`, lower-case
 * keywords, one value per line) for a jailed user: everything sshd itself
 * would run or accept on the host, beside the jail (SECURITY.md, invariant 8).
 * Returns what is open; [] when nothing is.
 */
export function openSshdDoors(effective: string, envWhitelist: string[]): string[] {
  const lines = effective.split('\n').map((line) => line.trim());
  const values = (keyword: string) => lines.filter((line) => line.startsWith(`${keyword} `)).map((line) => line.slice(keyword.length + 1));
  const open: string[] = [];
  for (const [setting, policy] of JAILED_SSHD_SETTINGS) {
    const keyword = setting.toLowerCase();
    const seen = values(keyword);
    if (seen.length === 0 || seen.some((value) => value !== policy)) open.push(`${keyword} ${seen.join(' ') || '(not shown)'} (policy: ${policy})`);
  }
  // An internal-sftp Subsystem, under any name, is doctor's own `sftp` check: it concerns every user.
  for (const keyword of ['permituserenvironment', 'acceptenv', 'forcecommand']) open.push(...doorsIn(keyword, values(keyword), envWhitelist));
  return open;
}

/**
 * What one keyword's values open on the host beside the drop-in's settings,
 * wherever they are set: ~/.ssh/environment, variables beyond the whitelist,
 * sshd's in-process sftp server. [] for any other keyword.
 */
export function doorsIn(keyword: string, values: string[], envWhitelist: string[]): string[] {
  const sftp = (value: string) => /^internal-sftp(\s|$)/.test(value);
  switch (keyword) {
    case 'permituserenvironment':
      return values.some((value) => value.toLowerCase() !== 'no')
        ? [`permituserenvironment ${values.join(' ')} (~/.ssh/environment reaches host programs)`]
        : [];
    case 'acceptenv': {
      const wide = values.flatMap((value) => value.split(/\s+/)).filter((pattern) => !coveredBy(pattern, envWhitelist));
      return wide.length > 0 ? [`acceptenv ${wide.join(' ')} (wider than [session] env_whitelist ${envWhitelist.join(' ')})`] : [];
    }
    case 'forcecommand':
      return values.some(sftp) ? ["forcecommand internal-sftp (serves the host's files)"] : [];
    case 'subsystem':
      return values.some((value) => sftp(value.split(/\s+/).slice(1).join(' '))) ? [`subsystem ${values.join(' ')} (serves the host's files)`] : [];
    default:
      return [];
  }
}

/** An AcceptEnv pattern lets in nothing the whitelist would not: the same name, or inside one of its prefixes. */
function coveredBy(pattern: string, whitelist: string[]): boolean {
  return whitelist.some((allowed) => {
    if (allowed === pattern) return true;
    if (!allowed.endsWith('*')) return false;
    const prefix = allowed.slice(0, -1);
    return pattern.startsWith(prefix) && !/[*?]/.test(prefix);
  });
}

/**
 * The connections doctor asks sshd -T about for each jailed user it samples:
 * loopback, a documentation (public) address, a private (RFC 1918) one and an
 * IPv6 one, so that a Match Address block for remote clients shows. Any other
 * range is caught by reading the Match blocks (sshdConfigOrder.ts).
 */
export const SAMPLE_ADDRESSES = ['127.0.0.1', '192.0.2.1', '10.0.0.1', '2001:db8::1'] as const;

/** A connection sshd -T is asked about. host is the address itself, as sshd names clients with UseDNS no (Debian's default). */
export interface SshdConnection {
  user: string;
  address: string;
}

/**
 * sshd's effective configuration, from the files or from a daemon's own options
 * (-f, -o), for a connection or for none. Each run costs 10-20 ms: callers
 * bound how many they ask for, and run them together.
 */
export function effectiveSshd(connection: SshdConnection | undefined, daemonArgs: string[] = []): Promise<string | null> {
  const spec = connection === undefined ? [] : ['-C', `user=${connection.user},host=${connection.address},addr=${connection.address}`];
  return new Promise((resolve) => {
    execFile(
      '/usr/sbin/sshd',
      ['-T', ...daemonArgs, ...spec],
      { env: { PATH: '/usr/sbin:/usr/bin' }, encoding: 'utf8', timeout: 10_000, maxBuffer: 1 << 20 },
      (error, stdout) => resolve(error === null ? `\n${stdout}` : null),
    );
  });
}

function isSshd(pid: string): boolean {
  try {
    return readlinkSync(`/proc/${pid}/exe`) === '/usr/sbin/sshd';
  } catch {
    return false; // PID 1 of a sandbox, or gone
  }
}

/** A running sshd daemon: its pid and the options that decide its configuration. */
export interface RunningSshd {
  pid: number;
  configArgs: string[];
  /** It listens for connections (its title says [listener]): not a session's process started some other way (sshd -i). */
  listener: boolean;
}

/** sshd's options that take an argument (its getopt string). */
const SSHD_ARG_OPTIONS = 'CEbcfghkopu';

/**
 * The -f and -o options of an sshd command line, as `-f FILE` / `-o OPTION`
 * pairs, read the way getopt reads them: bundled (`-Df FILE`) and joined
 * (`-f/etc/ssh/x`, `-oPort=22`) forms included, up to `--`; glibc's getopt
 * skips words that are not options.
 */
export function configOptions(argv: string[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') break;
    if (!word.startsWith('-') || word === '-') continue;
    for (let j = 1; j < word.length; j++) {
      if (!SSHD_ARG_OPTIONS.includes(word[j])) continue;
      const value = j + 1 < word.length ? word.slice(j + 1) : argv[++i];
      if (value !== undefined && (word[j] === 'f' || word[j] === 'o')) found.push(`-${word[j]}`, value);
      break;
    }
  }
  return found;
}

/**
 * The sshd daemons running as root on this host (not their per-connection
 * children), each with its own -f and -o: with those it serves something else
 * than what the files say.
 */
export function runningSshds(): RunningSshd[] {
  const found: RunningSshd[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    let argv: string[];
    let parent: string;
    let listener: boolean;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) !== '/usr/sbin/sshd' || statSync(`/proc/${entry}`).uid !== 0) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      // A listener retitles itself "sshd: /usr/sbin/sshd -f FILE [listener] 0 of 10-100 startups".
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      listener = / \[listener\]/.test(title);
      argv = title
        .replace(/^sshd: /, '')
        .replace(/ \[listener\].*$/, '')
        .split(/\s+/)
        .slice(1);
    } catch {
      continue; // gone, or not readable
    }
    if (isSshd(parent)) continue; // a connection's process
    found.push({ pid: Number(entry), configArgs: configOptions(argv), listener });
  }
  return found;
}
