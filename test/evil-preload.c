/*
 * A payload of invariant 3's tests: loaded into any process (LD_PRELOAD), it
 * leaves a record "<program> uid=<uid> euid=<euid>" in EVIL/pwned-ld-<pid>
 * (EVIL is given at compile time: -DEVIL='"dir"').
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void pwn(void)
{
	char exe[512] = "?", path[128];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) exe[n] = 0;
	snprintf(path, sizeof path, EVIL "/pwned-ld-%d", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd >= 0) { dprintf(fd, "%s uid=%d euid=%d\n", exe, (int)getuid(), (int)geteuid()); close(fd); }
}
