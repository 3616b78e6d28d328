/** What the launcher passes to shell mode, and nothing else survives there. */
const LAUNCHER_NAMES = /^(PATH|DOCKER_JAIL_UID|TERM|LANG|LC_[A-Z_]+|SSH_CONNECTION|SSH_ORIGINAL_COMMAND)$/;

/**
 * Second line of defence behind the launcher (invariant 3): libraries read the
 * environment on their own (dockerode's modem honours DOCKER_HOST and reads the
 * files under DOCKER_CERT_PATH), so before any of them runs, shell mode keeps
 * only what the launcher hands over, and every mode drops the DOCKER_* family:
 * the engine is the one named in the config.
 */
export function scrubEnvironment(env: NodeJS.ProcessEnv, shellMode: boolean): void {
  for (const name of Object.keys(env)) {
    const drop = shellMode ? !LAUNCHER_NAMES.test(name) : name.startsWith('DOCKER_');
    if (drop) delete env[name];
  }
}
