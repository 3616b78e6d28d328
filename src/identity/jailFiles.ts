import type { Identity } from './nss';

/** What the jail's /etc/passwd and /etc/group say: the user, their groups, and the few system entries a jail needs. */
export interface JailIdentityFiles {
  passwd: string;
  group: string;
}

const systemUsers = [
  { name: 'root', uid: 0, gid: 0, gecos: 'root', home: '/root', shell: '/usr/sbin/nologin' },
  { name: 'nobody', uid: 65534, gid: 65534, gecos: 'nobody', home: '/nonexistent', shell: '/usr/sbin/nologin' },
];
const systemGroups = [
  { name: 'root', gid: 0 },
  { name: 'tty', gid: 5 },
  { name: 'nogroup', gid: 65534 },
];

/** A user as the jail must name them: their identity and where their home is inside the jail. */
export interface JailUser {
  identity: Identity;
  home: string;
}

/**
 * Never the host's whole database: only the jail's users (one, or in shared
 * mode every user who has logged in to it) and their own groups, so the jail
 * can name them (and `docker exec -u UID` takes the primary gid and the
 * supplementary groups from here).
 */
export function jailIdentityFiles(users: JailUser[], shell: string): JailIdentityFiles {
  const uids = new Set(users.map((u) => u.identity.uid));
  const names = new Set(users.map((u) => u.identity.user));
  const passwd = [
    ...systemUsers.filter((u) => !uids.has(u.uid) && !names.has(u.name)).map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.gecos}:${u.home}:${u.shell}`),
    ...users.map(({ identity, home }) => `${identity.user}:x:${identity.uid}:${identity.gid}:${sanitizeGecos(identity.gecos)}:${home}:${shell}`),
  ];
  // One line per gid; the first user to name a gid names the group, and every user in it is listed as a member.
  const groups = new Map<number, { name: string; members: string[] }>();
  for (const { identity } of users) {
    for (const group of identity.groups) {
      const entry = groups.get(group.gid) ?? { name: group.name, members: [] };
      if (group.gid !== identity.gid) entry.members.push(identity.user);
      groups.set(group.gid, entry);
    }
  }
  const groupNames = new Set([...groups.values()].map((g) => g.name));
  const group = [
    ...systemGroups.filter((g) => !groups.has(g.gid) && !groupNames.has(g.name)).map((g) => `${g.name}:x:${g.gid}:`),
    ...[...groups].map(([gid, g]) => `${g.name}:x:${gid}:${g.members.join(',')}`),
  ];
  return { passwd: passwd.join('\n') + '\n', group: group.join('\n') + '\n' };
}

function sanitizeGecos(gecos: string): string {
  return gecos.replace(/[:\n\r]/g, ' ');
}
