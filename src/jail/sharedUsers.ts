import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { JailUser } from '../identity/jailFiles';

/** Every user who has logged in to the shared jail, one file per uid, so each login can write the jail's passwd whole. */
export const SHARED_USERS_DIR = '/var/lib/docker-jail/shared-users';

/**
 * Records this user and returns everyone recorded. Callers hold the shared
 * jail's lock, so no two logins write the jail's passwd from different lists
 * and no user's entry ever drops out of it.
 */
export function registerSharedUser(user: JailUser, dir = SHARED_USERS_DIR): JailUser[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = `${dir}/${user.identity.uid}.json`;
  writeFileSync(`${path}.tmp`, JSON.stringify(user), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
  const users: JailUser[] = [];
  for (const entry of readdirSync(dir).sort()) {
    if (!/^\d+\.json$/.test(entry)) continue;
    const recorded = JSON.parse(readFileSync(`${dir}/${entry}`, 'utf8')) as JailUser;
    // A recorded user of the same name is an older account (uid reuse): the current one wins.
    if (recorded.identity.uid !== user.identity.uid && recorded.identity.user !== user.identity.user) users.push(recorded);
  }
  return [user, ...users];
}
