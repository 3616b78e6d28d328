import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { defaultConfig } from '../config/defaults';
import { loadConfig } from '../config/load';
import type { Config } from '../config/types';
import { connectEngine } from '../engine/client';
import { JAILSH, PAM_HOOK } from '../host/paths';
import { groupIdByName, hostNss, parseGroupLine } from '../identity/nss';
import { imageExists } from '../jail/image';
import { loadSeccompProfile, SECCOMP_PROFILE_PATH } from '../jail/seccomp';
import type { Finding } from './finding';
import { judgeExemptGroup, judgeJailGroup, readExemptGroupRecord } from './groupChecks';
import { HOST_CHECKS, judgeLimits, judgeLiveRestore } from './hostChecks';
import { COMMON_ACCOUNT, carriesPamAccountRule, PAM_PROFILE } from './pamProfile';
import { doorsIn, effectiveSshd, openSshdDoors, runningSshds, SAMPLE_ADDRESSES, type SshdConnection } from './sshdChecks';
import { openingDirectives, type PolicyPlacement, placePolicy, readSshdConfig, type SshdConfigReading } from './sshdConfigOrder';
import { JAILED_SSHD_SETTINGS, renderSshdPolicy, SSHD_DROP_IN } from './sshdPolicy';
import { checkSshdReloaded } from './sshdReload';

export type { Finding } from './finding';

/**
 * The engine's confinement, from its /info SecurityOptions. Without seccomp
 * (a kernel or build without it, or a daemon defaulting to unconfined) a jail
 * has no system call filter but the one we give, and the engine may refuse
 * that: a failure. AppArmor is a second fence that Debian may lack: a warning.
 */
export function engineSecurityFindings(securityOptions: string[], allowsAll: (profile: string) => boolean = profileAllowsAll): Finding[] {
  const options = securityOptions.map((option) => new Map(option.split(',').map((pair) => [pair.split('=')[0], pair.slice(pair.indexOf('=') + 1)])));
  const seccomp = options.find((option) => option.get('name') === 'seccomp');
  const profile = seccomp?.get('profile') ?? 'default';
  const apparmor = options.some((option) => option.get('name') === 'apparmor');
  return [
    seccomp === undefined
      ? {
          check: 'seccomp',
          ok: false,
          detail: 'the engine runs containers without seccomp (no name=seccomp in its security options)',
          fix: "a kernel with CONFIG_SECCOMP_FILTER and a dockerd built with seccomp (Debian's docker.io is)",
        }
      : profile === 'unconfined' || allowsAll(profile)
        ? {
            check: 'seccomp',
            ok: false,
            detail: `the engine's default seccomp profile (${profile}) is unconfined: jails still get docker-jail's, but any other container runs unfiltered, and so does a jail made by hand`,
            fix: "remove seccomp-profile from /etc/docker/daemon.json (or --seccomp-profile from dockerd's arguments) and restart dockerd",
          }
        : { check: 'seccomp', ok: true, detail: `the engine filters system calls (default profile: ${profile}); jails get ${SECCOMP_PROFILE_PATH}` },
    apparmor
      ? { check: 'apparmor', ok: true, detail: 'the engine confines containers with AppArmor' }
      : {
          check: 'apparmor',
          ok: true,
          warning: true,
          detail: 'AppArmor is not available to the engine: jails have no mandatory access control beside seccomp and dropped capabilities',
          fix: 'apt install apparmor, boot with apparmor=1 security=apparmor, restart dockerd',
        },
  ];
}

/**
 * Docker 20.10 takes no `unconfined` as its default profile: a profile file
 * allowing every call by default is how it is told. Only read, never used.
 */
function profileAllowsAll(profile: string): boolean {
  if (!profile.startsWith('/')) return false; // `default`, or `unconfined` (told apart above)
  try {
    const action: unknown = (JSON.parse(readFileSync(profile, 'utf8')) as { defaultAction?: unknown }).defaultAction;
    return action === 'SCMP_ACT_ALLOW' || action === 'SCMP_ACT_LOG';
  } catch {
    return false; // a file dockerd could not read either: it would not have started
  }
}

const SSHD_CONFIG = '/etc/ssh/sshd_config';
/** sshd runs it through /bin/sh, as the user, in the session's environment, before the login shell (session.c do_rc_files). */
const SSHRC = '/etc/ssh/sshrc';

/** Checks the host the way an administrator would before letting jailed users in. */
export async function diagnose(): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (check: string, ok: boolean, detail: string, fix?: string) => findings.push({ check, ok, detail, ...(ok ? {} : { fix }) });
  let config: Config;
  try {
    config = loadConfig();
    add('config', true, `${config.source ?? 'built-in defaults (no /etc/docker-jail.ini)'} is valid and safely owned`);
  } catch (error) {
    add('config', false, (error as Error).message, 'fix the file as the message says');
    return findings; // every other check reads the config
  }

  try {
    const engine = connectEngine(config.engine.socket);
    const version = await engine.control.version();
    add('engine', true, `Docker ${version.Version} (API ${version.ApiVersion}) at ${config.engine.socket}`);
    const info = await engine.control.info();
    findings.push(...engineSecurityFindings(info.SecurityOptions ?? []), judgeLiveRestore(info.LiveRestoreEnabled), judgeLimits(info, config.jail));
    const built = await imageExists(engine, config.jail.image);
    add('image', built, built ? `${config.jail.image} is built` : `${config.jail.image} is not built`, 'docker-jail image build');
  } catch (error) {
    add('engine', false, (error as Error).message, 'start the Docker engine (dockerd) or fix [engine] socket');
  }

  try {
    add('seccomp profile', true, `${SECCOMP_PROFILE_PATH} is safely owned (hash ${loadSeccompProfile().hash}, labelled on each jail made with it)`);
  } catch (error) {
    add('seccomp profile', false, (error as Error).message, 'apt install --reinstall docker-jail');
  }

  // Not a config error (an administrator may want it), but what it opens must be said (a warning): tested in test/adversarial.
  const network = config.jail.network;
  findings.push({
    check: 'network',
    ok: true,
    ...(network === 'none'
      ? { detail: 'jails have no network (network = none)' }
      : {
          warning: true,
          detail: `jails are on the network ${network}: they reach every service the host listens with on all its addresses (a Docker API on TCP too) and the other jails on it`,
          fix: `network = none in [jail]; or firewall ${network}: docker network create -o com.docker.network.bridge.enable_icc=false, and drop what comes in from its bridge on the host (iptables -I INPUT -i BRIDGE -j DROP)`,
        }),
  });
  findings.push(...HOST_CHECKS.map((check) => check()));

  const jailGid = groupIdByName(config.access.jailGroup);
  findings.push(judgeJailGroup(config.access.jailGroup, jailGid));
  const exemptGid = groupIdByName(config.access.exemptGroup);
  const exemptMembers = exemptGid === null ? [] : [...new Set([...groupMembers(config.access.exemptGroup), ...localUsersWithPrimaryGroup(exemptGid)])];
  findings.push(judgeExemptGroup(config.access.exemptGroup, exemptGid, readExemptGroupRecord(), exemptMembers));

  const launcher = lstatSync(JAILSH, { throwIfNoEntry: false });
  const launcherOk = launcher?.isFile() === true && launcher.uid === 0 && launcher.gid === jailGid && (launcher.mode & 0o7777) === 0o4754;
  add(
    'launcher',
    launcherOk,
    launcher === undefined ? `${JAILSH} is missing` : `${JAILSH} is mode ${(launcher.mode & 0o7777).toString(8)}, owner ${launcher.uid}:${launcher.gid}`,
    `dpkg-statoverride --remove ${JAILSH}; dpkg-statoverride --update --add root ${config.access.jailGroup} 4754 ${JAILSH}`,
  );
  // The package's link is relative (../../bin/jailsh): what counts is where it leads.
  const hookTarget = lstatSync(PAM_HOOK, { throwIfNoEntry: false })?.isSymbolicLink() ? resolve(dirname(PAM_HOOK), readlinkSync(PAM_HOOK)) : null;
  add(
    'PAM hook',
    hookTarget === JAILSH,
    hookTarget === JAILSH ? `${PAM_HOOK} -> ${JAILSH}` : `${PAM_HOOK} is not a link to ${JAILSH}`,
    `ln -sfn ${JAILSH} ${PAM_HOOK}`,
  );

  const shells = readOr('/etc/shells').split('\n').includes(JAILSH);
  // debianutils' add-shell, not update-shells: update-shells (debianutils 5.7) never adds back a shell of
  // shells.d that its state file lists and /etc/shells lacks: it takes that for an administrator's removal.
  add('/etc/shells', shells, shells ? `${JAILSH} is registered` : `${JAILSH} is not in /etc/shells`, `add-shell ${JAILSH}`);
  addPamProfile(add, config);

  const policy = renderSshdPolicy(config.access.jailGroup);
  const dropIn = readOr(SSHD_DROP_IN);
  add(
    'sshd policy',
    dropIn === policy,
    dropIn === policy ? `${SSHD_DROP_IN} is current` : `${SSHD_DROP_IN} is ${dropIn === '' ? 'missing' : 'not what docker-jail sshd-policy prints'}`,
    `docker-jail sshd-policy > ${SSHD_DROP_IN}`,
  );

  const sshrc = statSync(SSHRC, { throwIfNoEntry: false }) !== undefined;
  add(
    'sshrc',
    !sshrc,
    sshrc
      ? `sshd runs ${SSHRC} on the host as every user who logs in, jailed users included, in an environment they fill (~/.pam_environment): their code would run on the host`
      : `no ${SSHRC}`,
    `rm ${SSHRC} (log logins from PAM instead, e.g. pam_exec in a session stack)`,
  );

  const members = jailGid === null ? [] : groupMembers(config.access.jailGroup);
  const connections = (jailGid === null ? [] : sampleJailedUsers(members, jailGid)).flatMap((user) => SAMPLE_ADDRESSES.map((address) => ({ user, address })));
  const whitelist = config.session.envWhitelist;
  const sshd = await effectiveSshd(connections[0]);
  if (sshd === null) add('sshd', false, 'sshd -T failed: cannot read the effective sshd configuration', 'install openssh-server; check sshd -t');
  else {
    const internal = /^subsystem \S+ internal-sftp/im.test(sshd);
    add(
      'sftp',
      !internal,
      internal ? "sshd serves sftp in-process (internal-sftp): jailed users would see the host's files" : 'sftp runs through the login shell',
      'Subsystem sftp /usr/lib/openssh/sftp-server',
    );
    if (connections.length > 0) {
      const { ok, detail } = judgeConnections(connections, await Promise.all(connections.map((c) => effectiveSshd(c))), whitelist);
      add(
        'sshd for jailed users',
        ok,
        detail,
        `docker-jail sshd-policy > ${SSHD_DROP_IN}, and nothing ahead of it setting these for the jail group (see "sshd Match order"); PermitUserEnvironment no; AcceptEnv only what [session] env_whitelist names; an external sftp server`,
      );
    } else {
      // A directory that lists no members (sssd's ignore_group_members) and no local jailsh user: sshd -T has nobody to try.
      findings.push({
        check: 'sshd for jailed users',
        ok: true,
        warning: true,
        detail: `no jailed user to ask sshd -T about (group ${config.access.jailGroup} lists no member, and no local user has ${JAILSH} as shell): only the files' Match blocks were read`,
        fix: 'run doctor again once a user is jailed',
      });
    }
  }
  addMatchOrder(add, 'sshd Match order', SSHD_CONFIG, config.access.jailGroup, whitelist);
  findings.push(...(await checkSshdReloaded()));
  // A daemon started with its own -f or -o serves those, not what the files say: checked as it runs, and its file read.
  for (const daemon of runningSshds().filter((d) => d.configArgs.length > 0)) {
    const what = `the running sshd (pid ${daemon.pid}, ${daemon.configArgs.join(' ')})`;
    const { ok, detail } = judgeConnections(connections, await Promise.all(connections.map((c) => effectiveSshd(c, daemon.configArgs))), whitelist);
    add(
      `sshd pid ${daemon.pid}`,
      ok,
      ok ? `${what} keeps the jailed users' policy` : `${what}: ${detail}`,
      'give it the same settings as "sshd for jailed users" (Include the docker-jail drop-in), then restart it',
    );
    const file = daemon.configArgs.filter((_, i) => daemon.configArgs[i - 1] === '-f').at(-1);
    if (file !== undefined) addMatchOrder(add, `sshd pid ${daemon.pid} Match order`, file, config.access.jailGroup, whitelist);
  }
  for (const member of members) {
    const shell = (hostNss.passwdByName(member) ?? '').split(':')[6] ?? '';
    add(
      `user ${member}`,
      shell === JAILSH,
      shell === JAILSH ? 'login shell is jailsh' : `login shell is ${shell || 'unknown'}, not ${JAILSH}: every login refused (PAM account rule)`,
      `docker-jail enable ${member}`,
    );
  }
  return findings;
}

/**
 * The profile's session hook, and its account rule for the groups this config
 * names. The profile is static (pam-auth-update takes no parameters), written
 * for the default groups: with other groups in the config, members of the
 * configured jail group would pass the rule (SECURITY.md invariant 9).
 */
function addPamProfile(add: (check: string, ok: boolean, detail: string, fix?: string) => void, config: Config): void {
  const session = readOr('/etc/pam.d/common-session').includes(PAM_HOOK);
  const account = readOr(COMMON_ACCOUNT);
  const { jailGroup, exemptGroup } = config.access;
  const ruleForDefaults = carriesPamAccountRule(account, defaultConfig.access.jailGroup, defaultConfig.access.exemptGroup);
  if (!session || (!ruleForDefaults && !carriesPamAccountRule(account, jailGroup, exemptGroup))) {
    add(
      'PAM profile',
      false,
      'the docker-jail PAM profile is not enabled: first logins get no home, and jail-group members with another shell get a host session',
      'pam-auth-update --enable docker-jail',
    );
  } else if (!carriesPamAccountRule(account, jailGroup, exemptGroup)) {
    add(
      'PAM profile',
      false,
      `the PAM account rule (${PAM_PROFILE}) is written for the groups ${defaultConfig.access.jailGroup} and ${defaultConfig.access.exemptGroup}, but the config names jail_group ${jailGroup} and exempt_group ${exemptGroup}: members of ${jailGroup} with another shell get a host session`,
      `set jail_group = ${defaultConfig.access.jailGroup} and exempt_group = ${defaultConfig.access.exemptGroup} in [access] of ${config.source ?? '/etc/docker-jail.ini'}, or copy ${PAM_PROFILE} to /usr/share/pam-configs/docker-jail-local with your groups and run pam-auth-update --disable docker-jail --enable docker-jail-local`,
    );
  } else add('PAM profile', true, `docker-jail is enabled in common-session, and its account rule in common-account (groups ${jailGroup}, ${exemptGroup})`);
}

/** Local users whose primary group is gid (getent group lists only supplementary members). */
function localUsersWithPrimaryGroup(gid: number): string[] {
  return readOr('/etc/passwd')
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length === 7 && fields[3] === String(gid))
    .map((fields) => fields[0]);
}

function groupMembers(group: string): string[] {
  const line = hostNss.groupLines([group])[0];
  return line === undefined ? [] : parseGroupLine(line).members;
}

/** How many listed members of the jail group sshd -T is asked about, and how many more users with jailsh as their shell. */
const SAMPLED_MEMBERS = 3;
const SAMPLED_SHELL_USERS = 2;

/**
 * The jailed users sshd -T is asked about: the group's first listed members
 * (a Match User block names some, not all), and local users whose shell is
 * jailsh and whose primary group is the jail group (not listed as members).
 * Bounded: each costs one run per sample address. A jailsh user outside the
 * group is refused by the PAM account rule, so sshd's policy is not theirs.
 */
function sampleJailedUsers(members: string[], jailGid: number): string[] {
  // sshd -T's -C spec is comma separated: a name carrying , or = cannot be asked about (nor be a group member).
  const usable = (name: string) => name !== '' && !/[,=\s]/.test(name);
  const sample = members.filter(usable).slice(0, SAMPLED_MEMBERS);
  const shellUsers = readOr('/etc/passwd')
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length === 7 && fields[6] === JAILSH && fields[3] === String(jailGid) && usable(fields[0]) && !sample.includes(fields[0]))
    .map((fields) => fields[0]);
  return [...sample, ...shellUsers.slice(0, SAMPLED_SHELL_USERS)];
}

/** One verdict over the sampled connections: what sshd would open, each problem named with the users and addresses that get it. */
function judgeConnections(connections: SshdConnection[], effectives: (string | null)[], whitelist: string[]): { ok: boolean; detail: string } {
  const byProblem = new Map<string, string[]>();
  connections.forEach(({ user, address }, i) => {
    const effective = effectives[i];
    const open = effective === null ? ['sshd -T failed for this connection'] : openSshdDoors(effective, whitelist);
    if (open.length > 0) byProblem.set(open.join('; '), [...(byProblem.get(open.join('; ')) ?? []), `${user} from ${address}`]);
  });
  if (byProblem.size > 0) return { ok: false, detail: `sshd allows ${[...byProblem].map(([problem, who]) => `${who.join(', ')}: ${problem}`).join('; and ')}` };
  const users = [...new Set(connections.map((c) => c.user))];
  return {
    ok: true,
    detail: `no forwarding, no ~/.ssh/rc or ~/.ssh/environment, no variable beyond the whitelist, for ${users.join(', ')} from ${SAMPLE_ADDRESSES.join(', ')}`,
  };
}

/**
 * sshd -T tries a few connections; a Match block read ahead of the drop-in
 * takes its place for every connection it matches, so each is named (SECURITY.md
 * invariant 8), as is a drop-in sshd never reads or reads inside a Match block.
 */
function addMatchOrder(
  add: (check: string, ok: boolean, detail: string, fix?: string) => void,
  check: string,
  configFile: string,
  jailGroup: string,
  whitelist: string[],
): void {
  let reading: SshdConfigReading;
  let placement: PolicyPlacement;
  try {
    reading = readSshdConfig(configFile);
    placement = placePolicy(reading, SSHD_DROP_IN, JAILED_SSHD_SETTINGS, jailGroup);
  } catch (error) {
    add(check, false, `cannot read sshd's configuration as sshd does: ${(error as Error).message}`, 'fix the file named (sshd -t)');
    return;
  }
  const block = (m: { file: string; line: number; criteria: string[] }) => `Match ${m.criteria.join(' ')} (${m.file} line ${m.line})`;
  const opening = openingDirectives(reading, jailGroup, (keyword, values) => doorsIn(keyword, values, whitelist));
  if (opening.length > 0) {
    const found = opening.map(({ directive, match, doors }) => `${directive.file} line ${directive.line} in ${block(match)}: ${doors.join('; ')}`);
    add(
      check,
      false,
      `a Match block gives jailed users what sshd -T was not asked about: ${found.join('; ')}`,
      `take these out, or rule the jail group out of each block: Match ... Group *,!${jailGroup}`,
    );
  }
  if (!placement.read)
    add(
      check,
      false,
      `sshd never reads ${SSHD_DROP_IN}: no Include of ${configFile} reaches it`,
      `Include /etc/ssh/sshd_config.d/*.conf at the top of ${configFile}`,
    );
  else if (placement.within !== null)
    add(
      check,
      false,
      `sshd reads ${SSHD_DROP_IN} inside ${block(placement.within)}: its policy holds only for connections that block matches`,
      `move the Include of ${SSHD_DROP_IN} above every Match block of ${placement.within.file}`,
    );
  else if (placement.shadows.length > 0) {
    const shadows = placement.shadows.map(
      ({ directive, match, setting, policyValue }) =>
        `${directive.file} line ${directive.line} sets ${setting} ${directive.args.join(' ')} (policy: ${policyValue}) in ${block(match)}`,
    );
    add(
      check,
      false,
      `ahead of ${SSHD_DROP_IN}, so sshd takes them first for the jailed users and addresses they match: ${shadows.join('; ')}`,
      `move these settings behind ${SSHD_DROP_IN} (into a file sorting after it, e.g. zz-local.conf, or to the end of ${configFile}), or rule the jail group out of each block: Match ... Group *,!${jailGroup}`,
    );
  } else if (opening.length === 0) add(check, true, `no Match block ahead of ${SSHD_DROP_IN} sets what it sets, and none opens what it does not set`);
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
