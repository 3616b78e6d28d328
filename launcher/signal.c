/*
 * jail-signal SIGNAL CGROUPS PID...: signals processes of one jail, run by
 * the main program as root (hangup, kill_on_logout, a failed login). CGROUPS is
 * the exact text of the jail init's /proc/PID/cgroup. A pid read from /proc may
 * end and be reused by a host process before kill(2) reaches it; so each is
 * pinned with a pidfd first, checked to be in exactly the jail's cgroups,
 * checked to be still alive (so what /proc said was about it), and only then
 * signalled through the pidfd (SECURITY.md, invariant 10). Prints nothing; exits 0, or 2 on bad arguments.
 * Build: make -C launcher OUT=../build
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/*
 * Whether /proc/PID/cgroup is exactly the jail's (the text of its init's, every
 * line): a cgroup merely named after the container is not it. Read whole, or no.
 */
static int in_jail(pid_t pid, const char *cgroups)
{
	char path[64], text[8192];
	size_t len = 0;
	ssize_t n = 1;
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (len < sizeof text - 1 && (n = read(fd, text + len, sizeof text - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n != 0) /* an error, or more than fits: not the jail's */
		return 0;
	text[len] = '\0';
	return strcmp(text, cgroups) == 0;
}

static long number(const char *text, long max)
{
	char *end;
	errno = 0;
	long value = strtol(text, &end, 10);
	return errno || end == text || *end || value < 1 || value > max ? -1 : value;
}

int main(int argc, char **argv)
{
	long sig = argc > 3 ? number(argv[1], 64) : -1;
	const char *cgroups = argc > 3 ? argv[2] : "";
	size_t len = strlen(cgroups);
	/* Lines of "N:controllers:/path", the last ending in a newline, as the kernel writes them. */
	if (sig < 0 || len < 5 || len > 8191 || cgroups[len - 1] != '\n' || strstr(cgroups, ":/") == NULL) {
		fputs("usage: jail-signal SIGNAL CGROUPS PID...\n", stderr);
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		long pid = number(argv[i], 4194304);
		int pidfd = pid < 0 ? -1 : pidfd_open((pid_t)pid);
		if (pidfd < 0)
			continue; /* ended already, or not a pid */
		if (in_jail((pid_t)pid, cgroups) && pidfd_signal(pidfd, 0) == 0)
			pidfd_signal(pidfd, (int)sig);
		close(pidfd);
	}
	return 0;
}
