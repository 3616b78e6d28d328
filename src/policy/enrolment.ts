import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { Config } from '../config/types';
import { connectEngine, engineError } from '../engine/client';
import { ExitCode, JailError } from '../errors';
import { withHostLock } from '../host/locks';
import { STAGING_ROOT, unmountLazily } from '../host/mounts';
import { JAILSH, SHELLS_DIR } from '../host/paths';
import { run, runForStatus } from '../host/run';
import { removeScratch } from '../host/scratch';
import { readStateFile, writeStateFile } from '../host/stateFiles';
import { groupIdByName, hostNss, type Identity, resolveIdentity, uidOfUser } from '../identity/nss';
import { provisionHome } from '../jail/home';
import { findJailOf } from '../jail/jail';
import { jailLockPath, placementOf } from '../jail/placement';
import { prepareJail } from '../jail/prepare';
import { jailableIdentity } from './access';

const FALLBACK_SHELL = '/bin/bash';

/** What enable and disable say as they go: one line per change, for the administrator. */
export type Report = (line: string) => void;

/**
 * Puts users in the jail group and makes jailsh their login shell (the shell
 * they had is remembered for disable); with `now`, makes their home and jail
 * at once. Root and members of the exempt group are refused. Users that only
 * NSS knows get the group (when it is local); their shell must be set in the
 * directory, which is said.
 */
export async function enableUsers(config: Config, names: string[], now: boolean, report: Report): Promise<void> {
  const group = config.access.jailGroup;
  if (groupIdByName(group) === null) throw new JailError(`the jail group ${group} does not exist; create it: groupadd --system ${group}`);
  for (const name of names) {
    const uid = existingUid(name);
    if (uid === 0) throw new JailError('root is never jailed');
    const before = resolveIdentity(uid);
    if (before.groups.some((g) => g.name === config.access.exemptGroup)) {
      throw new JailError(`${name} is in the exempt group ${config.access.exemptGroup}; take them out of it first`);
    }
    if (!before.groups.some((g) => g.name === group)) {
      if (!isLocal('/etc/group', group)) throw new JailError(`the jail group ${group} is not in /etc/group; add ${name} to it in your directory`);
      runTool('/usr/bin/gpasswd', ['-a', name, group]);
      report(`${name}: added to group ${group}`);
    }
    const shell = loginShellOf(name);
    if (shell !== JAILSH) {
      rememberShell(uid, shell);
      setLoginShell(name, JAILSH, report);
    }
    const identity = jailableIdentity(uid, config);
    stopUserManager(uid, name, report);
    if (now) await prepareNow(config, identity, report);
    report(`${name}: enabled`);
  }
}

/**
 * On a systemd host, a user manager (systemd --user) started before the user
 * was jailed would go on running the units in their home on the host: stopped.
 * The package's drop-in for user@.service keeps new ones from starting.
 */
function stopUserManager(uid: number, name: string, report: Report): void {
  if (!existsSync('/run/systemd/system')) return; // systemd is not PID 1: there are none
  const systemctl = (...args: string[]) => runForStatus('/usr/bin/systemctl', args, { timeout: 30_000 }).status;
  if (systemctl('is-active', '--quiet', `user@${uid}.service`) !== 0) return;
  if (systemctl('stop', `user@${uid}.service`) === 0) report(`${name}: their systemd user manager stopped`);
  else throw new JailError(`${name}: their systemd user manager still runs; stop it: systemctl stop user@${uid}.service`);
}

/**
 * Takes users out of the jail group, gives back the shell they had (else
 * /bin/bash), and stops their jail; removes it only when asked. Their home is
 * never touched.
 */
export async function disableUsers(config: Config, names: string[], removeJail: boolean, report: Report): Promise<void> {
  const group = config.access.jailGroup;
  for (const name of names) {
    const uid = existingUid(name);
    const identity = resolveIdentity(uid);
    if (identity.groups.some((g) => g.name === group)) {
      if (!isLocal('/etc/group', group)) throw new JailError(`the jail group ${group} is not in /etc/group; remove ${name} from it in your directory`);
      runTool('/usr/bin/gpasswd', ['-d', name, group]);
      report(`${name}: removed from group ${group}`);
    }
    if (loginShellOf(name) === JAILSH) setLoginShell(name, rememberedShell(uid), report);
    rmSync(`${SHELLS_DIR}/${uid}`, { force: true });
    if (config.jail.mode === 'per-user') await stopJail(config, uid, removeJail, name, report);
    else report(`${name}: the shared jail keeps running for the others`);
    report(`${name}: disabled`);
  }
}

async function prepareNow(config: Config, identity: Identity, report: Report): Promise<void> {
  if (provisionHome(identity, config)) report(`${identity.user}: home ${identity.home} created`);
  const engine = connectEngine(config.engine.socket);
  const placement = placementOf(config, identity);
  const jail = await withHostLock(placement.lock, () => prepareJail(engine, config, identity, placement));
  report(`${identity.user}: jail ${jail.name} running`);
}

async function stopJail(config: Config, uid: number, remove: boolean, name: string, report: Report): Promise<void> {
  const engine = connectEngine(config.engine.socket);
  await withHostLock(jailLockPath(config, uid), async () => {
    const jail = await findJailOf(engine, config, uid, name);
    if (jail === null) return;
    const container = engine.control.getContainer(jail.id);
    try {
      if (jail.state === 'running') {
        await container.stop(5);
        report(`${name}: jail ${jail.name} stopped`);
      }
      if (remove) {
        await container.remove();
        unmountLazily(`${STAGING_ROOT}/${uid}`);
        removeScratch(String(uid));
        report(`${name}: jail ${jail.name} removed with its /tmp and /var/tmp (the home is kept)`);
      }
    } catch (error) {
      throw engineError(engine.socket, error, `stopping the jail of ${name}`);
    }
  });
}

function existingUid(name: string): number {
  const uid = uidOfUser(name);
  if (uid === null) throw new JailError(`no such user: ${name}`, ExitCode.usage);
  return uid;
}

function loginShellOf(name: string): string {
  return (hostNss.passwdByName(name) ?? '').split(':')[6] ?? '';
}

function isLocal(file: string, name: string): boolean {
  return readFileSync(file, 'utf8')
    .split('\n')
    .some((line) => line.startsWith(`${name}:`));
}

function setLoginShell(name: string, shell: string, report: Report): void {
  if (!isLocal('/etc/passwd', name)) {
    report(`${name}: not in /etc/passwd; set their login shell to ${shell} in your directory`);
    return;
  }
  runTool('/usr/sbin/usermod', ['--shell', shell, name]);
  report(`${name}: login shell ${shell}`);
}

function rememberShell(uid: number, shell: string): void {
  mkdirSync(SHELLS_DIR, { recursive: true, mode: 0o700 });
  if (shell !== '' && shell !== JAILSH) writeStateFile(`${SHELLS_DIR}/${uid}`, shell);
}

function rememberedShell(uid: number): string {
  try {
    return readStateFile(`${SHELLS_DIR}/${uid}`) || FALLBACK_SHELL;
  } catch {
    return FALLBACK_SHELL;
  }
}

function runTool(file: string, args: string[]): void {
  run(file, args, { failure: `${file} ${args.join(' ')} failed`, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 30_000 });
}
