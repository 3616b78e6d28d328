/** What the launcher passes to shell mode and to the PAM hook, and nothing else survives there. */
const LAUNCHER_NAMES = /^(PATH|DOCKER_JAIL_UID|TERM|LANG|LC_[A-Z_]+|SSH_CONNECTION|SSH_ORIGINAL_COMMAND)$/;
const PAM_NAMES = /^(PATH|PAM_USER|PAM_TYPE|PAM_SERVICE|PAM_TTY|PAM_RHOST)$/;

/**
 * Second line of defence behind the launcher (SECURITY.md, invariant 3): before anything
 * else runs, shell mode keeps only what the launcher hands over, and every mode
 * drops the DOCKER_* family (docker-jail reads none of it; a Docker library
 * added later might honour DOCKER_HOST or DOCKER_CERT_PATH): the engine is the
 * one named in the config. The same goes for the PAM hook.
 */
export function scrubEnvironment(env: NodeJS.ProcessEnv, mode: string | undefined): void {
  const keep = mode === 'shell' ? LAUNCHER_NAMES : mode === 'pam-hook' ? PAM_NAMES : null;
  for (const name of Object.keys(env)) {
    const drop = keep !== null ? !keep.test(name) : name.startsWith('DOCKER_');
    if (drop) delete env[name];
  }
}

/** Variables from the login that the config lets into the jail; a trailing * matches a prefix. */
export function whitelistedEnv(env: NodeJS.ProcessEnv, whitelist: string[]): string[] {
  const allowed = (name: string) => whitelist.some((w) => (w.endsWith('*') ? name.startsWith(w.slice(0, -1)) : name === w));
  return Object.entries(env)
    .filter(([name, value]) => value !== undefined && allowed(name))
    .map(([name, value]) => `${name}=${value}`);
}
