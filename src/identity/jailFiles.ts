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

/**
 * Never the host's whole database: only the user and their own groups, so the
 * jail can name them (and `docker exec -u UID` takes the primary gid and the
 * supplementary groups from here).
 */
export function jailIdentityFiles(identity: Identity, home: string, shell: string): JailIdentityFiles {
  const users = systemUsers.filter((u) => u.uid !== identity.uid && u.name !== identity.user);
  const passwd = [
    ...users.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.gecos}:${u.home}:${u.shell}`),
    `${identity.user}:x:${identity.uid}:${identity.gid}:${sanitizeGecos(identity.gecos)}:${home}:${shell}`,
  ];
  const takenGids = new Set(identity.groups.map((g) => g.gid));
  const takenNames = new Set(identity.groups.map((g) => g.name));
  const group = [
    ...systemGroups.filter((g) => !takenGids.has(g.gid) && !takenNames.has(g.name)).map((g) => `${g.name}:x:${g.gid}:`),
    ...identity.groups.map((g) => `${g.name}:x:${g.gid}:${g.gid === identity.gid ? '' : identity.user}`),
  ];
  return { passwd: passwd.join('\n') + '\n', group: group.join('\n') + '\n' };
}

function sanitizeGecos(gecos: string): string {
  return gecos.replace(/[:\n\r]/g, ' ');
}
