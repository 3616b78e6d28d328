import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { sh } from './host';
import { ROOT_KEYS } from './sshd';

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

/**
 * A real user made with useradd, with an ssh key, and the given groups and
 * shell. With home: false the user has no home directory yet (a first login)
 * and their key is kept by root.
 */
export function createUser(options: { groups?: string[]; shell?: string; prefix?: string; home?: boolean } = {}): TestUser {
  const name = `${options.prefix ?? 'djt'}${randomBytes(3).toString('hex')}`;
  const groups = options.groups ?? ['jailed'];
  const makeHome = options.home ?? true;
  sh(`useradd ${makeHome ? '--create-home' : '--no-create-home'} --shell ${options.shell ?? '/usr/bin/jailsh'} ${groups.length ? `--groups ${groups.join(',')}` : ''} ${name}`);
  const [uid, gid] = sh(`id -u ${name}; id -g ${name}`).trim().split('\n').map(Number);
  const home = sh(`getent passwd ${name} | cut -d: -f6`).trim();
  const key = `${keyDir}/${name}`;
  sh(`ssh-keygen -q -t ed25519 -N '' -f ${key}`);
  if (makeHome) sh(`install -d -o ${name} -g ${gid} -m 0700 ${home}/.ssh && install -o ${name} -g ${gid} -m 0600 ${key}.pub ${home}/.ssh/authorized_keys`);
  else sh(`install -d -m 0755 ${ROOT_KEYS} && install -m 0644 ${key}.pub ${ROOT_KEYS}/${name}`);
  return { name, uid, gid, home, key };
}

/** Removes the user's jail (found by label) with its /tmp and /var/tmp filesystem, the user, and their home. */
export function removeUser(user: TestUser): void {
  sh(`docker ps -aq --filter label=io.docker-jail.uid=${user.uid} | xargs -r docker rm -f >/dev/null`);
  removeScratchOf(String(user.uid));
  sh(`umount -l /run/docker-jail/homes/${user.uid} 2>/dev/null || true; rmdir /run/docker-jail/homes/${user.uid} 2>/dev/null || true`);
  sh(`pkill -KILL -u ${user.uid} || true; userdel --remove ${user.name} 2>/dev/null || true`);
  rmSync(`${ROOT_KEYS}/${user.name}`, { force: true });
  rmSync(user.key, { force: true });
  rmSync(`${user.key}.pub`, { force: true });
}

/** Unmounts and deletes the /tmp and /var/tmp filesystem of a uid's jail (or `shared`), if it has one. */
export function removeScratchOf(key: string): void {
  sh(`umount -l /run/docker-jail/scratch/${key} 2>/dev/null || true; rmdir /run/docker-jail/scratch/${key} 2>/dev/null || true; rm -f /var/lib/docker-jail/scratch/${key}.img /var/lib/docker-jail/scratch/${key}.img.owner`);
}

/** The id of the user's jail container, found by its labels (uid and name: an earlier account's may be left); '' when there is none. */
export function jailOf(user: TestUser): string {
  const named = user.name === undefined ? '' : ` --filter label=io.docker-jail.user=${user.name}`;
  return sh(`docker ps -aq --filter label=io.docker-jail.managed=true --filter label=io.docker-jail.uid=${user.uid}${named}`).trim();
}
