import { mkdirSync, readdirSync } from 'node:fs';
import { SHARED_USERS_DIR } from '../host/paths';
import { readStateFile, writeStateFile } from '../host/stateFiles';
import type { JailUser } from '../identity/jailFiles';

export { SHARED_USERS_DIR };

/**
 * Records this user and returns everyone recorded. Callers hold the shared
 * jail's lock, so no two logins write the jail's passwd from different lists
 * and no user's entry ever drops out of it.
 */
export function registerSharedUser(user: JailUser, dir = SHARED_USERS_DIR): JailUser[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = `${dir}/${user.identity.uid}.json`;
  writeStateFile(path, JSON.stringify(user));
  const users: JailUser[] = [];
  for (const entry of readdirSync(dir).sort()) {
    if (!/^\d+\.json$/.test(entry)) continue;
    const recorded = JSON.parse(readStateFile(`${dir}/${entry}`)) as JailUser;
    // A recorded user of the same name is an older account (uid reuse): the current one wins.
    if (recorded.identity.uid !== user.identity.uid && recorded.identity.user !== user.identity.user) users.push(recorded);
  }
  return [user, ...users];
}
