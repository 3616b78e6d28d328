/*
 * Run inside a jail on its terminal: TIOCSTI pushes argv[1] into the input of
 * the terminal on fd 0, byte by byte, as if typed; TIOCLINUX asks for the
 * console's selection and for a screen dump (virtual consoles only); and the
 * host's consoles are tried by path. One line per attempt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) return 2;
	int sent = 0, e = 0;
	for (const char *p = argv[1]; *p; p++) {
		if (ioctl(0, TIOCSTI, p) == 0) sent++;
		else { e = errno; break; }
	}
	if (e) printf("tiocsti %s after %d\n", strerrorname_np(e), sent);
	else printf("tiocsti ok %d\n", sent);

	char sel[1 + 10] = { 2 }; /* TIOCL_SETSEL */
	printf("tioclinux-setsel %s\n", ioctl(0, TIOCLINUX, sel) == 0 ? "ok" : strerrorname_np(errno));
	char paste = 3; /* TIOCL_PASTESEL: the console pastes its selection as input */
	printf("tioclinux-paste %s\n", ioctl(0, TIOCLINUX, &paste) == 0 ? "ok" : strerrorname_np(errno));

	const char *consoles[] = { "/dev/tty0", "/dev/tty1", "/dev/console", "/dev/vcs", "/dev/vcsa" };
	for (unsigned i = 0; i < sizeof consoles / sizeof *consoles; i++) {
		int fd = open(consoles[i], O_RDWR | O_NOCTTY);
		printf("open %s %s\n", consoles[i], fd >= 0 ? "ok" : strerrorname_np(errno));
		if (fd >= 0) close(fd);
	}
	return 0;
}
