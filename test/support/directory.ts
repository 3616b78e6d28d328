import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { run, sh } from './host';

/** libnss-extrausers' files: the tests' stand-in for a directory (LDAP, sssd). */
export const EXTRA = '/var/lib/extrausers';

/** The directory's group file: the user's own group and its copy of the jail group (same gid as the local one), then `extra` lines. */
export function directoryGroups(name: string, uid: number, jailedGid: string, extra = ''): string {
  return `${name}:x:${uid}:\njailed:x:${jailedGid}:${name}\n${extra}`;
}

/**
 * Makes a user that only the directory knows, login shell jailsh, listed in the
 * directory's jail group, which nsswitch asks before the local files: moving
 * EXTRA/group aside is then a group-map outage while passwd still answers.
 * `nsswitch` is the original /etc/nsswitch.conf, for the caller to keep first
 * (keepHostFile) and put back.
 * Returns the jail group's gid.
 */
export function serveDirectoryUser(name: string, uid: number, home: string, nsswitch: string): string {
  if (!run('/usr/bin/dpkg-query', ['-W', '-f=${Status}', 'libnss-extrausers']).stdout.includes('ok installed')) {
    throw new Error('libnss-extrausers is not installed (./build.sh test installs it)');
  }
  assert.equal(run('/usr/bin/getent', ['passwd', String(uid)]).status, 2, `uid ${uid} is taken`);
  const jailedGid = sh('getent group jailed | cut -d: -f3').trim();
  mkdirSync(EXTRA, { recursive: true });
  writeFileSync(`${EXTRA}/passwd`, `${name}:x:${uid}:${uid}:directory user:${home}:/usr/bin/jailsh\n`);
  writeFileSync(`${EXTRA}/shadow`, `${name}:*:19000:0:99999:7:::\n`);
  writeFileSync(`${EXTRA}/group`, directoryGroups(name, uid, jailedGid));
  writeFileSync('/etc/nsswitch.conf', nsswitch.replace(/^(passwd|shadow):(.*)$/gm, '$1:$2 extrausers').replace(/^group:(\s*)(.*)$/m, 'group:$1extrausers $2'));
  return jailedGid;
}
