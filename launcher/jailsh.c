/*
 * jailsh: the login shell of jailed users. Installed as /usr/bin/jailsh,
 * setuid root, mode 4754 root:jailed.
 *
 * sshd and su start it in a state the user controls (argv, environment, fds,
 * signals, umask, rlimits, cwd); a dynamic or Node program started that way
 * would honour LD_PRELOAD, NODE_OPTIONS or PKG_EXECPATH as root. So this
 * static program trusts nothing it inherits: it cleans up, becomes root
 * completely and execs the main program (which reads the caller from
 * DOCKER_JAIL_UID) with a fixed argv. No NSS calls, no file but /dev/null.
 * Build: make -C launcher OUT=../build [MAIN_PROGRAM=/path], which runs
 *   gcc -static -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -fstack-protector-strong
 *       -DMAIN_PROGRAM='"/usr/lib/docker-jail/docker-jail"' -o build/jailsh jailsh.c
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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

enum kind { NOT_LISTED, TERM, LOCALE, SSH_CONNECTION, SSH_COMMAND };

extern char **environ;

/* One line on fd 2, written at once so it cannot interleave with others. */
static void die(int status, const char *what, const char *detail)
{
	char line[512];
	int n = snprintf(line, sizeof line, "jailsh: %s%s%s\n", what,
			 detail ? ": " : "", detail ? detail : "");
	if (n > 0 && write(2, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1) < 0) {
		/* nowhere left to report it */
	}
	_exit(status);
}

/*
 * Every later message goes to fd 2, and the main program must not open a
 * file that lands on fd 0-2 by accident. A closed fd gets /dev/null. Running
 * setuid, glibc has already put placeholders on closed fds (/dev/full
 * write-only on 0, /dev/null read-only on 1 and 2) that make reads or writes
 * fail, so those are replaced by /dev/null read-write as well.
 */
static void open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		if (fstat(fd, &st) == 0 &&
		    !(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
		      (minor(st.st_rdev) == 3 || minor(st.st_rdev) == 7)))
			continue;
		int null = open("/dev/null", O_RDWR | O_NOCTTY);
		if (null < 0)
			_exit(126); /* no fd 2 to report on */
		if (null != fd) {
			if (dup2(null, fd) != fd)
				_exit(126);
			close(null);
		}
	}
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
	struct sigaction dfl;
	sigset_t none;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* glibc refuses its 2 internal ones */
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		die(126, "cannot reset the signal mask", strerror(errno));
}

/* s[0..len) has min..max characters, all from set; s[len] is '=' or NUL,
 * never in a set, so strspn stops there. */
static int span_ok(const char *s, size_t len, size_t min, size_t max, const char *set)
{
	return len >= min && len <= max && strspn(s, set) == len;
}

static enum kind listed(const char *name, size_t len)
{
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)
	return IS("TERM") ? TERM
	     : IS("LANG") || (len > 3 && memcmp(name, "LC_", 3) == 0 &&
			      span_ok(name + 3, len - 3, 1, 20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_")) ? LOCALE
	     : IS("SSH_CONNECTION") ? SSH_CONNECTION
	     : IS("SSH_ORIGINAL_COMMAND") ? SSH_COMMAND : NOT_LISTED;
}

static int value_ok(enum kind kind, const char *value)
{
	size_t len = strnlen(value, MAX_COMMAND + 1); /* no need to measure further */
	return kind == TERM ? span_ok(value, len, 1, 64, ALNUM "._+-")
	     : kind == LOCALE ? span_ok(value, len, 1, 64, ALNUM "._@-")
	     : kind == SSH_CONNECTION ? span_ok(value, len, 1, 200, "0123456789ABCDEFabcdef.: ")
	     : kind == SSH_COMMAND && len <= MAX_COMMAND; /* data, any bytes */
}

static char uid_var[32];
static char *new_env[MAX_NAMES + 3];

/* A brand-new environment: ours, plus whitelisted and checked entries. */
static void build_env(uid_t caller)
{
	const char *seen[MAX_NAMES];
	size_t seen_len[MAX_NAMES], nseen = 0, n = 0;

	snprintf(uid_var, sizeof uid_var, "DOCKER_JAIL_UID=%u", (unsigned)caller);
	new_env[n++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	new_env[n++] = uid_var;
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		size_t len = (size_t)(eq - *e);
		enum kind kind = listed(*e, len);
		if (kind == NOT_LISTED)
			continue;
		/* The first occurrence decides (it is what getenv sees); later
		 * ones are dropped even when the first one was invalid. */
		int again = 0;
		for (size_t i = 0; i < nseen && !again; i++)
			again = seen_len[i] == len && memcmp(seen[i], *e, len) == 0;
		if (again || nseen == MAX_NAMES)
			continue;
		seen[nseen] = *e;
		seen_len[nseen++] = len;
		if (value_ok(kind, eq + 1))
			new_env[n++] = *e;
	}
	new_env[n] = NULL;
}

int main(int argc, char **argv)
{
	uid_t caller = getuid(); /* the real uid: who called us, before any change */
	struct rlimit no_core = { 0, 0 }, no_limit = { RLIM_INFINITY, RLIM_INFINITY };

	open_std_fds();
	close_other_fds();
	reset_signals();
	umask(022);
	if (setrlimit(RLIMIT_CORE, &no_core) != 0) /* no root core dumps */
		die(126, "cannot disable core dumps", strerror(errno));

	/* Since Linux 5.18 an empty argv arrives as { "" }: refuse both. */
	if (argc < 1 || !argv[0] || !argv[0][0])
		die(126, "refusing an empty argument list", NULL);
	int login = argv[0][0] == '-'; /* sshd and su -l start "-jailsh" */
	const char *command = NULL;
	if (argc == 3 && strcmp(argv[1], "-c") == 0)
		command = argv[2];
	else if (argc != 1)
		die(2, "usage: jailsh [-c command]", NULL);

	build_env(caller);

	if (geteuid() != 0)
		die(126, "not installed setuid root", NULL);
	if (setgroups(0, NULL) != 0)
		die(126, "cannot drop supplementary groups", strerror(errno));
	if (setresgid(0, 0, 0) != 0)
		die(126, "cannot become group root", strerror(errno));
	if (setresuid(0, 0, 0) != 0)
		die(126, "cannot become root", strerror(errno));
	/* A caller-lowered file size limit would truncate files root writes;
	 * lift it, or refuse when that needs a CAP_SYS_RESOURCE we lack. */
	struct rlimit fsize;
	if ((getrlimit(RLIMIT_FSIZE, &fsize) != 0 || fsize.rlim_cur != RLIM_INFINITY) &&
	    setrlimit(RLIMIT_FSIZE, &no_limit) != 0)
		die(126, "cannot lift the file size limit", strerror(errno));
	/* The caller's cwd may be a directory the user controls. */
	if (chdir("/") != 0)
		die(126, "cannot change to /", strerror(errno));

	/* Without a command, args[4] is the terminating NULL. */
	char *args[] = { "docker-jail", "shell", login ? "--login" : "--no-login", "--",
			 command ? "-c" : NULL, (char *)command, NULL };
	execve(MAIN_PROGRAM, args, new_env);
	die(126, "cannot start " MAIN_PROGRAM, strerror(errno)); /* never a fallback shell */
}
