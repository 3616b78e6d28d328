import { EXEMPT_GROUP_RECORD } from '../host/paths';
import { readStateFile } from '../host/stateFiles';
import { type Finding, failed, passed, warned } from './finding';

/**
 * The two groups of [access]: the jail group must exist (jailsh is runnable
 * by it alone); the exempt group must exist, and its members are never
 * jailed (SECURITY.md invariant 5). postinst makes both on the first install
 * with Debian's `addgroup --system`, and records making the exempt group
 * (EXEMPT_GROUP_RECORD, `NAME GID`). An exempt group that was there before
 * (a site's own `admins`, say) silently exempts whoever is in it: doctor
 * names them.
 */

/** A directory's group may list thousands: the first are named, the rest counted. */
const MEMBERS_NAMED = 20;

export function judgeJailGroup(group: string, gid: number | null): Finding {
  return gid === null
    ? failed('jail group', `group ${group} does not exist`, `addgroup --system ${group}`)
    : passed('jail group', `group ${group} exists (gid ${gid})`);
}

/**
 * record: the text of EXEMPT_GROUP_RECORD, null when there is none. members:
 * who the host's database puts in the group (listed members, and local users
 * whose primary group it is).
 */
export function judgeExemptGroup(group: string, gid: number | null, record: string | null, members: string[]): Finding {
  const check = 'exempt group';
  if (gid === null) return failed(check, `group ${group} does not exist`, `addgroup --system ${group}`);
  const made = record !== null && record.trim() === `${group} ${gid}`;
  if (made) return passed(check, `group ${group} (gid ${gid}) was made by docker-jail's install; its members are never jailed`);
  if (members.length === 0) return passed(check, `group ${group} (gid ${gid}) existed before docker-jail and has no members`);
  const named =
    members.length > MEMBERS_NAMED ? `${members.slice(0, MEMBERS_NAMED).join(', ')} and ${members.length - MEMBERS_NAMED} more` : members.join(', ');
  return warned(
    check,
    `exempt group ${group} existed before docker-jail and has members ${named}: they are never jailed`,
    `deluser USER ${group} for each who must be jailed; or set exempt_group in [access] to a group of its own (addgroup --system NAME, then adduser USER NAME for each administrator)`,
  );
}

/** The record postinst left, or null (none, or unreadable: then the group is not known to be docker-jail's). */
export function readExemptGroupRecord(): string | null {
  try {
    return readStateFile(EXEMPT_GROUP_RECORD, 256);
  } catch {
    return null;
  }
}
