import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import {
  AGENT_STATE_DIR,
  IDENTITY_CACHE,
  JAILSH,
  LAST_LOGIN_DIR,
  LAST_LOGOUT_DIR,
  LOCK_DIR,
  ORPHANS_DIR,
  PREPARE_ROOT,
  SCRATCH_IMAGES,
  SCRATCH_MOUNTS,
  SESSIONS_DIR,
  SHARED_ROOT,
  SHARED_USERS_DIR,
  STAGING_ROOT,
} from '../../src/host/paths';
import { LABEL_MANAGED, LABEL_UID, LABEL_USER } from '../../src/jail/labels';
import { sh } from './host';
import { ROOT_KEYS } from './sshd';
import { RUN_COMMENT, recordMade, recordRemoved } from './testRun';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Private key whose public half is in the user's authorized_keys. */
  key: string;
}

const keyDir = mkdtempSync('/root/.docker-jail-test-keys-');
process.on('exit', () => rmSync(keyDir, { recursive: true, force: true }));

export interface UserOptions {
  groups?: string[];
  shell?: string;
  prefix?: string;
  home?: boolean;
}

/**
 * A real user made with useradd, with an ssh key, and the given groups and
 * shell. With home: false the user has no home directory yet (a first login)
 * and their key is kept by root. Their GECOS names this test run, and the
 * run's ledger lists them, so a crashed run can be swept (testRun.ts).
 */
export function createUser(options: UserOptions = {}): TestUser {
  const name = unusedName(options.prefix ?? 'djt');
  const groups = options.groups ?? ['jailed'];
  const makeHome = options.home ?? true;
  sh(
    `useradd ${makeHome ? '--create-home' : '--no-create-home'} --comment '${RUN_COMMENT}' --shell ${options.shell ?? JAILSH} ${groups.length ? `--groups ${groups.join(',')}` : ''} ${name}`,
  );
  const [uid, gid] = sh(`id -u ${name}; id -g ${name}`).trim().split('\n').map(Number);
  recordMade({ name, uid });
  const home = sh(`getent passwd ${name} | cut -d: -f6`).trim();
  const key = `${keyDir}/${name}`;
  sh(`ssh-keygen -q -t ed25519 -N '' -f ${key}`);
  if (makeHome) sh(`install -d -o ${name} -g ${gid} -m 0700 ${home}/.ssh && install -o ${name} -g ${gid} -m 0600 ${key}.pub ${home}/.ssh/authorized_keys`);
  else sh(`install -d -m 0755 ${ROOT_KEYS} && install -m 0644 ${key}.pub ${ROOT_KEYS}/${name}`);
  return { name, uid, gid, home, key };
}

/** A random user name no account has yet (three random bytes: two runs' worth of users may meet one day). */
function unusedName(prefix: string): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    const name = `${prefix}${randomBytes(3).toString('hex')}`;
    if (spawnSync('/usr/bin/getent', ['passwd', name]).status === 2 && spawnSync('/usr/bin/getent', ['group', name]).status === 2) return name;
  }
  throw new Error('no unused user name in 20 tries: is getent answering?');
}

/** Removes the user's jail (found by label) with its /tmp and /var/tmp filesystem and all per-uid state, the user, and their home. */
export function removeUser(user: TestUser): void {
  removeJailsAndStateOf(user.uid);
  sh(`pkill -KILL -u ${user.uid} || true; userdel --remove ${user.name} 2>/dev/null || true`);
  rmSync(`${ROOT_KEYS}/${user.name}`, { force: true });
  rmSync(user.key, { force: true });
  rmSync(`${user.key}.pub`, { force: true });
  recordRemoved(user);
}

/**
 * Removes every jail of the uid (by its label; with `name`, only those made for
 * that name) and what docker-jail keeps for the uid: its /tmp image, its home's
 * staging mounts (per-user and shared mode), the agent's state, last login and logout, the shared jail's
 * record of it, its lock file, gc's marks and the identity cache of its jails,
 * and the session records of its sessions.
 */
export function removeJailsAndStateOf(uid: number, name?: string): void {
  const named = name === undefined ? '' : ` --filter label=${LABEL_USER}=${name}`;
  const jails = sh(`docker ps -aq --no-trunc --filter label=${LABEL_UID}=${uid}${named}`).split('\n').filter(Boolean);
  if (jails.length > 0) sh(`docker rm -f ${jails.join(' ')} >/dev/null`);
  for (const jail of jails) {
    rmSync(`${IDENTITY_CACHE}/${jail}`, { force: true });
    rmSync(`${ORPHANS_DIR}/${jail}`, { force: true });
  }
  if (name !== undefined && sh(`getent passwd ${uid} | cut -d: -f1`).trim() !== '') return; // the uid is someone else's now: their state stays
  removeScratchOf(String(uid));
  for (const staged of [`${STAGING_ROOT}/${uid}`, `${SHARED_ROOT}/${uid}`]) sh(`umount -l ${staged} 2>/dev/null || true; rmdir ${staged} 2>/dev/null || true`);
  sh(`rmdir ${PREPARE_ROOT}/${uid} 2>/dev/null || true`);
  for (const file of [
    `${AGENT_STATE_DIR}/${uid}.json`,
    `${LAST_LOGIN_DIR}/${uid}`,
    `${LAST_LOGOUT_DIR}/${uid}`,
    `${SHARED_USERS_DIR}/${uid}.json`,
    `${LOCK_DIR}/uid-${uid}`,
    `${ORPHANS_DIR}/scratch-${uid}`,
  ]) {
    rmSync(file, { force: true });
  }
  for (const record of sessionRecordsOf(uid)) rmSync(record, { force: true });
}

function sessionRecordsOf(uid: number): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync(SESSIONS_DIR).filter((entry) => entry.endsWith('.json'));
  } catch {
    return []; // no session recorded yet
  }
  return entries
    .map((entry) => `${SESSIONS_DIR}/${entry}`)
    .filter((file) => {
      try {
        return (JSON.parse(readFileSync(file, 'utf8')) as { uid?: unknown }).uid === uid;
      } catch {
        return false; // gone meanwhile, or half-written: not ours to judge
      }
    });
}

/** Unmounts and deletes the /tmp and /var/tmp filesystem of a uid's jail (or `shared`), if it has one. */
export function removeScratchOf(key: string): void {
  sh(
    `umount -l ${SCRATCH_MOUNTS}/${key} 2>/dev/null || true; rmdir ${SCRATCH_MOUNTS}/${key} 2>/dev/null || true; rm -f ${SCRATCH_IMAGES}/${key}.img ${SCRATCH_IMAGES}/${key}.img.owner`,
  );
}

/** The id of the user's jail container, found by its labels (uid and name: an earlier account's may be left); '' when there is none. */
export function jailOf(user: TestUser): string {
  const named = user.name === undefined ? '' : ` --filter label=${LABEL_USER}=${user.name}`;
  return sh(`docker ps -aq --filter label=${LABEL_MANAGED}=true --filter label=${LABEL_UID}=${user.uid}${named}`).trim();
}
