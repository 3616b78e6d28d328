/*
 * Test support for test/launcher.test.ts, two programs from one file.
 *
 * Default build (-DPROBE_OUT='"/path"'): the probe. The test launcher execs
 * it instead of the main program; it reports what it received (credentials,
 * argv, environment, fds, signals, umask, rlimits, cwd) into PROBE_OUT, a
 * file, because its own stdout may be closed. One "key value" per line;
 * values escape '\' and bytes outside 0x20..0x7e as \xHH.
 *
 * -DEXEC_HELPER: the hostile caller. Usage:
 *   helper [-close FD | -hostile | -fsize BYTES]... PROGRAM [NAME=VALUE]... -- [ARGV]...
 * execs PROGRAM with exactly that environment (duplicates allowed) and
 * exactly that argv (possibly empty). -hostile first ignores and blocks
 * signals, sets umask 0, raises RLIMIT_CORE, lowers the soft RLIMIT_FSIZE,
 * RLIMIT_NOFILE, RLIMIT_AS, RLIMIT_DATA, RLIMIT_STACK and RLIMIT_CPU,
 * and leaves /etc/hostname open on fd 700; -fsize lowers both FSIZE limits.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef EXEC_HELPER

static void hostile(void)
{
	int ignored[] = { SIGHUP, SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGCHLD, SIGTTOU };
	sigset_t blocked;
	struct rlimit core, fsize;
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		signal(ignored[i], SIG_IGN);
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR2);
	sigaddset(&blocked, SIGALRM);
	sigaddset(&blocked, SIGHUP);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	umask(0);
	if (getrlimit(RLIMIT_CORE, &core) == 0) {
		core.rlim_cur = core.rlim_max;
		setrlimit(RLIMIT_CORE, &core);
	}
	if (getrlimit(RLIMIT_FSIZE, &fsize) == 0) {
		fsize.rlim_cur = 4096;
		setrlimit(RLIMIT_FSIZE, &fsize);
	}
	int fd = open("/etc/hostname", O_RDONLY);
	if (fd < 0 || dup2(fd, 700) != 700) {
		perror("helper: fd 700");
		exit(99);
	}
	close(fd);
	/* After fd 700 is open: soft limits too low for the runtime the launcher starts; both programs here are small and static. */
	struct { int resource; rlim_t soft; } low[] = {
		{ RLIMIT_NOFILE, 64 }, { RLIMIT_AS, 256 << 20 }, { RLIMIT_DATA, 128 << 20 },
		{ RLIMIT_STACK, 256 << 10 }, { RLIMIT_CPU, 100 },
	};
	for (size_t i = 0; i < sizeof low / sizeof low[0]; i++) {
		struct rlimit limit;
		if (getrlimit(low[i].resource, &limit) == 0) {
			limit.rlim_cur = low[i].soft;
			setrlimit(low[i].resource, &limit);
		}
	}
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-close") == 0 && i + 1 < argc)
			close(atoi(argv[++i]));
		else if (strcmp(argv[i], "-hostile") == 0)
			hostile();
		else if (strcmp(argv[i], "-fsize") == 0 && i + 1 < argc) {
			rlim_t bytes = strtoull(argv[++i], NULL, 10);
			struct rlimit fsize = { bytes, bytes };
			setrlimit(RLIMIT_FSIZE, &fsize);
		}
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "helper: no program\n");
		return 99;
	}
	const char *program = argv[i++];
	char **env = &argv[i];
	for (; i < argc && strcmp(argv[i], "--") != 0; i++)
		;
	if (i >= argc) {
		fprintf(stderr, "helper: no --\n");
		return 99;
	}
	argv[i] = NULL; /* ends env; the new argv follows */
	execve(program, &argv[i + 1], env);
	perror("helper: execve");
	return 99;
}

#else

static void put(FILE *out, const char *key, const char *value)
{
	fprintf(out, "%s ", key);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p < 0x20 || *p > 0x7e)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('\n', out);
}

static void describe_fd(int fd, char *buf, size_t size)
{
	char link[64], target[PATH_MAX];
	int flags = fcntl(fd, F_GETFL);
	if (fcntl(fd, F_GETFD) < 0 || flags < 0) {
		snprintf(buf, size, "closed");
		return;
	}
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1); /* opens no fd */
	target[n < 0 ? 0 : n] = '\0';
	int mode = flags & O_ACCMODE;
	snprintf(buf, size, "%s %s", target,
		 mode == O_RDWR ? "rw" : mode == O_WRONLY ? "w" : "r");
}

static void put_limit(FILE *out, const char *key, int resource)
{
	struct rlimit rl;
	char buf[64], cur[24], max[24];
	getrlimit(resource, &rl);
	snprintf(cur, sizeof cur, "%llu", (unsigned long long)rl.rlim_cur);
	snprintf(max, sizeof max, "%llu", (unsigned long long)rl.rlim_max);
	snprintf(buf, sizeof buf, "%s %s", rl.rlim_cur == RLIM_INFINITY ? "inf" : cur,
		 rl.rlim_max == RLIM_INFINITY ? "inf" : max);
	put(out, key, buf);
}

extern char **environ;

int main(int argc, char **argv)
{
	char std[3][PATH_MAX + 8], buf[PATH_MAX + 64];
	int open_fds[64], nopen = 0;

	/* Look at the fds before this program opens any itself. */
	for (int fd = 0; fd <= 2; fd++)
		describe_fd(fd, std[fd], sizeof std[fd]);
	for (int fd = 3; fd < 4096 && nopen < 64; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			open_fds[nopen++] = fd;

	int outfd = open(PROBE_OUT, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *out = outfd < 0 ? NULL : fdopen(outfd, "w");
	if (!out)
		return 98;

	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[256];
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	snprintf(buf, sizeof buf, "%u %u %u", ru, eu, su);
	put(out, "uid", buf);
	snprintf(buf, sizeof buf, "%u %u %u", rg, eg, sg);
	put(out, "gid", buf);
	int ngroups = getgroups(256, groups);
	buf[0] = '\0';
	for (int i = 0; i < ngroups; i++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%u", i ? " " : "", groups[i]);
	put(out, "groups", buf);
	snprintf(buf, sizeof buf, "%d", argc);
	put(out, "argc", buf);
	for (int i = 0; i < argc; i++)
		put(out, "argv", argv[i]);
	for (char **e = environ; *e; e++)
		put(out, "env", *e);
	for (int fd = 0; fd <= 2; fd++) {
		snprintf(buf, sizeof buf, "fd%d", fd);
		put(out, buf, std[fd]);
	}
	for (int i = 0; i < nopen; i++) {
		snprintf(buf, sizeof buf, "%d", open_fds[i]);
		put(out, "openfd", buf);
	}
	FILE *status = fopen("/proc/self/status", "r");
	while (status && fgets(buf, sizeof buf, status)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (strncmp(buf, "SigIgn:\t", 8) == 0)
			put(out, "sigign", buf + 8);
		if (strncmp(buf, "SigBlk:\t", 8) == 0)
			put(out, "sigblk", buf + 8);
	}
	if (status)
		fclose(status);
	mode_t mask = umask(0);
	snprintf(buf, sizeof buf, "%04o", (unsigned)mask);
	put(out, "umask", buf);
	put_limit(out, "core", RLIMIT_CORE);
	put_limit(out, "fsize", RLIMIT_FSIZE);
	put_limit(out, "nofile", RLIMIT_NOFILE);
	put_limit(out, "as", RLIMIT_AS);
	put_limit(out, "data", RLIMIT_DATA);
	put_limit(out, "stack", RLIMIT_STACK);
	put_limit(out, "cpu", RLIMIT_CPU);
	put(out, "cwd", getcwd(buf, sizeof buf) ? buf : "?");
	return fclose(out) == 0 ? 0 : 98;
}

#endif
