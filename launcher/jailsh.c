/*
 * jailsh: the login shell of jailed users, /usr/bin/jailsh, setuid root, mode
 * 4754 root:jailed. Also the PAM hook, under a second name pam_exec runs as
 * root: docker-jail-pam-hook, a symlink to it.
 * sshd, su and pam_exec start it in a state the user controls (argv, fds,
 * signals, umask, rlimits, cwd, the environment, ~/.pam_environment too); a
 * dynamic or Node program started that way would honour LD_PRELOAD,
 * NODE_OPTIONS or PKG_EXECPATH as root. So this static program trusts nothing
 * it inherits: it cleans up, becomes root completely and execs the main
 * program with a fixed argv and a new environment (the caller's uid, or for
 * PAM only checked PAM_* variables), in the host's mount namespace. No NSS
 * calls, no file but /dev/null and its parents' /proc entries.
 * Build: make -C launcher OUT=../build [MAIN_PROGRAM=/path].
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef MAIN_PROGRAM
#define MAIN_PROGRAM "/usr/lib/docker-jail/docker-jail"
#endif

#define MAX_NAMES 64 /* whitelisted names considered, kept or dropped */
#define MAX_COMMAND 65536
#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

enum kind { NOT_LISTED, TERM, LOCALE, SSH_CONNECTION, SSH_COMMAND, /* shell mode */
	    PAM_USER, PAM_TYPE, PAM_SERVICE, PAM_TTY, PAM_RHOST, KINDS }; /* PAM mode */

/* Name, longest value and allowed bytes (NULL: any, even none) per kind. */
static const struct { const char *name; size_t max; const char *set; } rule[KINDS] = {
	[TERM] = { "TERM", 64, ALNUM "._+-" },
	[LOCALE] = { "LANG", 64, ALNUM "._@-" }, /* and LC_* */
	[SSH_CONNECTION] = { "SSH_CONNECTION", 200, "0123456789ABCDEFabcdef.: " },
	[SSH_COMMAND] = { "SSH_ORIGINAL_COMMAND", MAX_COMMAND, NULL }, /* data */
	[PAM_USER] = { "PAM_USER", 256, ALNUM "._@-" }, /* and a final '$' */
	[PAM_TYPE] = { "PAM_TYPE", 32, "abcdefghijklmnopqrstuvwxyz_" },
	[PAM_SERVICE] = { "PAM_SERVICE", 64, ALNUM "._-" },
	[PAM_TTY] = { "PAM_TTY", 64, ALNUM "/._:-" },
	[PAM_RHOST] = { "PAM_RHOST", 255, ALNUM ".:_-" }, /* host, IPv4, IPv6 */
};

/* The least root's run gets of each limit a caller can lower (RLIM_INFINITY
 * is the largest value), and the refusal when it cannot be lifted. */
static const struct { int resource; rlim_t floor; const char *refusal; } floors[] = {
	{ RLIMIT_FSIZE, RLIM_INFINITY, "cannot lift the file size limit" },
	{ RLIMIT_NOFILE, 1024, "cannot lift the open files limit" },
	{ RLIMIT_AS, RLIM_INFINITY, "cannot lift the address space limit" },
	{ RLIMIT_DATA, RLIM_INFINITY, "cannot lift the data size limit" },
	{ RLIMIT_STACK, 8 << 20, "cannot lift the stack size limit" },
	{ RLIMIT_CPU, RLIM_INFINITY, "cannot lift the CPU time limit" },
};

/* One line on fd 2, written at once so it cannot interleave with others. */
static void die(int status, const char *what, const char *detail)
{
	char line[512];
	int n = snprintf(line, sizeof line, "jailsh: %s%s%s\n", what,
			 detail ? ": " : "", detail ? detail : "");
	(void)!(n > 0 && write(2, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1) < 0); /* else: nowhere to report */
	_exit(status);
}

/* Every later message goes to fd 2, and the main program must not open a
 * file that lands on fd 0-2 by accident. A closed fd gets /dev/null. Running
 * setuid, glibc has already put placeholders on closed fds (/dev/full
 * write-only on 0, /dev/null read-only on 1 and 2) that make reads or writes
 * fail, so those are replaced by /dev/null read-write as well. */
static void open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		if (fstat(fd, &st) == 0 &&
		    !(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
		      (minor(st.st_rdev) == 3 || minor(st.st_rdev) == 7)))
			continue;
		int null = open("/dev/null", O_RDWR | O_NOCTTY);
		if (null < 0 || (null != fd && (dup2(null, fd) != fd || close(null) != 0)))
			_exit(126); /* no fd 2 to report on */
	}
}

/* A directory or O_PATH handle as fd 0-2 would hand the session the host's
 * files through /proc/self/fd/N/: refused, not replaced (fcntl's -1 too). */
static void refuse_directories(void)
{
	struct stat st;
	for (int fd = 0; fd <= 2; fd++)
		if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode) || (fcntl(fd, F_GETFL) & O_PATH))
			die(126, "refusing a directory or O_PATH handle as standard input, output or error", NULL);
}

/* An inherited fd (a socket, a directory, /etc/shadow opened by someone
 * else) must never reach the root program. */
static void close_other_fds(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	/* Kernels before 5.9. RLIMIT_NOFILE may have been lowered after a high
	 * fd was opened, so close up to the default fs.nr_open, not the limit. */
	for (int fd = 3; fd < (1 << 20); fd++)
		close(fd);
}

/* Ignored signals (SIGHUP, SIGPIPE...) and the signal mask survive exec;
 * the main program must see a hangup when the client goes away. */
static void reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < _NSIG; sig++) /* fails, harmlessly, for SIGKILL, */
		sigaction(sig, &dfl, NULL); /* SIGSTOP and glibc's 2 internal ones */
	if (sigprocmask(SIG_SETMASK, &dfl.sa_mask, NULL) != 0)
		die(126, "cannot reset the signal mask", strerror(errno));
}

/* The parent pid of the process whose /proc directory is open as dir, or -1. */
static pid_t parent_of(int dir)
{
	char stat[512];
	int fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, stat, sizeof stat - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	stat[n] = '\0';
	const char *after = strrchr(stat, ')'); /* the name may hold anything but ends at the last ')' */
	int ppid;
	return after && sscanf(after, ") %*c %d", &ppid) == 1 ? ppid : -1;
}

/* A jailed login's session runs in a mount namespace of its own, in which
 * pam_docker_jail.so hid the home from sshd's programs. Root's work (the
 * home, mounts the engine must see) belongs where the session came from: the
 * mount namespace of the nearest ancestor outside it (sshd's listener, su's
 * caller). Each step holds /proc/PID open and checks the child still has that
 * parent, so a pid that ends and is reused midway cannot point elsewhere. */
static void enter_host_mounts(void)
{
	struct stat own, theirs;
	int child = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (child < 0 || stat("/proc/self/ns/mnt", &own) != 0)
		die(126, "cannot read the mount namespace", strerror(errno));
	for (int depth = 0; depth < 64; depth++) {
		pid_t parent = parent_of(child);
		if (parent == 0 || parent == 1) /* the init of this pid namespace: no session's own */
			break;
		char path[32];
		snprintf(path, sizeof path, "/proc/%d", (int)parent);
		int dir = parent < 0 ? -1 : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0 || parent_of(child) != parent)
			die(126, "cannot follow the parent processes", strerror(dir < 0 ? errno : ESRCH));
		close(child);
		child = dir;
		int ns = openat(dir, "ns/mnt", O_RDONLY | O_CLOEXEC);
		if (ns < 0 || fstat(ns, &theirs) != 0)
			die(126, "cannot read a parent's mount namespace", strerror(errno));
		int outside = theirs.st_dev != own.st_dev || theirs.st_ino != own.st_ino;
		if (outside && setns(ns, CLONE_NEWNS) != 0)
			die(126, "cannot enter the host's mount namespace", strerror(errno));
		close(ns);
		if (outside)
			break;
	}
	close(child);
}

/* s[0..len) has min..max characters, all from set; s[len] is '=', NUL or
 * a final '$', never in a set, so strspn stops there. */
static int span_ok(const char *s, size_t len, size_t min, size_t max, const char *set)
{
	return len >= min && len <= max && strspn(s, set) == len;
}

static enum kind listed(const char *name, size_t len, int pam)
{
	for (enum kind k = pam ? PAM_USER : TERM; k < (pam ? KINDS : PAM_USER); k++)
		if (strlen(rule[k].name) == len && memcmp(name, rule[k].name, len) == 0)
			return k;
	return !pam && len > 3 && memcmp(name, "LC_", 3) == 0 &&
	       span_ok(name + 3, len - 3, 1, 20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") ? LOCALE : NOT_LISTED;
}

static int value_ok(enum kind kind, const char *value)
{
	size_t len = strnlen(value, MAX_COMMAND + 1); /* no need to measure further */
	size_t dollar = kind == PAM_USER && len > 1 && value[len - 1] == '$'; /* machine account */
	return rule[kind].set ? span_ok(value, len - dollar, 1, rule[kind].max - dollar, rule[kind].set)
			      : len <= rule[kind].max;
}

static char uid_var[32];
static char *new_env[MAX_NAMES + 3];

/* A brand-new environment: ours, plus whitelisted and checked entries. */
static void build_env(uid_t caller, int pam)
{
	const char *seen[MAX_NAMES];
	size_t seen_len[MAX_NAMES], nseen = 0, n = 0;

	snprintf(uid_var, sizeof uid_var, "DOCKER_JAIL_UID=%u", (unsigned)caller);
	new_env[n++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	if (!pam) /* the PAM hook acts for PAM_USER, not for a caller */
		new_env[n++] = uid_var;
	size_t count = 0;
	while (environ && environ[count])
		count++;
	/* One occurrence decides, even when invalid. Shell mode: the first (what
	 * getenv sees). PAM mode: the last, which pam_exec appends after the PAM
	 * environment that a user fills through ~/.pam_environment. */
	for (size_t k = 0; k < count; k++) {
		char *e = environ[pam ? count - 1 - k : k];
		const char *eq = strchr(e, '=');
		size_t len = eq ? (size_t)(eq - e) : 0;
		enum kind kind = eq ? listed(e, len, pam) : NOT_LISTED;
		int again = 0;
		for (size_t i = 0; i < nseen && !again; i++)
			again = seen_len[i] == len && memcmp(seen[i], e, len) == 0;
		if (kind == NOT_LISTED || again || nseen == MAX_NAMES)
			continue;
		seen[nseen] = e;
		seen_len[nseen++] = len;
		if (value_ok(kind, eq + 1))
			new_env[n++] = e;
	}
	new_env[n] = NULL;
}

int main(int argc, char **argv)
{
	uid_t caller = getuid(); /* the real uid: who called us, before any change */
	struct rlimit no_core = { 0, 0 };

	open_std_fds();
	refuse_directories();
	close_other_fds();
	reset_signals();
	umask(022);
	if (setrlimit(RLIMIT_CORE, &no_core) != 0) /* no root core dumps */
		die(126, "cannot disable core dumps", strerror(errno));

	/* Since Linux 5.18 an empty argv arrives as { "" }: refuse both. */
	if (argc < 1 || !argv[0] || !argv[0][0])
		die(126, "refusing an empty argument list", NULL);
	int login = argv[0][0] == '-'; /* sshd and su -l start "-jailsh" */
	const char *base = strrchr(argv[0], '/'), *command = NULL;
	int pam = strcmp(base ? base + 1 : argv[0], "docker-jail-pam-hook") == 0;
	if (pam && caller != 0) /* a jailed user can exec -a that name */
		die(126, "the PAM hook is run by PAM only", NULL);
	else if (pam && argc != 1)
		die(2, "usage: docker-jail-pam-hook (run by pam_exec)", NULL);
	else if (!pam && argc == 3 && strcmp(argv[1], "-c") == 0)
		command = argv[2];
	else if (!pam && argc != 1)
		die(2, "usage: jailsh [-c command]", NULL);

	build_env(caller, pam);

	if (geteuid() != 0)
		die(126, "not installed setuid root", NULL);
	if (setgroups(0, NULL) != 0)
		die(126, "cannot drop supplementary groups", strerror(errno));
	if (setresgid(0, 0, 0) != 0)
		die(126, "cannot become group root", strerror(errno));
	if (setresuid(0, 0, 0) != 0)
		die(126, "cannot become root", strerror(errno));
	/* A caller-lowered limit would make root's work fail midway (a file cut
	 * short, no fd or memory for the runtime): lift each to its floor, or
	 * refuse when that needs a CAP_SYS_RESOURCE we lack. */
	for (size_t i = 0; i < sizeof floors / sizeof floors[0]; i++) {
		struct rlimit limit = { floors[i].floor, floors[i].floor };
		if (getrlimit(floors[i].resource, &limit) == 0 && limit.rlim_cur >= floors[i].floor)
			continue;
		limit.rlim_cur = floors[i].floor;
		limit.rlim_max = limit.rlim_max > floors[i].floor ? limit.rlim_max : floors[i].floor;
		if (setrlimit(floors[i].resource, &limit) != 0)
			die(126, floors[i].refusal, strerror(errno));
	}
	enter_host_mounts();
	/* The caller's cwd may be a directory the user controls. */
	if (chdir("/") != 0)
		die(126, "cannot change to /", strerror(errno));

	/* Without a command, shell[4] is the terminating NULL. */
	char *shell[] = { "docker-jail", "shell", login ? "--login" : "--no-login", "--",
			  command ? "-c" : NULL, (char *)command, NULL };
	char *hook[] = { "docker-jail", "pam-hook", NULL };
	execve(MAIN_PROGRAM, pam ? hook : shell, new_env);
	die(126, "cannot start " MAIN_PROGRAM, strerror(errno)); /* never a fallback shell */
}
