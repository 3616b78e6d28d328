/** The validated configuration; every field is filled, from the file or the built-in defaults. */
export interface Config {
  /** The file the values came from, or null when the built-in defaults serve. */
  source: string | null;
  engine: {
    /** Absolute path of the Docker engine's unix socket. */
    socket: string;
  };
  access: {
    /** Members of this group are jailed. */
    jailGroup: string;
    /** Members of this group are never jailed (and may not use jailsh). */
    exemptGroup: string;
  };
  jail: {
    image: string;
    mode: 'per-user' | 'shared';
    /** Container name; placeholders {user} and {uid}. */
    nameTemplate: string;
    /** Hostname inside the jail; placeholders {user} and {uid}. */
    hostnameTemplate: string;
    /** Where the home appears inside the jail; placeholders {home}, {user}, {uid}. */
    homeMount: string;
    /** Docker network mode: none, bridge, or a user-defined network's name. */
    network: string;
    capDrop: string[];
    capAdd: string[];
    noNewPrivileges: boolean;
    /** 0 means no limit. */
    pidsLimit: number;
    /** Bytes; 0 means no limit. */
    memoryBytes: number;
    /** CPUs (may be fractional); 0 means no limit. */
    cpus: number;
    /** Bytes of the filesystem of its own that holds the jail's /tmp and /var/tmp; 0 leaves them in its writable layer. */
    tmpBytes: number;
  };
  session: {
    /** The shell inside the jail; /bin/sh is used when it does not exist there. */
    shell: string;
    /** Working directory inside the jail; placeholders {home}, {user}, {uid}. */
    workdir: string;
    /** Names (a trailing * matches a prefix) of variables passed from the login into the jail. */
    envWhitelist: string[];
    killOnLogout: boolean;
    /** Seconds a jail may stay idle before it is stopped; null means never. */
    idleStopSeconds: number | null;
  };
  home: {
    /** Mode of a home the PAM hook creates (no setuid, setgid or sticky bit). */
    mode: number;
    /** Umask the skeleton files are copied with. */
    umask: number;
    /** Directory whose contents a new home starts with. */
    skel: string;
    /** Directories a jailed user's home must lie strictly below, normalised (no trailing /); root acts on no other home. */
    bases: string[];
  };
  pam: {
    /** Longest a PAM session hook may delay a login, in seconds. */
    timeoutSeconds: number;
  };
  gc: {
    /** How long gc waits before removing the jail of a user who is gone or no longer jailed, in seconds. */
    graceSeconds: number;
  };
  image: {
    /** Debian suite bootstrapped into the default image. */
    suite: string;
    /** Debian mirror URL, or 'auto' for the one the host's apt is configured with. */
    mirror: string;
    packages: string[];
  };
}
