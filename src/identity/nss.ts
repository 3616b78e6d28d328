import { JailError } from '../errors';
import { bounded } from '../host/deadline';
import { runForStatus } from '../host/run';

/** A user as the host's NSS (files, LDAP, SSSD, ...) knows them. */
export interface Identity {
  user: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  /** Every group the user is in, primary group first. */
  groups: GroupEntry[];
}

export interface GroupEntry {
  name: string;
  gid: number;
}

/**
 * The NSS lookups docker-jail needs. The production version asks getent and id
 * (root-owned binaries at fixed paths, run with an empty environment), which go
 * through the host's nsswitch.conf like any login would.
 */
export interface Nss {
  passwdByUid(uid: number): string | null;
  passwdByName(name: string): string | null;
  groupIdsOf(user: string): number[];
  /** Lines of /etc/group format for each key (a name or a gid) that exists. */
  groupLines(keys: string[]): string[];
}

/**
 * Runs one lookup. Its answer has no ceiling: a directory's group can list
 * hundreds of thousands of members. A lookup that hangs (a directory outage)
 * is killed after 10 s, or sooner at the process's deadline.
 */
function runLookup(file: string, args: string[]): { status: number | null; stdout: string } {
  const result = runForStatus(file, args, { stdout: 'pipe', maxBuffer: Number.POSITIVE_INFINITY, ...bounded(10_000) });
  if (result.error?.code === 'ETIMEDOUT') throw new JailError(`NSS did not answer in time (${file} ${args.join(' ')})`);
  if (result.error) throw new JailError(`cannot run ${file}: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout };
}

export const hostNss: Nss = {
  passwdByUid(uid) {
    const { status, stdout } = runLookup('/usr/bin/getent', ['passwd', String(uid)]);
    if (status === 2) return null; // getent: key not found
    if (status !== 0) throw new JailError(`user lookup for uid ${uid} failed (getent exit ${status})`);
    return onlyLine(stdout, `uid ${uid}`);
  },
  passwdByName(name) {
    const { status, stdout } = runLookup('/usr/bin/getent', ['passwd', '--', name]);
    if (status === 2) return null;
    if (status !== 0) throw new JailError(`user lookup for ${name} failed (getent exit ${status})`);
    return onlyLine(stdout, name);
  },
  groupIdsOf(user) {
    const { status, stdout } = runLookup('/usr/bin/id', ['-G', '--', user]);
    if (status !== 0) throw new JailError(`group lookup for ${user} failed (id exit ${status})`);
    return stdout.trim().split(/\s+/).map(parseId);
  },
  groupLines(keys) {
    if (keys.length === 0) return [];
    const { status, stdout } = runLookup('/usr/bin/getent', ['group', ...keys]);
    if (status !== 0 && status !== 2) throw new JailError(`group lookup failed (getent exit ${status})`);
    return stdout.split('\n').filter((line) => line !== '');
  },
};

/**
 * getent prints one line per entry found: a second one means a field of the
 * entry holds a newline (a gecos the user edits in the directory), and what
 * follows it is the user's text, not NSS's.
 */
export function onlyLine(stdout: string, key: string): string {
  const lines = stdout.split('\n').filter((line) => line !== '');
  if (lines.length !== 1) throw new JailError(`NSS returned ${lines.length} lines for the user ${key}; refusing an entry with a newline in it`);
  return lines[0];
}

function parseId(text: string): number {
  if (!/^\d{1,10}$/.test(text)) throw new JailError(`NSS returned a malformed id: ${JSON.stringify(text)}`);
  const id = Number(text);
  if (id > 0xfffffffe) throw new JailError(`NSS returned an id out of range: ${text}`);
  return id;
}

export function parseGroupLine(line: string): GroupEntry & { members: string[] } {
  const group = groupEntry(line);
  if (group === null) throw new JailError(`NSS returned a malformed group entry: ${JSON.stringify(line.slice(0, 200))}`);
  return group;
}

/** A line of /etc/group format, or null when it does not split into a name, a password, a gid and members. */
function groupEntry(line: string): (GroupEntry & { members: string[] }) | null {
  const fields = line.split(':');
  if (fields.length !== 4 || fields[0] === '' || !/^\d{1,10}$/.test(fields[2]) || Number(fields[2]) > 0xfffffffe) return null;
  return { name: fields[0], gid: Number(fields[2]), members: fields[3] === '' ? [] : fields[3].split(',') };
}

/** Resolves the user behind a real uid, with all their groups, or throws. */
export function resolveIdentity(uid: number, nss: Nss = hostNss): Identity {
  return resolveIdentityAndGroups(uid, [], nss).identity;
}

/** A user, and the gids of some groups named by the config, from one lookup of every group involved. */
export interface IdentityAndGroups {
  identity: Identity;
  /** The gid of one of the named groups, or null when NSS does not know it. */
  groupIdOf: (name: string) => number | null;
}

/**
 * resolveIdentity, which also looks up the named groups (the jail and exempt
 * groups) in the same `getent group` call as the user's own: a login asks NSS
 * three times (passwd, the user's gids, their groups) instead of five.
 */
export function resolveIdentityAndGroups(uid: number, groupNames: string[], nss: Nss = hostNss): IdentityAndGroups {
  const line = nss.passwdByUid(uid);
  if (line === null) throw new JailError(`uid ${uid} is not a known user`);
  const fields = line.split(':');
  if (fields.length !== 7) throw new JailError(`NSS returned a malformed passwd entry for uid ${uid}`);
  const [user, , uidText, gidText, gecos, home] = fields;
  if (parseId(uidText) !== uid) throw new JailError(`NSS returned uid ${uidText} when asked for uid ${uid}`);
  if (user === '' || /[\s/]/.test(user)) throw new JailError(`uid ${uid} has an unusable user name ${JSON.stringify(user)}`);
  if (!home.startsWith('/')) throw new JailError(`${user} has no absolute home directory`);
  const gid = parseId(gidText);

  // Membership comes from the user's own lookup (initgroups), never from a group's member list.
  const gids = [gid, ...nss.groupIdsOf(user).filter((g) => g !== gid)];
  const byGid = new Map<number, string>();
  const byName = new Map<string, number>();
  const named = new Set(groupNames);
  // getent prints one entry per key it finds, in the order asked, names first. When every key got exactly one
  // well-formed line, line i is key i's entry. Otherwise a key was not found, or a ':' or a newline in a
  // directory's group name or members broke an entry into lines that may look well formed: malformed lines are
  // skipped (an odd unrelated group cannot refuse the login), and each named group is asked for on its own,
  // where the first line starts the entry of exactly that name (a fragment cannot pose as the exempt group).
  const keys = [...groupNames, ...new Set(gids)].map(String);
  const entries = nss.groupLines(keys).map(groupEntry);
  const positional = entries.length === keys.length && entries.every((entry, i) => entry !== null && (i >= groupNames.length || entry.name === groupNames[i]));
  entries.forEach((group, i) => {
    if (group === null) return;
    if (gids.includes(group.gid) && !byGid.has(group.gid)) byGid.set(group.gid, group.name);
    if (positional && i < groupNames.length) byName.set(group.name, group.gid);
  });
  if (!positional) {
    for (const name of named) {
      const id = groupIdByName(name, nss);
      if (id !== null) byName.set(name, id);
    }
  }
  // A gid without a name still counts for permissions; name it after the gid so the jail resolves it.
  const groups = [...new Set(gids)].map((g) => ({ gid: g, name: byGid.get(g) ?? `gid${g}` }));
  return {
    identity: { user, uid, gid, gecos, home, groups },
    groupIdOf: (name) => {
      if (!named.has(name)) throw new Error(`group ${name} was not looked up`);
      return byName.get(name) ?? null;
    },
  };
}

/** The gid of a group by name, or null when the group does not exist. */
export function groupIdByName(name: string, nss: Nss = hostNss): number | null {
  // Only the first line: one key gets one entry, and any further line is the tail of a field holding a newline.
  const group = groupEntry(nss.groupLines([name])[0] ?? '');
  return group?.name === name ? group.gid : null;
}

/** The uid of a user name, or null when there is no such user. A name of digits only is never read as a uid. */
export function uidOfUser(name: string, nss: Nss = hostNss): number | null {
  if (name === '' || /^\d+$/.test(name)) return null;
  const line = nss.passwdByName(name);
  if (line === null) return null;
  const fields = line.split(':');
  if (fields.length !== 7 || fields[0] !== name) throw new JailError(`NSS returned a malformed passwd entry for ${name}`);
  return parseId(fields[2]);
}
