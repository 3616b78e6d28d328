/*
 * libFuzzer harness for launcher/jailsh.c, run by
 * test/adversarial/launcher-fuzz.test.ts:
 *   clang -fsanitize=fuzzer,address,undefined test/adversarial/fuzz/launcher-fuzz.c
 *
 * jailsh.c is compiled in unchanged, its main() renamed jailsh_main(). Every
 * call it makes to the system (fds, signals, umask, rlimits, credentials,
 * cwd, execve, write, _exit, environ) is replaced by a model here, so one
 * process can run it millions of times: the fuzzer chooses argv, the
 * environment, the caller's uid, whether the launcher runs setuid, the state
 * of fds 0-2, a lowered file size limit and which system call fails.
 *
 * After each run the harness checks, against its own reading of the rules
 * (SECURITY.md, the comments in jailsh.c, test/launcher.test.ts), that the
 * launcher either
 *  - exec'd MAIN_PROGRAM with exactly the expected argv and environment, from
 *    a fully cleaned-up state (fds, signals, umask, core, groups, uids, gids,
 *    file size limit, cwd), and only when nothing failed; or
 *  - exited 2 or 126 with exactly the expected single line on stderr;
 * and abort()s otherwise, which libFuzzer reports as a crash. ASan and UBSan
 * catch memory errors: every argv and environment string is its own
 * allocation, exactly as long as it is.
 *
 * Input: 8 header bytes, then fields separated by NUL bytes: the first
 * h[6] fields are argv (fewer if there are fewer), the rest the environment.
 *   h[0] caller uid: < 0x80 root, 0xff 4294967294, else 1000 + h[0] - 0x80
 *   h[1] (h[1] & 3) == 3: not setuid (effective uid = caller), else euid 0
 *   h[2] 2 bits per fd 0, 1, 2: 0 open pipe, 1 closed,
 *        2 glibc's /dev/full placeholder (1:7), 3 its /dev/null one (1:3)
 *   h[3] >= 0x80: the call numbered h[3] & 31 fails (enum failure)
 *   h[4] bits 0-4: lowered limits (see LIMITS): open files, address space,
 *        data size, stack size, CPU time
 *   h[5] bit 0: RLIMIT_FSIZE lowered to 4096; bit 1: environ NULL if empty;
 *        bits 2-4: fd k (0-2), if an open pipe, is a directory instead;
 *        bits 5-7: fd k, if an open pipe, is an O_PATH handle instead
 *   h[6] number of argv fields
 *   h[7] bit k (0-2): fd k is another character device (5:0, a tty) if open;
 *        bits 3-5: 0, the launcher runs in the mount namespace of all its
 *        parents; k (1-4), a jailed session's own (made by pam_docker_jail.so),
 *        which its parents 1..k-1 share and parent k (and above) do not;
 *        5-7, no parent is outside it. The parents are pids 1001..1004, then 1.
 * close_range failing (kernels before 5.9) makes jailsh close 2^20 fds one
 * by one, which would slow every run that hits it a thousandfold; so it is
 * not an input bit: LLVMFuzzerInitialize runs that path once, fully checked.
 * Replay one input: ./launcher-fuzz FILE
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAIN_PROGRAM "/nonexistent/docker-jail-fuzz-target"
#ifndef JAILSH_C
#define JAILSH_C "../../../launcher/jailsh.c"
#endif

enum failure { F_NONE, F_OPEN, F_DUP2, F_CLOSE, F_SIGPROCMASK, F_CORE, F_SETGROUPS, F_SETRESGID,
	       F_SETRESUID, F_GETRLIMIT, F_SETRLIMIT, F_CHDIR, F_EXECVE, F_WRITE, F_NSOPEN, F_SETNS, F_COUNT };
enum fd_kind { FD_PIPE, FD_CLOSED, FD_DEV_FULL, FD_DEV_NULL_RO, FD_TTY, FD_DEV_NULL_RW,
	       FD_DIRECTORY, FD_PATH_HANDLE }; /* the last two: a way to the host's filesystem */

#define CLOSE_LIMIT (1 << 20) /* the fallback loop closes fds 3 .. 2^20 - 1 */
#define PARENTS 4 /* 1001..1004, then init */
#define DIR_FD(level) (100 + (level)) /* /proc/self (0), /proc/1001 (1), ... */
#define STAT_FD(level) (200 + (level))
#define NS_FD(level) (300 + (level))
#define HOST_NS 4026531840u
#define SESSION_NS 4026532999u

/* The simulated process: what the fuzzer set up, and what the launcher did to it. */
static struct {
	uid_t ruid, euid;
	enum failure fail;
	int close_range_fails;
	enum fd_kind fd[4]; /* 0-2, and 3: the first fd above them, closed until the launcher opens one */
	int ours[4]; /* a /dev/null the launcher opened there itself */
	int close_range_done;
	long loop_next; /* the fallback loop's next fd, when it closes them in order */
	int sig_dfl[_NSIG];
	int mask_cleared;
	mode_t umask;
	int core_zero;
	int groups_dropped, gid_root, uid_root;
	rlim_t cur[RLIM_NLIMITS], max[RLIM_NLIMITS];
	int cwd_root;
	int outside; /* the first parent outside the session's mount namespace; 0: none */
	int session_ns; /* the launcher starts in a namespace of its own (outside != 0, or no parent outside) */
	unsigned proc_open; /* bit per fd of the model's: DIR 0-5, STAT 8-13, NS 16-21 */
	int in_host_ns, setns_level;
	int critical_failed; /* a call failed that the launcher must not get past */
	const char *exec_path;
	char *exec_argv[16], *exec_env[128]; /* copies: execve's arrays live in the launcher's stack frame */
	char msg[2048];
	size_t msg_len;
	int status;
	int ended; /* 1: exec'd (the process image replaced), 2: exited */
} S;

/* The limits a caller can lower that the launcher must lift: the least root's
 * run needs, the refusal when it cannot, and the lowered values (soft, hard)
 * the fuzzer can choose, from h[5] bit 0 (file size) and h[4] bits 0-4. */
static const struct { int resource; rlim_t floor; const char *refusal; rlim_t low_cur, low_max, cur, max; } LIMITS[] = {
	{ RLIMIT_FSIZE, RLIM_INFINITY, "cannot lift the file size limit", 4096, RLIM_INFINITY, RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_NOFILE, 1024, "cannot lift the open files limit", 12, 12, 1024, 1048576 },
	{ RLIMIT_AS, RLIM_INFINITY, "cannot lift the address space limit", 100 << 20, RLIM_INFINITY, RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_DATA, RLIM_INFINITY, "cannot lift the data size limit", 64 << 20, 64 << 20, RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_STACK, 8 << 20, "cannot lift the stack size limit", 128 << 10, RLIM_INFINITY, 8 << 20, RLIM_INFINITY },
	{ RLIMIT_CPU, RLIM_INFINITY, "cannot lift the CPU time limit", 1, 1, RLIM_INFINITY, RLIM_INFINITY },
};
#define LIMIT_COUNT (sizeof LIMITS / sizeof LIMITS[0])

static int modelled_limit(int resource)
{
	for (size_t i = 0; i < LIMIT_COUNT; i++)
		if (LIMITS[i].resource == resource)
			return 1;
	return 0;
}

static jmp_buf finished;
static char **fuzz_environ;

/* A rule broken inside a system call's model (the checks after a run come later). */
__attribute__((noreturn)) static void violated(const char *what)
{
	fprintf(stderr, "launcher-fuzz: violated: %s\n", what);
	abort();
}

static int failing(enum failure f, int err)
{
	if (S.fail != f)
		return 0;
	errno = err;
	return 1;
}

static int held(int fd, int base)
{
	int level = fd - base;
	return level >= 0 && level <= PARENTS && (S.proc_open & (1u << (level + (base - 100) / 100 * 8)));
}

/* The namespace the process at level is in: the session's below `outside`, the host's from it on. */
static ino_t ns_of(int level)
{
	return S.session_ns && (S.outside == 0 || level < S.outside) ? SESSION_NS : HOST_NS;
}

static int fuzz_fstat(int fd, struct stat *st)
{
	if (fd >= 300 && fd <= 300 + PARENTS) {
		if (!held(fd, 300))
			abort();
		memset(st, 0, sizeof *st);
		st->st_dev = 4;
		st->st_ino = ns_of(fd - 300);
		return 0;
	}
	if (fd < 0 || fd > 2)
		abort(); /* jailsh only inspects fds 0-2 */
	memset(st, 0, sizeof *st);
	switch (S.fd[fd]) {
	case FD_CLOSED: errno = EBADF; return -1;
	case FD_PIPE: st->st_mode = S_IFIFO | 0600; return 0;
	case FD_DEV_FULL: st->st_mode = S_IFCHR | 0666; st->st_rdev = makedev(1, 7); return 0;
	case FD_DEV_NULL_RO: case FD_DEV_NULL_RW: st->st_mode = S_IFCHR | 0666; st->st_rdev = makedev(1, 3); return 0;
	case FD_TTY: st->st_mode = S_IFCHR | 0620; st->st_rdev = makedev(5, 0); return 0;
	case FD_DIRECTORY: st->st_mode = S_IFDIR | 0755; return 0;
	case FD_PATH_HANDLE: st->st_mode = S_IFREG | 0644; return 0; /* fstat works on O_PATH */
	}
	abort();
}

static int fuzz_fcntl(int fd, int command, ...)
{
	if (fd < 0 || fd > 2 || command != F_GETFL)
		abort(); /* jailsh only reads the flags of fds 0-2 */
	switch (S.fd[fd]) {
	case FD_CLOSED: errno = EBADF; return -1;
	case FD_DIRECTORY: return O_RDONLY | O_DIRECTORY | O_LARGEFILE;
	case FD_PATH_HANDLE: return O_PATH | O_LARGEFILE;
	case FD_DEV_FULL: return O_WRONLY;
	case FD_DEV_NULL_RO: return O_RDONLY;
	default: return O_RDWR;
	}
}

/* The kernel hands out the lowest free fd. */
static int fuzz_open(const char *path, int flags, ...)
{
	if (strncmp(path, "/proc/", 6) == 0) {
		if (flags != (O_RDONLY | O_DIRECTORY | O_CLOEXEC))
			abort(); /* a process's directory, held while it is read */
		if (!S.uid_root)
			violated("reads its parents before it is root");
		int level = strcmp(path, "/proc/self") == 0 ? 0 : atoi(path + 6) - 1000;
		char expected[32];
		snprintf(expected, sizeof expected, "/proc/%d", 1000 + level);
		if (level < 0 || level > PARENTS || (level > 0 && strcmp(path, expected) != 0))
			violated("opens a /proc directory that is not its own or a parent's");
		if (S.proc_open & (1u << level))
			abort();
		S.proc_open |= 1u << level;
		return DIR_FD(level);
	}
	if (strcmp(path, "/dev/null") != 0 || (flags & O_ACCMODE) != O_RDWR || !(flags & O_NOCTTY))
		abort(); /* jailsh opens nothing but /dev/null read-write, never as a controlling tty */
	if (failing(F_OPEN, EMFILE)) {
		S.critical_failed = 1;
		return -1;
	}
	for (int fd = 0; fd <= 3; fd++)
		if (S.fd[fd] == FD_CLOSED) {
			S.fd[fd] = FD_DEV_NULL_RW;
			S.ours[fd] = 1;
			return fd;
		}
	abort(); /* a second /dev/null above fd 2 while the first is still open: an fd leak */
}

static int fuzz_dup2(int from, int to)
{
	if (from < 0 || from > 3 || !S.ours[from] || to < 0 || to > 2 || S.close_range_done)
		abort(); /* only its own /dev/null onto fds 0-2, before closing the rest */
	if (failing(F_DUP2, EBADF)) {
		S.critical_failed = 1;
		return -1;
	}
	S.fd[to] = FD_DEV_NULL_RW;
	S.ours[to] = 1;
	return to;
}

static int fuzz_close(int fd)
{
	for (int base = 100; base <= 300; base += 100)
		if (held(fd, base)) {
			S.proc_open &= ~(1u << (fd - base + (base - 100) / 100 * 8));
			return 0;
		}
	if (S.close_range_done) { /* the fallback loop: fds above 2 only, in order */
		if (fd != S.loop_next)
			abort();
		S.loop_next++;
		if (fd == 3)
			S.fd[3] = FD_CLOSED;
		return fd == 3 && S.ours[3] ? 0 : (errno = EBADF, -1);
	}
	if (fd < 0 || fd > 3 || !S.ours[fd])
		abort(); /* it closes only a /dev/null it opened: never the caller's stdin, stdout or stderr */
	if (failing(F_CLOSE, EIO)) {
		S.critical_failed = 1;
		return -1;
	}
	S.fd[fd] = FD_CLOSED;
	S.ours[fd] = 0;
	return 0;
}

static long fuzz_syscall(long number, ...)
{
	va_list ap;
	va_start(ap, number);
	unsigned first = va_arg(ap, unsigned), last = va_arg(ap, unsigned), flags = va_arg(ap, unsigned);
	va_end(ap);
	if (number != SYS_close_range || first != 3 || last != ~0U || flags != 0 || S.close_range_done)
		abort();
	S.close_range_done = 1;
	S.loop_next = 3;
	if (S.close_range_fails) {
		errno = ENOSYS;
		return -1;
	}
	S.fd[3] = FD_CLOSED;
	S.loop_next = CLOSE_LIMIT;
	return 0;
}

static int fuzz_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig < 1 || sig >= _NSIG || !act || old)
		abort();
	if (sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33) { /* the kernel's and glibc's refusals */
		errno = EINVAL;
		return -1;
	}
	S.sig_dfl[sig] = act->sa_handler == SIG_DFL && !(act->sa_flags & SA_SIGINFO);
	return 0;
}

static int fuzz_sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (how != SIG_SETMASK || !set || old)
		abort();
	if (failing(F_SIGPROCMASK, EINVAL)) {
		S.critical_failed = 1;
		return -1;
	}
	S.mask_cleared = sigisemptyset(set);
	return 0;
}

static mode_t fuzz_umask(mode_t mask)
{
	mode_t old = S.umask;
	S.umask = mask;
	return old;
}

static int fuzz_getrlimit(int resource, struct rlimit *limit)
{
	if (!modelled_limit(resource))
		abort();
	if (failing(F_GETRLIMIT, EFAULT))
		return -1; /* jailsh then sets the limit anyway: not critical */
	limit->rlim_cur = S.cur[resource];
	limit->rlim_max = S.max[resource];
	return 0;
}

static int fuzz_setrlimit(int resource, const struct rlimit *limit)
{
	if (resource == RLIMIT_CORE) {
		if (failing(F_CORE, EPERM)) {
			S.critical_failed = 1;
			return -1;
		}
		S.core_zero = limit->rlim_cur == 0 && limit->rlim_max == 0;
		return 0;
	}
	if (!modelled_limit(resource))
		abort();
	if (limit->rlim_cur > limit->rlim_max)
		abort(); /* EINVAL in the kernel: a launcher bug */
	if (failing(F_SETRLIMIT, EPERM)) {
		S.critical_failed = 1;
		return -1;
	}
	S.cur[resource] = limit->rlim_cur;
	S.max[resource] = limit->rlim_max;
	return 0;
}

static uid_t fuzz_getuid(void) { return S.ruid; }
static uid_t fuzz_geteuid(void) { return S.euid; }

static int fuzz_setgroups(size_t count, const gid_t *list)
{
	(void)list;
	if (failing(F_SETGROUPS, EPERM)) {
		S.critical_failed = 1;
		return -1;
	}
	S.groups_dropped = count == 0;
	return 0;
}

static int fuzz_setresgid(gid_t r, gid_t e, gid_t s)
{
	if (failing(F_SETRESGID, EPERM)) {
		S.critical_failed = 1;
		return -1;
	}
	S.gid_root = r == 0 && e == 0 && s == 0;
	return 0;
}

static int fuzz_setresuid(uid_t r, uid_t e, uid_t s)
{
	if (failing(F_SETRESUID, EPERM)) {
		S.critical_failed = 1;
		return -1;
	}
	S.uid_root = r == 0 && e == 0 && s == 0;
	return 0;
}

static int fuzz_openat(int dir, const char *name, int flags, ...)
{
	if (!held(dir, 100) || flags != (O_RDONLY | O_CLOEXEC))
		abort();
	int level = dir - 100;
	int base = strcmp(name, "stat") == 0 ? 200 : strcmp(name, "ns/mnt") == 0 ? 300 : 0;
	if (!base)
		violated("reads something of a parent's but its stat and mount namespace");
	S.proc_open |= 1u << (level + (base - 100) / 100 * 8);
	return base + level;
}

static ssize_t fuzz_read(int fd, void *buffer, size_t count)
{
	if (!held(fd, 200))
		abort();
	int level = fd - 200;
	char text[128];
	/* A name with spaces and parentheses, as a process may choose. */
	int n = snprintf(text, sizeof text, "%d (a) b (c) S %d 1 1 0 -1 4194560", level ? 1000 + level : 900,
			 level == PARENTS ? 1 : 1001 + level);
	if ((size_t)n > count)
		n = (int)count;
	memcpy(buffer, text, (size_t)n);
	return n;
}

static int fuzz_stat(const char *path, struct stat *st)
{
	if (strcmp(path, "/proc/self/ns/mnt") != 0)
		abort(); /* the only path jailsh stats */
	if (failing(F_NSOPEN, EACCES)) {
		S.critical_failed = 1;
		return -1;
	}
	memset(st, 0, sizeof *st);
	st->st_dev = 4;
	st->st_ino = S.in_host_ns ? HOST_NS : ns_of(0);
	return 0;
}

static int fuzz_setns(int fd, int type)
{
	if (!held(fd, 300) || type != CLONE_NEWNS)
		abort();
	if (ns_of(fd - 300) != HOST_NS || S.in_host_ns)
		violated("enters a mount namespace other than the nearest one outside the session's");
	if (!S.uid_root)
		violated("changes mount namespace before it is root");
	if (failing(F_SETNS, EPERM)) {
		S.critical_failed = 1;
		return -1;
	}
	S.in_host_ns = 1;
	S.setns_level = fd - 300;
	return 0;
}

static int fuzz_chdir(const char *path)
{
	if (failing(F_CHDIR, ENOENT)) {
		S.critical_failed = 1;
		return -1;
	}
	S.cwd_root = strcmp(path, "/") == 0;
	return 0;
}

/* A successful execve replaces the process: the run ends here. */
static int fuzz_execve(const char *path, char *const argv[], char *const envp[])
{
	if (S.exec_path)
		abort();
	S.exec_path = path;
	for (size_t i = 0; (S.exec_argv[i] = argv[i]); i++)
		if (i + 1 == sizeof S.exec_argv / sizeof S.exec_argv[0])
			abort();
	for (size_t i = 0; (S.exec_env[i] = envp[i]); i++)
		if (i + 1 == sizeof S.exec_env / sizeof S.exec_env[0])
			abort(); /* at most PATH, DOCKER_JAIL_UID and 64 variables */
	if (failing(F_EXECVE, ENOENT))
		return -1;
	S.ended = 1;
	longjmp(finished, 1);
}

static ssize_t fuzz_write(int fd, const void *buffer, size_t count)
{
	if (fd != 2)
		abort(); /* jailsh writes to stderr only */
	if (failing(F_WRITE, EIO))
		return -1;
	if (count > sizeof S.msg - S.msg_len)
		abort();
	memcpy(S.msg + S.msg_len, buffer, count);
	S.msg_len += count;
	return (ssize_t)count;
}

__attribute__((noreturn)) static void fuzz_exit(int status)
{
	S.status = status;
	S.ended = 2;
	longjmp(finished, 1);
}

/* jailsh.c, unchanged, its system calls routed to the model above. */
#define main jailsh_main
#define environ fuzz_environ
#define fstat(fd, st) fuzz_fstat(fd, st)
#define fcntl(...) fuzz_fcntl(__VA_ARGS__)
#define open(...) fuzz_open(__VA_ARGS__)
#define dup2(from, to) fuzz_dup2(from, to)
#define close(fd) fuzz_close(fd)
#define syscall(...) fuzz_syscall(__VA_ARGS__)
#define sigaction(sig, act, old) fuzz_sigaction(sig, act, old)
#define sigprocmask(how, set, old) fuzz_sigprocmask(how, set, old)
#define umask(mask) fuzz_umask(mask)
#define getrlimit(resource, limit) fuzz_getrlimit(resource, limit)
#define setrlimit(resource, limit) fuzz_setrlimit(resource, limit)
#define getuid() fuzz_getuid()
#define geteuid() fuzz_geteuid()
#define setgroups(count, list) fuzz_setgroups(count, list)
#define setresgid(r, e, s) fuzz_setresgid(r, e, s)
#define setresuid(r, e, s) fuzz_setresuid(r, e, s)
#define chdir(path) fuzz_chdir(path)
#define stat(path, st) fuzz_stat(path, st)
#define openat(...) fuzz_openat(__VA_ARGS__)
#define read(fd, buffer, count) fuzz_read(fd, buffer, count)
#define setns(fd, type) fuzz_setns(fd, type)
#define execve(path, argv, envp) fuzz_execve(path, argv, envp)
#define write(fd, buffer, count) fuzz_write(fd, buffer, count)
#define _exit(status) fuzz_exit(status)
/* main() may end without a return (C returns 0 from it); renamed, that would be a warning. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wreturn-type"
#include JAILSH_C
#pragma clang diagnostic pop
#undef main
#undef environ
#undef fstat
#undef fcntl
#undef open
#undef dup2
#undef close
#undef syscall
#undef sigaction
#undef sigprocmask
#undef umask
#undef getrlimit
#undef setrlimit
#undef getuid
#undef geteuid
#undef setgroups
#undef setresgid
#undef setresuid
#undef chdir
#undef stat
#undef openat
#undef read
#undef setns
#undef execve
#undef write
#undef _exit

/* ---- The expected behaviour, written from the rules, not from jailsh.c ---- */

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "launcher-fuzz: violated: %s\n", what);
		abort();
	}
}

static int all_in(const char *s, size_t len, const char *allowed)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' || !strchr(allowed, s[i]))
			return 0;
	return 1;
}

#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"

/* Whether NAME=VALUE passes into the main program, by the documented rules; -1: the name is not listed. */
static int valid_entry(const char *name, size_t name_len, const char *value, int pam)
{
	size_t len = strlen(value);
#define IS(literal) (name_len == sizeof literal - 1 && memcmp(name, literal, name_len) == 0)
	if (!pam) {
		if (IS("TERM"))
			return len >= 1 && len <= 64 && all_in(value, len, UPPER LOWER DIGITS "._+-");
		if (IS("LANG") || (name_len >= 4 && name_len <= 23 && memcmp(name, "LC_", 3) == 0 && all_in(name + 3, name_len - 3, UPPER "_")))
			return len >= 1 && len <= 64 && all_in(value, len, UPPER LOWER DIGITS "._@-");
		if (IS("SSH_CONNECTION"))
			return len >= 1 && len <= 200 && all_in(value, len, DIGITS "ABCDEFabcdef.: ");
		if (IS("SSH_ORIGINAL_COMMAND"))
			return len <= 65536; /* data: any bytes, even none */
		return -1;
	}
	if (IS("PAM_USER")) {
		size_t body = len > 1 && value[len - 1] == '$' ? len - 1 : len; /* a machine account */
		return body >= 1 && len <= 256 && all_in(value, body, UPPER LOWER DIGITS "._@-");
	}
	if (IS("PAM_TYPE"))
		return len >= 1 && len <= 32 && all_in(value, len, LOWER "_");
	if (IS("PAM_SERVICE"))
		return len >= 1 && len <= 64 && all_in(value, len, UPPER LOWER DIGITS "._-");
	if (IS("PAM_TTY"))
		return len >= 1 && len <= 64 && all_in(value, len, UPPER LOWER DIGITS "/._:-");
	if (IS("PAM_RHOST"))
		return len >= 1 && len <= 255 && all_in(value, len, UPPER LOWER DIGITS ".:_-");
	return -1;
#undef IS
}

/*
 * The environment the main program must get: PATH, the caller's uid (shell
 * mode only), then each listed name's deciding occurrence if its value is
 * valid. The deciding one is the first (shell: what getenv sees) or the
 * last (PAM: pam_exec appends after ~/.pam_environment); at most 64 listed
 * names are considered.
 */
static void check_env(char **env, size_t count, int pam, char *const *got)
{
	static const char *names[64];
	static size_t lens[64];
	size_t seen = 0, n = 0;
	char uid_entry[64];
	snprintf(uid_entry, sizeof uid_entry, "DOCKER_JAIL_UID=%u", (unsigned)S.ruid);
	check(got[n] && strcmp(got[n], "PATH=/usr/sbin:/usr/bin:/sbin:/bin") == 0, "env starts with the fixed PATH");
	n++;
	if (!pam) {
		check(got[n] && strcmp(got[n], uid_entry) == 0, "env carries DOCKER_JAIL_UID of the real uid");
		n++;
	}
	for (size_t i = 0; i < count; i++) {
		char *entry = env[pam ? count - 1 - i : i];
		const char *eq = strchr(entry, '=');
		if (!eq)
			continue;
		size_t len = (size_t)(eq - entry);
		int valid = valid_entry(entry, len, eq + 1, pam);
		if (valid < 0)
			continue;
		int again = 0;
		for (size_t k = 0; k < seen; k++)
			again |= lens[k] == len && memcmp(names[k], entry, len) == 0;
		if (again || seen == 64)
			continue;
		names[seen] = entry;
		lens[seen++] = len;
		if (valid) {
			check(got[n] == entry, "env keeps the deciding occurrence of a listed name, in order, itself");
			n++;
		}
	}
	check(got[n] == NULL, "env has nothing more");
}

static void check_exec(char **env, size_t env_count, int pam, const char *command, int login)
{
	check(S.exec_path && strcmp(S.exec_path, MAIN_PROGRAM) == 0, "execs MAIN_PROGRAM");
	check(!S.critical_failed, "no exec after a failed clean-up step (fail closed)");
	check(S.euid == 0, "no exec unless installed setuid root");
	check(!pam || S.ruid == 0, "the PAM hook runs for root only");
	for (int fd = 0; fd <= 2; fd++)
		check(S.fd[fd] == FD_PIPE || S.fd[fd] == FD_TTY || S.fd[fd] == FD_DEV_NULL_RW, "fds 0-2 open and usable");
	check(S.fd[3] == FD_CLOSED, "the /dev/null fd above 2 is closed");
	check(S.close_range_done && S.loop_next >= CLOSE_LIMIT, "every fd above 2 closed");
	for (int sig = 1; sig < _NSIG; sig++)
		check(S.sig_dfl[sig] || sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33, "every signal back to its default");
	check(S.mask_cleared, "signal mask empty");
	check(S.umask == 022, "umask 022");
	check(S.core_zero, "core dumps off");
	check(S.groups_dropped && S.gid_root && S.uid_root, "fully root: no groups, gid 0, uid 0");
	for (size_t i = 0; i < LIMIT_COUNT; i++)
		check(S.cur[LIMITS[i].resource] >= LIMITS[i].floor, "every limit lifted to its floor");
	check(S.cwd_root, "cwd /");
	check(!S.session_ns || S.outside == 0 || (S.in_host_ns && S.setns_level == S.outside),
	      "in the mount namespace of its nearest parent outside the session's");
	check(S.outside != 0 || !S.in_host_ns, "stays where all its parents are");
	check(S.proc_open == 0, "every /proc file it opened is closed");
	check(S.msg_len == 0 || S.fail == F_EXECVE, "nothing on stderr before the exec");
	char *const *a = S.exec_argv;
	if (pam) {
		check(a[0] && !strcmp(a[0], "docker-jail") && a[1] && !strcmp(a[1], "pam-hook") && !a[2], "argv docker-jail pam-hook");
	} else {
		check(a[0] && !strcmp(a[0], "docker-jail") && a[1] && !strcmp(a[1], "shell"), "argv docker-jail shell");
		check(a[2] && !strcmp(a[2], login ? "--login" : "--no-login"), "argv --login for -jailsh only");
		check(a[3] && !strcmp(a[3], "--"), "argv -- before the command");
		if (command)
			check(a[4] && !strcmp(a[4], "-c") && a[5] == command && !a[6], "argv -c and the command itself");
		else
			check(!a[4], "argv ends after --");
	}
	check_env(env, env_count, pam, S.exec_env);
}

/* An exit with `status` and "jailsh: WHAT[: strerror(err)]" on stderr; no message when WHAT is empty. */
static void expect_exit(int status, const char *what, int err)
{
	char message[600];
	snprintf(message, sizeof message, "%s%s%s", what, err ? ": " : "", err ? strerror(err) : "");
	check(!S.exec_path || S.fail == F_EXECVE, "no exec on a refusal");
	if (S.status != status) {
		fprintf(stderr, "launcher-fuzz: exit %d, expected %d (%s)\n", S.status, status, message);
		abort();
	}
	char want[600];
	if (S.fail == F_WRITE || !message[0])
		want[0] = '\0'; /* nowhere to report */
	else
		snprintf(want, sizeof want, "jailsh: %s\n", message);
	if (S.msg_len != strlen(want) || memcmp(S.msg, want, S.msg_len) != 0) {
		fprintf(stderr, "launcher-fuzz: stderr \"%.*s\", expected \"%s\"\n", (int)S.msg_len, S.msg, want);
		abort();
	}
}

/* Which step must stop the launcher, in the order the launcher's comments give: clean up, check argv, become root, exec. */
static void check_outcome(int ended, int argc, char **argv, char **env, size_t env_count, const enum fd_kind initial[3], unsigned lowered)
{
	/* fds 0-2: a closed one or a glibc placeholder gets /dev/null read-write, opened on the lowest free fd. */
	int free_fd[3], needs_open = 0, needs_dup = 0;
	for (int fd = 0; fd <= 2; fd++)
		free_fd[fd] = initial[fd] == FD_CLOSED;
	for (int fd = 0; fd <= 2; fd++) {
		if (initial[fd] == FD_PIPE || initial[fd] == FD_TTY || initial[fd] == FD_DIRECTORY ||
		    initial[fd] == FD_PATH_HANDLE)
			continue; /* open: left in place */
		needs_open = 1;
		int lowest = free_fd[0] ? 0 : free_fd[1] ? 1 : free_fd[2] ? 2 : 3;
		if (lowest == fd)
			free_fd[fd] = 0;
		else
			needs_dup = 1; /* dup2 onto fd, then close the one it got */
	}
	if ((S.fail == F_OPEN && needs_open) || ((S.fail == F_DUP2 || S.fail == F_CLOSE) && needs_dup)) {
		expect_exit(126, "", 0); /* no usable fd 2 to report on */
		return;
	}
	for (int fd = 0; fd <= 2; fd++)
		if (initial[fd] == FD_DIRECTORY || initial[fd] == FD_PATH_HANDLE) {
			expect_exit(126, "refusing a directory or O_PATH handle as standard input, output or error", 0);
			return;
		}
	if (S.fail == F_SIGPROCMASK) {
		expect_exit(126, "cannot reset the signal mask", EINVAL);
		return;
	}
	if (S.fail == F_CORE) {
		expect_exit(126, "cannot disable core dumps", EPERM);
		return;
	}
	if (argc < 1 || !argv[0][0]) {
		expect_exit(126, "refusing an empty argument list", 0);
		return;
	}
	const char *slash = strrchr(argv[0], '/');
	int pam = strcmp(slash ? slash + 1 : argv[0], "docker-jail-pam-hook") == 0;
	int login = argv[0][0] == '-';
	const char *command = !pam && argc == 3 && strcmp(argv[1], "-c") == 0 ? argv[2] : NULL;
	const char *refusal = pam && S.ruid != 0 ? "the PAM hook is run by PAM only"
			      : pam && argc != 1 ? "usage: docker-jail-pam-hook (run by pam_exec)"
			      : !pam && argc != 1 && !command ? "usage: jailsh [-c command]"
			      : S.euid != 0 ? "not installed setuid root" : NULL;
	if (refusal) {
		expect_exit(strncmp(refusal, "usage", 5) == 0 ? 2 : 126, refusal, 0);
		return;
	}
	static const struct { enum failure fail; const char *what; int err; } steps[] = {
		{ F_SETGROUPS, "cannot drop supplementary groups", EPERM },
		{ F_SETRESGID, "cannot become group root", EPERM },
		{ F_SETRESUID, "cannot become root", EPERM },
		{ F_SETRLIMIT, NULL, EPERM }, /* at the first limit that needs lifting, if any */
		{ F_NSOPEN, "cannot read the mount namespace", EACCES }, /* its own, read first */
		{ F_SETNS, "cannot enter the host's mount namespace", EPERM }, /* only when a parent is outside */
		{ F_CHDIR, "cannot change to /", ENOENT },
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const char *what = steps[i].fail == F_SETNS && (!S.session_ns || S.outside == 0) ? NULL : steps[i].what;
		for (size_t l = 0; !what && steps[i].fail == F_SETRLIMIT && l < LIMIT_COUNT; l++)
			if (lowered & (1u << l))
				what = LIMITS[l].refusal;
		if (S.fail == steps[i].fail && what) {
			expect_exit(126, what, steps[i].err);
			return;
		}
	}
	check_exec(env, env_count, pam, command, login); /* what it exec'd, or tried to, was right */
	if (S.fail == F_EXECVE) {
		check(ended == 2, "a failed execve ends in an exit");
		expect_exit(126, "cannot start " MAIN_PROGRAM, ENOENT); /* never a fallback shell */
		return;
	}
	check(ended == 1, "exec'd");
}

static int close_range_fails;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t h[8] = { 0 };
	memcpy(h, data, size < 8 ? size : 8);
	const uint8_t *rest = size > 8 ? data + 8 : data + size;
	size_t rest_len = size > 8 ? size - 8 : 0;

	memset(&S, 0, sizeof S);
	S.ruid = h[0] < 0x80 ? 0 : h[0] == 0xff ? 4294967294u : 1000u + (h[0] - 0x80u);
	S.euid = (h[1] & 3) == 3 ? S.ruid : 0;
	enum fd_kind initial[3];
	S.fd[3] = FD_CLOSED;
	for (int fd = 0; fd <= 2; fd++) {
		initial[fd] = (enum fd_kind)((h[2] >> (2 * fd)) & 3);
		if (initial[fd] == FD_PIPE && (h[7] >> fd) & 1)
			initial[fd] = FD_TTY;
		else if (initial[fd] == FD_PIPE && (h[5] >> (2 + fd)) & 1)
			initial[fd] = FD_DIRECTORY;
		else if (initial[fd] == FD_PIPE && (h[5] >> (5 + fd)) & 1)
			initial[fd] = FD_PATH_HANDLE;
		S.fd[fd] = initial[fd];
	}
	S.fail = h[3] >= 0x80 && (h[3] & 31) < F_COUNT ? (enum failure)(h[3] & 31) : F_NONE;
	int ns = (h[7] >> 3) & 7;
	S.session_ns = ns != 0;
	S.outside = ns >= 1 && ns <= PARENTS ? ns : 0;
	S.close_range_fails = close_range_fails;
	unsigned lowered = (h[5] & 1) | (unsigned)(h[4] & 31) << 1; /* bit i: LIMITS[i] lowered */
	for (size_t l = 0; l < LIMIT_COUNT; l++) {
		int low = (lowered >> l) & 1;
		S.cur[LIMITS[l].resource] = low ? LIMITS[l].low_cur : LIMITS[l].cur;
		S.max[LIMITS[l].resource] = low ? LIMITS[l].low_max : LIMITS[l].max;
	}
	S.umask = 0;

	/* Fields: each its own allocation of exactly its length, as ASan watches them. */
	size_t fields = 0;
	for (size_t i = 0; i < rest_len; i++)
		fields += rest[i] == '\0';
	fields += rest_len > 0;
	char **field = calloc(fields + 1, sizeof *field);
	size_t start = 0, k = 0;
	for (size_t i = 0; i <= rest_len && k < fields; i++) {
		if (i == rest_len || rest[i] == '\0') {
			field[k] = malloc(i - start + 1);
			memcpy(field[k], rest + start, i - start);
			field[k][i - start] = '\0';
			k++;
			start = i + 1;
		}
	}
	/* argc 0 too: Linux 5.18+ turns an empty argv into { "" }; jailsh must refuse both. */
	size_t argc = h[6] < fields ? h[6] : fields;
	size_t env_count = fields - argc;
	char **argv = calloc(argc + 1, sizeof *argv);
	char **env = calloc(env_count + 1, sizeof *env);
	memcpy(argv, field, argc * sizeof *argv);
	memcpy(env, field + argc, env_count * sizeof *env);
	fuzz_environ = env_count == 0 && (h[5] & 2) ? NULL : env;

	if (setjmp(finished) == 0) {
		jailsh_main((int)argc, argv);
		check(0, "jailsh_main returned");
	}
	check_outcome(S.ended, (int)argc, argv, env, env_count, initial, lowered);

	for (size_t i = 0; i < fields; i++)
		free(field[i]);
	free(field);
	free(argv);
	free(env);
	return 0;
}

/* The fallback for kernels without close_range, once per fuzzing run: a login, a command, the PAM hook. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const char login[] = "\x80\0\0\0\0\0\x01\0-jailsh\0TERM=xterm\0LD_PRELOAD=/x";
	static const char command[] = "\x80\0\x15\0\0\0\x03\0jailsh\0-c\0id";
	static const char hook[] = "\0\0\0\0\0\0\x01\0/usr/lib/docker-jail/docker-jail-pam-hook\0PAM_USER=jo";
	close_range_fails = 1;
	LLVMFuzzerTestOneInput((const uint8_t *)login, sizeof login - 1);
	check(S.exec_path != NULL && S.loop_next == CLOSE_LIMIT, "the fallback loop ran, and the login exec'd");
	LLVMFuzzerTestOneInput((const uint8_t *)command, sizeof command - 1);
	check(S.exec_path != NULL && S.loop_next == CLOSE_LIMIT, "the fallback loop ran, and the command exec'd");
	LLVMFuzzerTestOneInput((const uint8_t *)hook, sizeof hook - 1);
	check(S.exec_path != NULL && S.loop_next == CLOSE_LIMIT, "the fallback loop ran, and the hook exec'd");
	close_range_fails = 0;
	fprintf(stderr, "launcher-fuzz: close_range fallback checked\n");
	return 0;
}
