import { spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config/load';
import { defaultConfig } from '../config/defaults';
import type { Config } from '../config/types';
import { connectEngine } from '../engine/client';
import { imageExists } from '../engine/image';
import { groupIdByName, hostNss, parseGroupLine } from '../identity/nss';
import { COMMON_ACCOUNT, carriesPamAccountRule, PAM_PROFILE } from './pamProfile';
import { renderSshdPolicy } from './sshdPolicy';
import { JAILSH } from './users';

/** One finding of `doctor`: what was checked, whether it is fine, and if not what is wrong and how to fix it. */
export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

const PAM_HOOK = '/usr/lib/docker-jail/docker-jail-pam-hook';
const SSHD_DROP_IN = '/etc/ssh/sshd_config.d/docker-jail.conf';

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
    const built = await imageExists(engine, config.jail.image);
    add('image', built, built ? `${config.jail.image} is built` : `${config.jail.image} is not built`, 'docker-jail image build');
  } catch (error) {
    add('engine', false, (error as Error).message, 'start the Docker engine (dockerd) or fix [engine] socket');
  }

  // Not a config error (an administrator may want it), but what it opens must be said: tested in test/adversarial.
  const network = config.jail.network;
  add(
    'network',
    network === 'none',
    network === 'none'
      ? 'jails have no network (network = none)'
      : `jails are on the network ${network}: they reach every service the host listens with on all its addresses (a Docker API on TCP too) and the other jails on it`,
    `network = none in [jail]; or firewall ${network}: docker network create -o com.docker.network.bridge.enable_icc=false, and drop what comes in from its bridge on the host (iptables -I INPUT -i BRIDGE -j DROP)`,
  );

  const jailGid = groupIdByName(config.access.jailGroup);
  add('jail group', jailGid !== null, `group ${config.access.jailGroup} ${jailGid === null ? 'does not exist' : `exists (gid ${jailGid})`}`, `groupadd --system ${config.access.jailGroup}`);
  const exemptGid = groupIdByName(config.access.exemptGroup);
  add('exempt group', exemptGid !== null, `group ${config.access.exemptGroup} ${exemptGid === null ? 'does not exist' : `exists (gid ${exemptGid})`}`, `groupadd --system ${config.access.exemptGroup}`);

  const launcher = lstatSync(JAILSH, { throwIfNoEntry: false });
  const launcherOk = launcher !== undefined && launcher.isFile() && launcher.uid === 0 && launcher.gid === jailGid && (launcher.mode & 0o7777) === 0o4754;
  add('launcher', launcherOk, launcher === undefined ? `${JAILSH} is missing` : `${JAILSH} is mode ${(launcher.mode & 0o7777).toString(8)}, owner ${launcher.uid}:${launcher.gid}`, `dpkg-statoverride --remove ${JAILSH}; dpkg-statoverride --update --add root ${config.access.jailGroup} 4754 ${JAILSH}`);
  // The package's link is relative (../../bin/jailsh): what counts is where it leads.
  const hookTarget = lstatSync(PAM_HOOK, { throwIfNoEntry: false })?.isSymbolicLink() ? resolve(dirname(PAM_HOOK), readlinkSync(PAM_HOOK)) : null;
  add('PAM hook', hookTarget === JAILSH, hookTarget === JAILSH ? `${PAM_HOOK} -> ${JAILSH}` : `${PAM_HOOK} is not a link to ${JAILSH}`, `ln -sfn ${JAILSH} ${PAM_HOOK}`);

  const shells = readOr('/etc/shells').split('\n').includes(JAILSH);
  add('/etc/shells', shells, shells ? `${JAILSH} is registered` : `${JAILSH} is not in /etc/shells`, `echo ${JAILSH} >> /etc/shells`);
  addPamProfile(add, config);

  const policy = renderSshdPolicy(config.access.jailGroup);
  const dropIn = readOr(SSHD_DROP_IN);
  add('sshd policy', dropIn === policy, dropIn === policy ? `${SSHD_DROP_IN} is current` : `${SSHD_DROP_IN} is ${dropIn === '' ? 'missing' : 'not what docker-jail sshd-policy prints'}`, `docker-jail sshd-policy > ${SSHD_DROP_IN}`);

  const members = jailGid === null ? [] : groupMembers(config.access.jailGroup);
  const sshd = effectiveSshd(members[0]);
  if (sshd === null) add('sshd', false, 'sshd -T failed: cannot read the effective sshd configuration', 'install openssh-server; check sshd -t');
  else {
    const internal = /^subsystem sftp internal-sftp/im.test(sshd);
    add('sftp', !internal, internal ? 'sshd serves sftp in-process (internal-sftp): jailed users would see the host\'s files' : 'sftp runs through the login shell', 'Subsystem sftp /usr/lib/openssh/sftp-server');
    if (members[0] !== undefined) {
      const open = ['permituserrc yes', 'allowtcpforwarding yes', 'x11forwarding yes', 'allowagentforwarding yes'].filter((line) => sshd.includes(`\n${line}\n`));
      add('sshd for jailed users', open.length === 0, open.length === 0 ? `no forwarding and no ~/.ssh/rc for ${members[0]}` : `sshd allows ${members[0]}: ${open.join(', ')}`, `docker-jail sshd-policy > ${SSHD_DROP_IN}`);
    }
  }
  for (const member of members) {
    const shell = (hostNss.passwdByName(member) ?? '').split(':')[6] ?? '';
    add(`user ${member}`, shell === JAILSH, shell === JAILSH ? 'login shell is jailsh' : `login shell is ${shell || 'unknown'}, not ${JAILSH}: every login refused (PAM account rule)`, `docker-jail enable ${member}`);
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
    add('PAM profile', false, 'the docker-jail PAM profile is not enabled: first logins get no home, and jail-group members with another shell get a host session', 'pam-auth-update --enable docker-jail');
  } else if (!carriesPamAccountRule(account, jailGroup, exemptGroup)) {
    add(
      'PAM profile',
      false,
      `the PAM account rule (${PAM_PROFILE}) is written for the groups ${defaultConfig.access.jailGroup} and ${defaultConfig.access.exemptGroup}, but the config names jail_group ${jailGroup} and exempt_group ${exemptGroup}: members of ${jailGroup} with another shell get a host session`,
      `set jail_group = ${defaultConfig.access.jailGroup} and exempt_group = ${defaultConfig.access.exemptGroup} in [access] of ${config.source ?? '/etc/docker-jail.ini'}, or copy ${PAM_PROFILE} to /usr/share/pam-configs/docker-jail-local with your groups and run pam-auth-update --disable docker-jail --enable docker-jail-local`,
    );
  } else add('PAM profile', true, `docker-jail is enabled in common-session, and its account rule in common-account (groups ${jailGroup}, ${exemptGroup})`);
}

function groupMembers(group: string): string[] {
  const line = hostNss.groupLines([group])[0];
  return line === undefined ? [] : parseGroupLine(line).members;
}

/** sshd's effective configuration, for a jailed user when there is one. */
function effectiveSshd(user: string | undefined): string | null {
  const args = ['-T', ...(user ? ['-C', `user=${user},host=localhost,addr=127.0.0.1`] : [])];
  const result = spawnSync('/usr/sbin/sshd', args, { env: { PATH: '/usr/sbin:/usr/bin' }, encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? `\n${result.stdout}` : null;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
