/**
 * Every fixed path of the product, in one place (OpenSSH's pathnames.h): what
 * the package installs, and where root keeps its state. The maintainer
 * scripts, which are shell, name some of them too; test/paths.test.ts checks
 * that each one they name is exported here.
 */

// What the package installs.

/** The jailed users' login shell: setuid root, runnable by the jail group only (launcher/jailsh.c). */
export const JAILSH = '/usr/bin/jailsh';

/** The package's own programs. */
export const PROGRAM_DIR = '/usr/lib/docker-jail';

/** The main program (this one, bundled), which jailsh and the PAM hook exec. */
export const MAIN_PROGRAM = `${PROGRAM_DIR}/docker-jail`;

/** The PAM session hook: a link to jailsh, which pam_exec runs as root. */
export const PAM_HOOK = `${PROGRAM_DIR}/docker-jail-pam-hook`;

/** Pins each pid with a pidfd, checks it is still the jail's, and only then signals it (launcher/signal.c). */
export const SIGNALLER = `${PROGRAM_DIR}/jail-signal`;

/** The agent on the host, bind-mounted read-only at the same path into each agent jail. */
export const AGENT_PROGRAM = `${PROGRAM_DIR}/docker-jail-agent`;

/** The attach program root becomes, as the user, to hand the session over. */
export const ATTACH_PROGRAM = `${PROGRAM_DIR}/docker-jail-attach`;

/**
 * The system call filter of every jail, shipped by the package. Root-owned,
 * like everything the privileged code reads (invariant 4).
 */
export const SECCOMP_PROFILE_PATH = '/usr/share/docker-jail/seccomp.json';

/** The configuration (a conffile): spelled in config/, which may import nothing but errors.ts, and named here too. */
export { DEFAULT_CONFIG_PATH } from '../config/load';

// `config check` and `config edit` (issue 17): the short conffile points at the full example, which
// docker-jail.ini(5) is made from; an edit is made in a private directory and installed beside the live file.

/** Every key with its default and what it does, commented out: the start of `config edit` when there is no config yet. */
export const EXAMPLE_CONFIG_PATH = '/usr/share/doc/docker-jail/examples/docker-jail.ini';

/** `config edit` copies the live config into a fresh directory made with this prefix (mkdtemp: root's, 0700). */
export const CONFIG_EDIT_DIR_PREFIX = '/tmp/docker-jail-edit-';

/** Where `config edit` looks up a bare editor name ($VISUAL, $EDITOR, editor, vi): root's usual PATH, never the caller's. */
export const EDITOR_SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

// Root's state that outlives a reboot: /var/lib/docker-jail, 0700 (made by postinst, removed by postrm purge).

export const STATE_DIR = '/var/lib/docker-jail';

/**
 * The jails' /tmp and /var/tmp: an ext4 image per uid (`shared` for the shared
 * jail), beside a file naming the user it was made for.
 */
export const SCRATCH_IMAGES = `${STATE_DIR}/scratch`;

/** When gc first found each jail (one file per container id) or /tmp image (`scratch-KEY`) without a jailed owner. */
export const ORPHANS_DIR = `${STATE_DIR}/orphaned`;

/** The login shell each user had before `enable`, so `disable` can give it back. */
export const SHELLS_DIR = `${STATE_DIR}/shells`;

/** When each user last logged in to, and out of, their jail (`list`, and gc's idle time): root-only files per uid. */
export const LAST_LOGIN_DIR = `${STATE_DIR}/last-login`;
export const LAST_LOGOUT_DIR = `${STATE_DIR}/last-logout`;

/** Every user who has logged in to the shared jail, one file per uid, so each login can write the jail's passwd whole. */
export const SHARED_USERS_DIR = `${STATE_DIR}/shared-users`;

/** Where `image build` makes its root filesystems. */
export const BUILD_ROOT = `${STATE_DIR}/build`;

/** Tallies for `metrics`: one file per counter (logins, refusals by reason), one byte per event, so its size is the count. */
export const COUNTERS_DIR = `${STATE_DIR}/counters`;

/** When gc last completed a run, and whether every jail was handled: for `metrics`. */
export const GC_LAST_RUN = `${STATE_DIR}/gc-last-run`;

// Other packages' places.

/** node_exporter's textfile collector reads *.prom here (Debian's prometheus-node-exporter makes it); `metrics` writes one. */
export const METRICS_TEXTFILE_DIR = '/var/lib/prometheus/node-exporter';
export const METRICS_FILE = `${METRICS_TEXTFILE_DIR}/docker-jail.prom`;

// Root's state for this boot only: /run/docker-jail, on a tmpfs.

export const RUN_DIR = '/run/docker-jail';

/** Where root keeps the nosuid,nodev view of each jailed home. */
export const STAGING_ROOT = `${RUN_DIR}/homes`;

/** Where each home is bound and remounted nosuid,nodev before it goes to its staging path (a private mount). */
export const PREPARE_ROOT = `${RUN_DIR}/prepare`;

/**
 * The staging of the one jail of shared mode: a shared mount that the jail
 * binds with slave propagation, so the home of a user who logs in later
 * appears in the running jail.
 */
export const SHARED_ROOT = `${RUN_DIR}/shared`;

/** Where the scratch images are mounted; the next login after a reboot mounts them again. */
export const SCRATCH_MOUNTS = `${RUN_DIR}/scratch`;

/** Host locks held while a login prepares a jail. */
export const LOCK_DIR = `${RUN_DIR}/locks`;

/** The archive each jail's /etc/passwd and /etc/group were last written from (a file per container id). */
export const IDENTITY_CACHE = `${RUN_DIR}/identity`;

/** Root-only: what the last slow path learned about each uid's agent, so a warm login needs no engine request. */
export const AGENT_STATE_DIR = `${RUN_DIR}/agents`;

/** What a running session leaves for the PAM hook's close_session: one root-only file per session. */
export const SESSIONS_DIR = `${RUN_DIR}/sessions`;

/**
 * What the PAM hook learnt of each PAM session at its open (service, remote host, PAM tty), one root-only file
 * per PAM session's process, so the login under it can name them in its audit records; removed at its close.
 */
export const PAM_SESSIONS_DIR = `${RUN_DIR}/pam-sessions`;

// The agent's places (session/agent.ts). Root never connects to the agent's socket, nor opens anything in
// its directory, which the user owns: only attach, running as the user, does (SECURITY.md, invariant 10).

/** The agent's directory inside the jail: its socket lives here. */
export const AGENT_DIR_IN_JAIL = '/run/docker-jail-agent';

export const AGENT_SOCKET_NAME = 'socket';

/** The agent's directory in the jail's scratch filesystem (bounded, unlike /run's tmpfs), owned by the user, 0700. */
export const AGENT_DIR_IN_SCRATCH = 'agent';

/** The agent's directory on the host, given where the jail's scratch filesystem is mounted. */
export function agentDirOf(scratchMount: string): string {
  return `${scratchMount}/${AGENT_DIR_IN_SCRATCH}`;
}

// The kernel's.

/** Where the unified (v2) cgroup hierarchy is mounted: a jail's memory.events are read below it (list, status). */
export const CGROUP_FS = '/sys/fs/cgroup';

// doctor's checks of what the package installs beside the programs (issue 17).

/** Written by postinst when it made the exempt group itself: `NAME GID`. Without it, doctor names the group's members. */
export const EXEMPT_GROUP_RECORD = `${STATE_DIR}/exempt-group-created`;

/** The gc timer's unit file, and the drop-in that keeps jailed users from a systemd user manager. */
export const GC_TIMER_UNIT = '/lib/systemd/system/docker-jail-gc.timer';
export const USER_MANAGER_DROP_IN = '/lib/systemd/system/user@.service.d/docker-jail.conf';
