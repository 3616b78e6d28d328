/*
 * docker-jail-attach SOCKET CGROUP PARENT OPTIONS CWD AUDIT AUDIT_TAIL -- ARGV0 [ARG...]
 * The only host process of a running session, run as the user (root dropped
 * every privilege and exec'd it; it is not setuid). It hands the caller's
 * fds 0-2, the command, CWD and its own environment (the session's, verbatim)
 * to the jail's agent on SOCKET (protocol.h), relays window changes, and
 * exits with the session's status. Closing the socket hangs the session up,
 * so every way this process ends (a signal, the login process gone) does.
 *   CGROUP   the exact text of the agent's /proc/PID/cgroup
 *   PARENT   the pid of the login process (sshd, su) that must be our parent
 *   OPTIONS  '-' or a comma-separated list of tty, kill-on-logout
 *   AUDIT    the end record's fields before the exit status; empty: no record
 *   AUDIT_TAIL  its fields after the duration (the command comes last in every record)
 * Exits: the session's status (128 + signal), 64 usage, 69 no agent or
 * refused, 77 the socket is not the jail's agent, 129 hangup, 255 broken off.
 * Build: make -C agent OUT=../build.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

#define USAGE "usage: docker-jail-attach SOCKET CGROUP PARENT OPTIONS CWD AUDIT AUDIT_TAIL -- ARGV0 [ARG...]"
#define CGROUP_MAX 65536
#define EXIT_USAGE 64
#define EXIT_UNAVAILABLE 69
#define EXIT_NOT_AGENT 77
#define EXIT_HANGUP 129
#define EXIT_BROKEN 255

static const struct { const char *name; uint32_t flag; } options[] = {
	{ "tty", REQUEST_TTY },
	{ "kill-on-logout", REQUEST_KILL_ON_LOGOUT },
};

/* The end of the session, however it comes: terminal, socket and record in one place. */
static struct {
	int conn, sigfd;
	int termios_saved;
	struct termios termios;
	const char *audit, *audit_tail;
	long start_ms;
	int send_error; /* the agent stopped reading: its refusal may be waiting to be read */
} A = { .conn = -1, .sigfd = -1 };

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

#define SYSLOG_WAIT_S 2 /* a syslog that stopped reading (/dev/log full) must not hold the logout */
static volatile sig_atomic_t final_status;

static void give_up_on_syslog(int sig)
{
	(void)sig;
	_exit(final_status); /* the terminal is restored and the socket closed already */
}

__attribute__((noreturn)) static void finish(int status, int hangup)
{
	if (A.termios_saved)
		tcsetattr(0, TCSADRAIN, &A.termios);
	if (A.conn >= 0)
		close(A.conn); /* the agent hangs the session up, if it still runs */
	if (A.audit && A.audit[0]) {
		final_status = status;
		signal(SIGALRM, give_up_on_syslog);
		alarm(SYSLOG_WAIT_S);
		openlog("docker-jail", LOG_PID, LOG_AUTHPRIV);
		syslog(LOG_INFO, "session=end %s exitStatus=%d durationMs=%ld hangup=%s%s%s", A.audit, status,
		       now_ms() - A.start_ms, hangup ? "true" : "false", A.audit_tail[0] ? " " : "", A.audit_tail);
		closelog();
	}
	exit(status);
}

/* One line on stderr, then the end. */
__attribute__((noreturn, format(printf, 2, 3))) static void fail(int status, const char *format, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, format);
	int n = vsnprintf(line, sizeof line - 1, format, ap);
	va_end(ap);
	n = n < 0 ? 0 : n < (int)sizeof line - 1 ? n : (int)sizeof line - 2;
	line[n++] = '\n';
	(void)!write(2, line, (size_t)n);
	finish(status, 0);
}

__attribute__((noreturn)) static void usage(void)
{
	fail(EXIT_USAGE, "docker-jail-attach: " USAGE);
}

/* Handles what arrived on the signalfd: a window change goes to the agent, the rest is a hangup. */
static void handle_signals(void)
{
	struct signalfd_siginfo info;
	while (read(A.sigfd, &info, sizeof info) == sizeof info) {
		if (info.ssi_signo == SIGCHLD) {
			/* Children of the program we replaced (the start record's logger): reaped, never left as zombies. */
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			continue;
		}
		if (info.ssi_signo != SIGWINCH)
			finish(EXIT_HANGUP, 1);
		char w = WINDOW_CHANGED;
		if (A.conn >= 0) /* dropped when the socket is full: the agent has one pending already */
			(void)!send(A.conn, &w, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
}

/* Waits for events on fd, signals handled meanwhile; deadline < 0: none. 0: ready, -1: timed out. */
static int wait_for(int fd, short events, long deadline)
{
	for (;;) {
		struct pollfd p[2] = { { fd, events, 0 }, { A.sigfd, POLLIN, 0 } };
		long left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			return -1;
		if (poll(p, 2, (int)(left > 1000000 ? 1000000 : left)) < 0 && errno != EINTR)
			return -1;
		if (p[1].revents)
			handle_signals();
		if (p[0].revents)
			return 0;
	}
}

static long parse_pid(const char *s)
{
	char *end;
	errno = 0;
	long pid = strtol(s, &end, 10);
	return errno || end == s || *end || pid < 1 || pid > 0x3fffffff ? -1 : pid;
}

static uint32_t parse_options(const char *s)
{
	uint32_t flags = 0;
	if (strcmp(s, "-") == 0)
		return 0;
	for (const char *p = s;; p++) {
		size_t len = strcspn(p, ",");
		size_t i = 0;
		while (i < sizeof options / sizeof options[0] &&
		       !(strlen(options[i].name) == len && strncmp(p, options[i].name, len) == 0))
			i++;
		if (i == sizeof options / sizeof options[0])
			usage();
		flags |= options[i].flag;
		p += len;
		if (*p == '\0')
			return flags;
	}
}

/* Connects within the request timeout: the agent may be busy, never forever. */
static int connect_agent(const char *path)
{
	/* The name is the user's to change: it is connected to only when it is itself a socket of theirs, never
	 * followed to another (a symlink to a host service would make us knock at it, even if we then sent nothing). */
	int name = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (name < 0 && errno != ELOOP)
		fail(EXIT_UNAVAILABLE, "docker-jail: your jail's agent does not answer (%s)", strerror(errno));
	if (name < 0 || fstat(name, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != getuid())
		fail(EXIT_NOT_AGENT, "docker-jail: the agent's socket is not your jail's agent (not a socket of yours); refused");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d", name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		fail(EXIT_UNAVAILABLE, "docker-jail: your jail's agent does not answer (%s)", strerror(errno));
	long deadline = now_ms() + REQUEST_TIMEOUT_S * 1000L;
	while (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
		if (errno == EINPROGRESS) {
			int err = 0;
			socklen_t len = sizeof err;
			if (wait_for(fd, POLLOUT, deadline) != 0)
				err = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
				err = errno;
			if (err == 0)
				break;
			errno = err;
		}
		if (errno == EAGAIN && now_ms() < deadline) { /* the backlog is full: try again shortly */
			wait_for(-1, 0, now_ms() + 50);
			continue;
		}
		fail(EXIT_UNAVAILABLE, "docker-jail: your jail's agent does not answer (%s)",
		     strerror(errno == EAGAIN ? ETIMEDOUT : errno));
	}
	close(name);
	return fd;
}

/* Whether the text of /proc/PID/cgroup is expected, give or take one final newline. */
static int cgroup_is(long pid, const char *expected)
{
	static char text[CGROUP_MAX + 1];
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/cgroup", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t len = 0;
	ssize_t n;
	while (len < CGROUP_MAX && (n = read(fd, text + len, CGROUP_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	size_t want = strlen(expected);
	if (len == want + 1 && text[want] == '\n')
		len--;
	else if (want == len + 1 && expected[len] == '\n')
		want--;
	return len == want && memcmp(text, expected, len) == 0;
}

/* The user controls the agent's directory: the socket could lead anywhere
 * (the system D-Bus, another user's service). Only the jail's own agent gets
 * a byte, let alone our fds. */
static void check_peer(int conn, const char *cgroup)
{
	struct ucred peer;
	socklen_t len = sizeof peer;
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0)
		fail(EXIT_UNAVAILABLE, "docker-jail: your jail's agent does not answer (%s)", strerror(errno));
	if (peer.uid != getuid() || peer.pid <= 0 || !cgroup_is(peer.pid, cgroup))
		fail(EXIT_NOT_AGENT, "docker-jail: the agent's socket is not your jail's agent (peer uid %u, pid %d); refused",
		     (unsigned)peer.uid, (int)peer.pid);
}

/* Blocking sends bounded by SO_SNDTIMEO. A failure stops sending: the agent
 * refuses as soon as the header is wrong, before the body, and says why. */
static void send_all(const void *data, size_t len)
{
	const char *p = data;
	while (len > 0 && !A.send_error) {
		ssize_t n = send(A.conn, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			A.send_error = n < 0 ? errno : EPIPE;
		else {
			p += n;
			len -= (size_t)n;
		}
	}
}

/* The body goes out through one buffer: no allocation however large the environment. */
static struct { char data[65536]; size_t len; } out;

static void send_string(const char *s)
{
	size_t len = strlen(s) + 1;
	if (out.len + len > sizeof out.data) {
		send_all(out.data, out.len);
		out.len = 0;
	}
	if (len > sizeof out.data)
		send_all(s, len);
	else {
		memcpy(out.data + out.len, s, len);
		out.len += len;
	}
}

static void send_request(uint32_t flags, const char *cwd, char **argv, char **env)
{
	struct request_header h = { JAIL_AGENT_MAGIC, flags, 0, 0, 0 };
	uint64_t body = strlen(cwd) + 1;
	for (; argv[h.argc]; h.argc++)
		body += strlen(argv[h.argc]) + 1;
	for (; env && env[h.envc]; h.envc++)
		body += strlen(env[h.envc]) + 1;
	if ((uint64_t)h.argc + h.envc > REQUEST_MAX_STRINGS || body > REQUEST_MAX_BODY)
		fail(EXIT_USAGE, "docker-jail: the command and its environment are too large");
	h.body_len = (uint32_t)body;

	int fds[REQUEST_FDS] = { 0, 1, 2 };
	union { struct cmsghdr align; char space[CMSG_SPACE(sizeof fds)]; } control;
	struct iovec iov = { &h, sizeof h };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	ssize_t n;
	while ((n = sendmsg(A.conn, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n < 0)
		fail(EXIT_UNAVAILABLE, "docker-jail: your jail's agent does not answer (%s)", strerror(errno));
	if ((size_t)n < sizeof h)
		send_all((char *)&h + n, sizeof h - (size_t)n);
	send_string(cwd);
	for (uint32_t i = 0; i < h.argc; i++)
		send_string(argv[i]);
	for (uint32_t i = 0; i < h.envc; i++)
		send_string(env[i]);
	send_all(out.data, out.len);
}

/* Exactly one 8-byte reply, or the session is broken off; deadline < 0: none. */
static struct reply read_reply(long deadline)
{
	struct reply r;
	size_t got = 0;
	while (got < sizeof r) {
		if (wait_for(A.conn, POLLIN, deadline) != 0)
			fail(EXIT_UNAVAILABLE, "docker-jail: your jail's agent does not answer (%s)", strerror(ETIMEDOUT));
		ssize_t n = recv(A.conn, (char *)&r + got, sizeof r - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0 && A.send_error)
			fail(EXIT_UNAVAILABLE, "docker-jail: your jail's agent does not answer (%s)", strerror(A.send_error));
		if (n <= 0)
			fail(EXIT_BROKEN, "docker-jail: the jail's agent broke off the session");
		got += (size_t)n;
	}
	return r;
}

static const char *refusal(int32_t reason)
{
	switch (reason) {
	case REFUSED_BAD_REQUEST: return "a bad request";
	case REFUSED_BAD_DESCRIPTOR: return "a standard input, output or error it does not accept";
	case REFUSED_NO_PTY: return "no terminal to be had";
	case REFUSED_CANNOT_START: return "cannot start the session";
	default: return "for no known reason";
	}
}

int main(int argc, char **argv)
{
	A.start_ms = now_ms();
	if (argc < 10 || strcmp(argv[8], "--") != 0)
		usage();
	const char *socket_path = argv[1], *cgroup = argv[2], *cwd = argv[5];
	long parent = parse_pid(argv[3]);
	uint32_t flags = parse_options(argv[4]);
	if (parent < 0 || socket_path[0] == '\0')
		usage();
	A.audit = argv[6];
	A.audit_tail = argv[7];

	/* Every signal that ends us is read from a signalfd; none interrupts work halfway. */
	sigset_t handled;
	sigemptyset(&handled);
	static const int signals[] = { SIGWINCH, SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGPIPE };
	for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
		sigaddset(&handled, signals[i]);
	sigprocmask(SIG_BLOCK, &handled, NULL);
	signal(SIGTTOU, SIG_IGN); /* restoring the terminal from the background must not stop us */
	A.sigfd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
	if (A.sigfd < 0)
		fail(EXIT_UNAVAILABLE, "docker-jail: signalfd: %s", strerror(errno));
	while (waitpid(-1, NULL, WNOHANG) > 0)
		; /* a child of the program we replaced that ended before we listened for SIGCHLD */
	/* The login process gone before we were even set up: that is a hangup already. */
	if (prctl(PR_SET_PDEATHSIG, SIGHUP) != 0 || getppid() != (pid_t)parent)
		finish(EXIT_HANGUP, 1);

	if (flags & REQUEST_TTY) {
		if (!isatty(0) || tcgetattr(0, &A.termios) != 0)
			fail(EXIT_USAGE, "docker-jail: a terminal session needs a terminal on standard input");
		A.termios_saved = 1; /* the agent makes it raw; every way out restores it */
	}

	A.conn = connect_agent(socket_path);
	check_peer(A.conn, cgroup);
	int blocking = fcntl(A.conn, F_GETFL);
	struct timeval limit = { REQUEST_TIMEOUT_S, 0 };
	if (blocking < 0 || fcntl(A.conn, F_SETFL, blocking & ~O_NONBLOCK) != 0 ||
	    setsockopt(A.conn, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) != 0)
		fail(EXIT_UNAVAILABLE, "docker-jail: your jail's agent does not answer (%s)", strerror(errno));
	extern char **environ;
	send_request(flags, cwd, argv + 9, environ);

	struct reply r = read_reply(now_ms() + REQUEST_TIMEOUT_S * 1000L);
	if (r.type == REPLY_REFUSED)
		fail(EXIT_UNAVAILABLE, "docker-jail: your jail's agent refused the session: %s", refusal(r.value));
	if (r.type != REPLY_STARTED || A.send_error)
		fail(EXIT_BROKEN, "docker-jail: the jail's agent broke off the session");
	/* Nothing from the agent is trusted but an exit status in range. */
	r = read_reply(-1);
	if (r.type == REPLY_EXITED && r.value >= 0 && r.value <= 255)
		finish(r.value, 0);
	if (r.type == REPLY_SIGNALED && r.value >= 1 && r.value < 128)
		finish(128 + r.value, 0);
	fail(EXIT_BROKEN, "docker-jail: the jail's agent broke off the session");
}
