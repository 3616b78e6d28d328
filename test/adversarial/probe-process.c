/*
 * Run as the user on the host against a pid: reads /proc/PID/environ, lists
 * /proc/PID/fd, reads /proc/PID/mem at a mapped address, reads the cwd, root
 * and exe links, attaches with PTRACE_ATTACH and PTRACE_SEIZE, reads memory
 * with process_vm_readv, and sends signal 0. One line per attempt:
 * "NAME ok BYTES" or "NAME errno-name".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *name_of(int e)
{
	switch (e) {
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ESRCH: return "ESRCH";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	default: return strerrorname_np(e) ? strerrorname_np(e) : "E?";
	}
}

static void report(const char *what, long ok, int e)
{
	if (ok >= 0) printf("%s ok %ld\n", what, ok);
	else printf("%s %s\n", what, name_of(e));
}

static long read_file(const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY);
	if (fd < 0) return -1;
	long n = read(fd, buf, sizeof buf);
	int e = errno;
	close(fd);
	errno = e;
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 3) return 2;
	pid_t pid = atoi(argv[1]);
	unsigned long addr = strtoul(argv[2], NULL, 16); /* a mapped address, from the maps root read */
	char path[128], buf[4096];

	snprintf(path, sizeof path, "/proc/%d/environ", pid);
	long n = read_file(path);
	report("environ", n, errno);

	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	long count = -1;
	int e = errno;
	if (d) { count = 0; while (readdir(d)) count++; closedir(d); }
	report("fd-list", count, e);

	snprintf(path, sizeof path, "/proc/%d/fd/0", pid);
	n = readlink(path, buf, sizeof buf);
	report("fd-link", n, errno);

	snprintf(path, sizeof path, "/proc/%d/mem", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0) report("mem", -1, errno);
	else { n = pread(fd, buf, 16, (off_t)addr); report("mem", n, errno); close(fd); }

	for (const char *link = "cwd"; link; link = strcmp(link, "cwd") == 0 ? "root" : strcmp(link, "root") == 0 ? "exe" : NULL) {
		char what[16];
		snprintf(path, sizeof path, "/proc/%d/%s", pid, link);
		snprintf(what, sizeof what, "%s-link", link);
		n = readlink(path, buf, sizeof buf);
		report(what, n, errno);
	}

	struct iovec local = { buf, 16 }, remote = { (void *)addr, 16 };
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	report("vm-read", n, errno);

	n = ptrace(PTRACE_ATTACH, pid, 0, 0);
	report("ptrace-attach", n, errno);
	if (n == 0) { waitpid(pid, NULL, __WALL); ptrace(PTRACE_DETACH, pid, 0, 0); }

	n = ptrace(PTRACE_SEIZE, pid, 0, 0);
	report("ptrace-seize", n, errno);
	if (n == 0) ptrace(PTRACE_DETACH, pid, 0, 0);

	n = kill(pid, 0);
	report("signal", n, errno);
	return 0;
}
