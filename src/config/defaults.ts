import type { Config } from './types';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * The built-in configuration, used when /etc/docker-jail.ini is absent and for
 * every key the file leaves out. Frozen: a caller changing it would change
 * every later login. etc/examples/docker-jail.ini documents these same values (a test
 * holds the two together).
 */
export const defaultConfig: Config = deepFreeze<Config>({
  source: null,
  engine: {
    socket: '/var/run/docker.sock',
  },
  access: {
    jailGroup: 'jailed',
    exemptGroup: 'admins',
  },
  jail: {
    image: 'docker-jail/base:bookworm',
    mode: 'per-user',
    nameTemplate: 'jail-{user}',
    hostnameTemplate: '{user}-jail',
    homeMount: '{home}',
    network: 'none',
    capDrop: ['ALL'],
    capAdd: [],
    noNewPrivileges: true,
    pidsLimit: 512,
    memoryBytes: 1024 * 1024 * 1024,
    cpus: 1,
    tmpBytes: 1024 * 1024 * 1024,
  },
  session: {
    shell: '/bin/bash',
    workdir: '{home}',
    envWhitelist: ['TERM', 'LANG', 'LC_*', 'SSH_CONNECTION'],
    killOnLogout: false,
    idleStopSeconds: null,
  },
  home: {
    mode: 0o700,
    umask: 0o077,
    skel: '/etc/skel',
    bases: ['/home'],
  },
  pam: {
    timeoutSeconds: 10,
  },
  gc: {
    graceSeconds: 7 * 86400,
  },
  image: {
    suite: 'bookworm',
    mirror: 'auto',
    packages: [
      'bash',
      'coreutils',
      'less',
      'nano',
      'vim-tiny',
      'tmux',
      'screen',
      'procps',
      'openssh-sftp-server',
      'rsync',
      'git',
      'ca-certificates',
      'locales',
    ],
  },
});

/** A mutable copy of the defaults, to fill in from a file. */
export function copyOfDefaults(): Config {
  return structuredClone(defaultConfig);
}
