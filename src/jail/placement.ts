import type { Config } from '../config/types';
import { checkHomeTarget, ValueProblem } from '../config/values';
import { ExitCode, JailError } from '../errors';
import { LOCK_DIR } from '../host/paths';
import type { Identity } from '../identity/nss';

/** Values the config's templates may name: {user}, {uid}, {home}. */
export type TemplateVars = Record<'user' | 'uid' | 'home', string>;

/** Fills {user}, {uid} and {home}; the config loader has already refused any other placeholder. */
export function expandTemplate(template: string, vars: TemplateVars): string {
  return template.replace(/\{(user|uid|home)\}/g, (_, key: keyof TemplateVars) => vars[key]);
}

/**
 * A Docker container name. Characters Docker refuses (the @ of LDAP names, say)
 * become _ and their UTF-8 bytes in hex, and _ itself becomes __, so two user
 * names never share a container name (a@z is jail-a_40z, a_z is jail-a__z).
 */
export function containerNameFrom(template: string, vars: TemplateVars): string {
  const escapeChar = (char: string) => (char === '_' ? '__' : `_${Buffer.from(char).toString('hex')}`);
  return expandTemplate(template, { ...vars, user: vars.user.replace(/[^a-zA-Z0-9.-]/gu, escapeChar) });
}

/** An RFC 1123 host name label: lower case letters, digits and inner hyphens, at most 63 characters. */
export function hostnameFrom(template: string, vars: TemplateVars): string {
  const name = expandTemplate(template, { ...vars, user: vars.user.toLowerCase().replace(/[^a-z0-9-]/g, '-') })
    .toLowerCase()
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return name === '' ? 'jail' : name;
}

export { LOCK_DIR };

/** The lock a login holds while it prepares its jail: per user, or one for the shared jail. */
export function jailLockPath(config: Config, uid: number): string {
  return `${LOCK_DIR}/${config.jail.mode === 'shared' ? 'shared' : `uid-${uid}`}`;
}

/** Where the user's home goes in the jail: [jail] home_mount filled in, never over the jail's root or system. */
export function homeTargetFor(config: Config, vars: TemplateVars): string {
  const target = expandTemplate(config.jail.homeMount, vars);
  try {
    checkHomeTarget(target);
  } catch (error) {
    if (!(error instanceof ValueProblem)) throw error;
    throw new JailError(`[jail] home_mount for ${vars.user}: ${error.message}`, ExitCode.config);
  }
  return target;
}

/** Where and as what a user's jail stands: worked out once, from the config and the user, by whoever prepares it or logs in to it. */
export interface Placement {
  /** The config's template values for this user. */
  vars: TemplateVars;
  /** The container's name and host name; in shared mode, the shared jail's. */
  name: string;
  hostname: string;
  /** Where the home is mounted in the jail, and where a session starts. */
  homeTarget: string;
  workdir: string;
  /** The lock held while the jail is prepared, stopped or removed (jailLockPath). */
  lock: string;
  /** The jail's /tmp image: a uid, or `shared`. */
  scratchKey: string;
}

/** The placement of this user's jail; a [jail] home_mount that would cover the jail's system is a config error. */
export function placementOf(config: Config, identity: Identity): Placement {
  const vars = { user: identity.user, uid: String(identity.uid), home: identity.home };
  const shared = config.jail.mode === 'shared';
  // The shared jail belongs to no one user: its host name must not name the user who happened to create it.
  const jailVars = shared ? { ...vars, user: 'shared', uid: 'shared' } : vars;
  return {
    vars,
    homeTarget: homeTargetFor(config, vars),
    name: containerNameFrom(config.jail.nameTemplate, jailVars),
    hostname: hostnameFrom(config.jail.hostnameTemplate, jailVars),
    workdir: expandTemplate(config.session.workdir, vars),
    lock: jailLockPath(config, identity.uid),
    scratchKey: shared ? 'shared' : String(identity.uid),
  };
}
