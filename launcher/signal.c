/*
 * jail-signal SIGNAL CONTAINER_ID PID...: signals processes of one
 * jail, run by the main program as root (hangup, kill_on_logout, a failed
 * login). A pid read from /proc may end and be reused by a host process before
 * kill(2) reaches it; so each is pinned with a pidfd first, checked to be in
 * the container's cgroup, checked to be still alive (so what /proc said was
 * about it), and only then signalled through the pidfd (SECURITY.md,
 * invariant 10). Prints nothing; exits 0, or 2 on bad arguments.
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

/* Whether /proc/PID/cgroup has a line ending in the container's own cgroup (cgroupfs or systemd driver). */
static int in_container(pid_t pid, const char *id)
{
	char path[64], text[4096], cgroupfs[128], systemd[128];
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	snprintf(cgroupfs, sizeof cgroupfs, "/docker/%s", id);
	snprintf(systemd, sizeof systemd, "/docker-%s.scope", id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		size_t len = strlen(line);
		for (const char *end = cgroupfs; end; end = end == cgroupfs ? systemd : NULL)
			if (len >= strlen(end) && strcmp(line + len - strlen(end), end) == 0)
				return 1;
	}
	return 0;
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
	const char *id = argc > 3 ? argv[2] : "";
	if (sig < 0 || strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64) {
		fputs("usage: jail-signal SIGNAL CONTAINER_ID PID...\n", stderr);
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		long pid = number(argv[i], 4194304);
		int pidfd = pid < 0 ? -1 : pidfd_open((pid_t)pid);
		if (pidfd < 0)
			continue; /* ended already, or not a pid */
		if (in_container((pid_t)pid, id) && pidfd_signal(pidfd, 0) == 0)
			pidfd_signal(pidfd, (int)sig);
		close(pidfd);
	}
	return 0;
}
