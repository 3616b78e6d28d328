/*
 * Run inside a jail: connects to unix sockets in the abstract namespace (as
 * containerd's shims once listened on, CVE-2020-15257), one per argument, and
 * says for each "connected" or the errno name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		size_t len = strlen(argv[i]);
		memcpy(addr.sun_path + 1, argv[i], len);
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		int r = connect(fd, (struct sockaddr *)&addr, offsetof(struct sockaddr_un, sun_path) + 1 + len);
		printf("%s %s\n", argv[i], r == 0 ? "connected" : strerrorname_np(errno));
		close(fd);
	}
	return 0;
}
