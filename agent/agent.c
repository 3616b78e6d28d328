/*
 * docker-jail-agent SOCKET_PATH: the jail's init (PID 1), run as the jail's
 * owner, without capabilities. It listens on SOCKET_PATH for
 * docker-jail-attach (protocol.h) and forks one keeper per connection: the
 * keeper checks the request, starts the session's program with the caller's
 * own fds (or a pty relayed to them), hangs the session up when the host side
 * goes away and reports the exit status. The main loop only accepts, reaps
 * and stops: nothing a client sends is parsed by it, so nothing a client
 * sends can kill it.
 * Build: make -C agent OUT=../build. The fuzz harness
 * (test/adversarial/fuzz/agent-fuzz.c) includes this file with AGENT_NO_MAIN.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

#define SESSION_MARK "DOCKER_JAIL_SESSION="
#define RELAY_BUFFER 16384
#define ENVIRON_MAX (1 << 20) /* read of a process's environment, for kill-on-logout */
#define STOP_REAP_MS 1000 /* SIGTERM: how long the agent waits for the jail to end */
#define HANGUP_WAIT_MS 3000 /* how long a keeper waits for a hung-up session */
#define DRAIN_MS 2000 /* the most a keeper spends writing the pty's last output */

/* A request checked by parse_request: pointers into the body it was given. */
struct request {
	uint32_t flags;
	char *cwd;
	char **argv, **envp; /* into strings: argv[argc] and envp[envc] are NULL */
	const char *session_mark; /* the DOCKER_JAIL_SESSION= entry of envp, or NULL */
	char *strings[REQUEST_MAX_STRINGS + 2];
};

/* Whether the header alone can be right: checked before the body is read. */
static int header_ok(const struct request_header *h)
{
	return h->magic == JAIL_AGENT_MAGIC && (h->flags & ~REQUEST_FLAGS) == 0 && h->argc >= 1 &&
	       (uint64_t)h->argc + h->envc <= REQUEST_MAX_STRINGS && h->body_len <= REQUEST_MAX_BODY;
}

/*
 * The body, n bytes, is cwd, argv and the environment, each NUL-terminated,
 * and nothing after the last. 0: out points into body; -1: refused. Pure: no
 * system call, so the fuzzer drives it directly.
 */
int parse_request(const struct request_header *h, char *body, size_t n, struct request *out)
{
	if (!header_ok(h) || n != h->body_len)
		return -1;
	size_t count = 1 + (size_t)h->argc + h->envc, at = 0;
	out->session_mark = NULL;
	for (size_t i = 0; i < count; i++) {
		char *end = at < n ? memchr(body + at, '\0', n - at) : NULL;
		if (!end)
			return -1; /* runs past the body */
		if (i == 0)
			out->cwd = body + at;
		else /* argv[0..argc-1], the slot of its NULL, then the environment */
			out->strings[i - 1 + (i > h->argc)] = body + at;
		at = (size_t)(end - body) + 1;
	}
	if (at != n || out->cwd[0] != '/' || out->strings[0][0] != '/')
		return -1; /* trailing bytes; a relative cwd or program (no PATH search here) */
	out->flags = h->flags;
	out->argv = out->strings;
	out->argv[h->argc] = NULL;
	out->envp = out->strings + h->argc + 1;
	out->envp[h->envc] = NULL;
	for (uint32_t i = 0; i < h->envc && !out->session_mark; i++)
		if (strncmp(out->envp[i], SESSION_MARK, sizeof SESSION_MARK - 1) == 0)
			out->session_mark = out->envp[i];
	return 0;
}

#ifndef AGENT_NO_MAIN

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static int remaining_ms(long deadline)
{
	long left = deadline - now_ms();
	return left > 0 ? (int)left : 0;
}

static void reply(int conn, uint32_t type, int32_t value)
{
	struct reply r = { type, value };
	(void)!send(conn, &r, sizeof r, MSG_NOSIGNAL); /* a gone caller: nothing to tell */
}

/* ---- The session: one per keeper ---- */

static mode_t session_umask; /* the jail's own; the agent's 077 is for its socket only */

static struct {
	int conn; /* the socket to attach */
	int fd[REQUEST_FDS]; /* the caller's stdin, stdout, stderr */
	int nfds;
	int sigfd; /* SIGCHLD (the session's child), SIGTERM (the jail stops) */
	int master; /* tty: the pty's master, -1 once closed */
	int flags_saved[REQUEST_FDS];
	int saved_flags[REQUEST_FDS];
	int termios_saved;
	struct termios termios; /* the caller's terminal, restored before the status goes out */
	pid_t child;
	int status, exited; /* waitpid's status, once the child has been reaped */
} S = { .conn = -1, .sigfd = -1, .master = -1, .child = -1 };

/* Puts the caller's fds back as they came: they are shared with the host side. */
static void restore_caller(void)
{
	for (int i = REQUEST_FDS - 1; i >= 0; i--)
		if (S.flags_saved[i])
			fcntl(S.fd[i], F_SETFL, S.saved_flags[i]);
	if (S.termios_saved)
		tcsetattr(S.fd[0], TCSADRAIN, &S.termios);
}

__attribute__((noreturn)) static void refuse(int reason)
{
	restore_caller();
	reply(S.conn, REPLY_REFUSED, reason);
	_exit(1);
}

/*
 * Reads exactly len bytes, collecting every fd that comes along (at most
 * REQUEST_FDS are kept; more, or a truncated control message, set *bad).
 * 0 on success, -1 on EOF, error or the receive timeout.
 */
static int receive(int conn, void *buffer, size_t len, int *bad)
{
	char *p = buffer;
	while (len > 0) {
		union { struct cmsghdr align; char space[CMSG_SPACE(sizeof(int) * REQUEST_FDS)]; } control;
		struct iovec iov = { p, len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = control.space, .msg_controllen = sizeof control.space };
		ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		for (struct cmsghdr *c = n < 0 ? NULL : CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
				*bad = 1;
				continue;
			}
			size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < count; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
				if (S.nfds < REQUEST_FDS)
					S.fd[S.nfds++] = fd;
				else {
					close(fd);
					*bad = 1;
				}
			}
		}
		if (n > 0 && (msg.msg_flags & MSG_CTRUNC))
			*bad = 1; /* the kernel dropped fds that did not fit */
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A directory (or an O_PATH handle of one) as a session's fd would hand it
 * the host's filesystem through /proc/self/fd/N/: only real open files pass. */
static int descriptor_ok(int fd)
{
	struct stat st;
	int flags = fcntl(fd, F_GETFL);
	return fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode) && flags >= 0 && !(flags & O_PATH);
}

static void reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < _NSIG; sig++) /* fails, harmlessly, for SIGKILL, SIGSTOP, glibc's own */
		sigaction(sig, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &dfl.sa_mask, NULL);
}

/* The session's child: a session of its own on stdio (0, 1, 2), then the program. */
__attribute__((noreturn)) static void run_program(const struct request *r, const char *pty)
{
	if (setsid() < 0)
		_exit(127);
	if (pty) { /* opened without O_NOCTTY by a session leader: it becomes the controlling terminal */
		int slave = open(pty, O_RDWR);
		if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) != 0)
			_exit(127);
		for (int i = 0; i < REQUEST_FDS; i++)
			S.fd[i] = slave;
	}
	for (int i = 0; i < REQUEST_FDS; i++) /* fds 0-2 may be among the received ones: dup them up first */
		if ((S.fd[i] = fcntl(S.fd[i], F_DUPFD_CLOEXEC, REQUEST_FDS)) < 0)
			_exit(127);
	for (int i = 0; i < REQUEST_FDS; i++)
		if (dup2(S.fd[i], i) != i)
			_exit(127);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	reset_signals();
	umask(session_umask);
	if (chdir(r->cwd) != 0 && chdir("/") != 0)
		_exit(127);
	execve(r->argv[0], r->argv, r->envp);
	char line[512];
	int n = snprintf(line, sizeof line, "docker-jail-agent: cannot run %.256s: %s\n", r->argv[0], strerror(errno));
	(void)!write(2, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
	_exit(127);
}

static void start(const struct request *r, const char *pty)
{
	S.child = fork();
	if (S.child < 0)
		refuse(REFUSED_CANNOT_START);
	if (S.child == 0)
		run_program(r, pty);
}

/* Reaps the session's child if it has ended; 1 once it has. */
static int reaped(void)
{
	struct signalfd_siginfo info;
	while (read(S.sigfd, &info, sizeof info) == sizeof info)
		if (info.ssi_signo == SIGTERM)
			return -1; /* the jail stops: treated as a hangup */
	if (!S.exited && waitpid(S.child, &S.status, WNOHANG) == S.child)
		S.exited = 1;
	return S.exited;
}

/* The host side is gone: hang the session up as a terminal would, and give it a little time. */
static void hang_up(void)
{
	if (S.master >= 0)
		close(S.master); /* the kernel sends SIGHUP to the pty's session */
	S.master = -1;
	if (!S.exited) { /* the child leads its session and process group */
		kill(-S.child, SIGHUP);
		kill(-S.child, SIGCONT);
	}
	long deadline = now_ms() + HANGUP_WAIT_MS;
	while (reaped() != 1 && remaining_ms(deadline) > 0) {
		struct pollfd p = { S.sigfd, POLLIN, 0 };
		poll(&p, 1, remaining_ms(deadline) < 50 ? remaining_ms(deadline) : 50);
	}
}

/* Whether a marked process's environment holds exactly the entry mark. Streams
 * the file, so a long environment costs no memory. */
static int environ_has(int dir, const char *mark, size_t len)
{
	int fd = openat(dir, "environ", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char chunk[4096];
	size_t total = 0, pos = 0; /* pos: bytes of mark matched in the current entry; len + 1: mismatch */
	int found = 0;
	ssize_t n;
	while (!found && total < ENVIRON_MAX && (n = read(fd, chunk, sizeof chunk)) > 0) {
		total += (size_t)n;
		for (ssize_t i = 0; i < n && !found; i++) {
			if (chunk[i] == '\0') {
				found = pos == len;
				pos = 0;
			} else
				pos = pos < len && mark[pos] == chunk[i] ? pos + 1 : len + 1;
		}
	}
	close(fd);
	return found;
}

/* kill-on-logout: every process of the jail carrying the session's mark, until none is left. */
static void kill_marked(const char *mark)
{
	size_t len = strlen(mark);
	for (int pass = 0; pass < 10; pass++) {
		int killed = 0;
		DIR *proc = opendir("/proc");
		struct dirent *e;
		while (proc && (e = readdir(proc))) {
			char *end;
			long pid = strtol(e->d_name, &end, 10);
			if (*end || pid <= 1 || pid == getpid() || pid == getppid())
				continue; /* the agent and this keeper end on their own */
			int dir = openat(dirfd(proc), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dir >= 0 && environ_has(dir, mark, len) && kill((pid_t)pid, SIGKILL) == 0)
				killed++;
			if (dir >= 0)
				close(dir);
		}
		if (proc)
			closedir(proc);
		if (!killed)
			return;
	}
}

/* The status for attach; the session ends, for whatever reason, here. */
__attribute__((noreturn)) static void finish(const struct request *r)
{
	if (r->flags & REQUEST_KILL_ON_LOGOUT && r->session_mark)
		kill_marked(r->session_mark);
	restore_caller(); /* before the status: attach's shell prompt must find the terminal sane */
	if (!S.exited)
		reply(S.conn, REPLY_SIGNALED, SIGHUP); /* still running after the hangup */
	else if (WIFSIGNALED(S.status))
		reply(S.conn, REPLY_SIGNALED, WTERMSIG(S.status));
	else
		reply(S.conn, REPLY_EXITED, WEXITSTATUS(S.status));
	_exit(0);
}

/* Reads the socket after STARTED: 'W' asks for the window size; EOF or error is the hangup. */
static int conn_alive(const struct request *r)
{
	char bytes[64];
	ssize_t n = recv(S.conn, bytes, sizeof bytes, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return 0;
	if (n > 0 && (r->flags & REQUEST_TTY) && memchr(bytes, WINDOW_CHANGED, (size_t)n)) {
		struct winsize ws; /* coalesced: one copy for any number of 'W' */
		if (ioctl(S.fd[0], TIOCGWINSZ, &ws) == 0 && S.master >= 0)
			ioctl(S.master, TIOCSWINSZ, &ws);
	}
	return 1;
}

/* No tty: the program has the caller's fds. Wait for its end, or the host side's. */
__attribute__((noreturn)) static void keep_plain(const struct request *r)
{
	start(r, NULL);
	reply(S.conn, REPLY_STARTED, 0);
	for (;;) {
		int state = reaped();
		if (state == 1)
			finish(r);
		struct pollfd p[3] = { { S.conn, POLLIN, 0 }, { S.fd[1], 0, 0 }, { S.sigfd, POLLIN, 0 } };
		if (state < 0 || (poll(p, 3, -1) > 0 &&
		    ((p[0].revents && !conn_alive(r)) || (p[1].revents & (POLLERR | POLLHUP | POLLNVAL))))) {
			hang_up();
			finish(r);
		}
	}
}

/* One direction of the relay: a bounded buffer, filled only when empty. */
struct pipe_buffer {
	char data[RELAY_BUFFER];
	size_t len, off;
};

/* Non-blocking read into an empty buffer: 1 data, 0 nothing now, -1 end (EOF, EIO: hung up). */
static int fill(int fd, struct pipe_buffer *b)
{
	ssize_t n = read(fd, b->data, sizeof b->data);
	if (n > 0) {
		b->len = (size_t)n;
		b->off = 0;
		return 1;
	}
	return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

/* Non-blocking write of what the buffer holds: 0 fine (maybe partly), -1 the destination failed. */
static int flush(int fd, struct pipe_buffer *b)
{
	ssize_t n = write(fd, b->data + b->off, b->len - b->off);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	b->off += (size_t)n;
	if (b->off == b->len)
		b->len = b->off = 0;
	return 0;
}

/* The child has exited: what it wrote last is still in the master; bounded by time. */
static void drain(struct pipe_buffer *out)
{
	long deadline = now_ms() + DRAIN_MS;
	while (remaining_ms(deadline) > 0) {
		if (out->len == 0 && fill(S.master, out) != 1)
			break; /* EAGAIN: nothing left; EIO: every slave closed */
		struct pollfd p = { S.fd[1], POLLOUT, 0 };
		if (poll(&p, 1, remaining_ms(deadline)) <= 0 || flush(S.fd[1], out) < 0)
			break;
	}
	close(S.master);
	S.master = -1;
}

static void set_nonblocking(int i)
{
	int flags = fcntl(S.fd[i], F_GETFL);
	if (flags < 0)
		return;
	S.saved_flags[i] = flags;
	S.flags_saved[i] = 1;
	fcntl(S.fd[i], F_SETFL, flags | O_NONBLOCK);
}

/* A tty: a new pty like the caller's terminal, the caller's made raw, and a relay between the two. */
__attribute__((noreturn)) static void keep_tty(const struct request *r)
{
	static struct pipe_buffer in, out; /* caller -> master, master -> caller */
	char pty[128];
	struct winsize ws;
	struct termios raw;
	if (tcgetattr(S.fd[0], &S.termios) != 0)
		refuse(REFUSED_BAD_DESCRIPTOR); /* fd 0 is no terminal */
	S.master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (S.master < 0 || grantpt(S.master) != 0 || unlockpt(S.master) != 0 || ptsname_r(S.master, pty, sizeof pty) != 0)
		refuse(REFUSED_NO_PTY);
	/* The size and modes are right before the program's first byte (a full-screen program draws at once). */
	int slave = open(pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0 || tcsetattr(slave, TCSANOW, &S.termios) != 0)
		refuse(REFUSED_NO_PTY);
	if (ioctl(S.fd[0], TIOCGWINSZ, &ws) == 0)
		ioctl(slave, TIOCSWINSZ, &ws);
	raw = S.termios;
	cfmakeraw(&raw);
	S.termios_saved = 1;
	tcsetattr(S.fd[0], TCSADRAIN, &raw);
	start(r, pty);
	close(slave); /* the child's own is the only one: its end shows as EIO on the master */
	reply(S.conn, REPLY_STARTED, 0);
	set_nonblocking(0);
	set_nonblocking(1);
	fcntl(S.master, F_SETFL, fcntl(S.master, F_GETFL) | O_NONBLOCK);

	int master_open = 1; /* 0 once every slave is closed (EIO): stop polling it */
	for (;;) {
		int state = reaped();
		if (state == 1) {
			drain(&out);
			finish(r);
		}
		struct pollfd p[5] = {
			{ S.conn, POLLIN, 0 },
			{ S.fd[0], in.len ? 0 : POLLIN, 0 },
			{ S.fd[1], out.len ? POLLOUT : 0, 0 },
			/* Not polled while nothing is wanted of it: a hung-up master would spin the loop. */
			{ master_open && (!out.len || in.len) ? S.master : -1,
			  (short)((out.len ? 0 : POLLIN) | (in.len ? POLLOUT : 0)), 0 },
			{ S.sigfd, POLLIN, 0 },
		};
		int hangup = state < 0;
		if (!hangup && poll(p, 5, -1) < 0 && errno != EINTR)
			hangup = 1;
		if (!hangup && p[0].revents && !conn_alive(r))
			hangup = 1;
		if (!hangup && in.len == 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			hangup = fill(S.fd[0], &in) < 0; /* 0 bytes or EIO: the caller's terminal hung up */
		else if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL))
			hangup = 1;
		if (!hangup && (p[2].revents & (POLLERR | POLLHUP | POLLNVAL)))
			hangup = 1;
		if (!hangup && (p[2].revents & POLLOUT))
			hangup = flush(S.fd[1], &out) < 0;
		if (!hangup && master_open && (p[3].revents & POLLOUT) && flush(S.master, &in) < 0)
			in.len = in.off = 0; /* the program closed its terminal: input has nowhere to go */
		if (!hangup && master_open && (p[3].revents & (POLLIN | POLLHUP | POLLERR)) && out.len == 0 &&
		    fill(S.master, &out) < 0)
			master_open = 0; /* no slave left; the child's exit ends the session */
		if (hangup) {
			hang_up();
			finish(r);
		}
	}
}

/* One connection, in a process of its own: check everything, then keep the session to its end. */
__attribute__((noreturn)) static void keeper(int conn, const sigset_t *original)
{
	static char body[REQUEST_MAX_BODY];
	static struct request r;
	struct request_header h;
	struct ucred peer;
	socklen_t len = sizeof peer;
	struct timeval limit = { REQUEST_TIMEOUT_S, 0 };
	sigset_t kept = *original;
	int bad = 0;

	S.conn = conn;
	signal(SIGPIPE, SIG_IGN); /* a write to a gone caller must not end the keeper */
	alarm(REQUEST_TIMEOUT_S); /* the whole request, however slowly it trickles in */
	sigaddset(&kept, SIGCHLD);
	sigaddset(&kept, SIGTERM);
	sigprocmask(SIG_SETMASK, &kept, NULL);
	sigemptyset(&kept);
	sigaddset(&kept, SIGCHLD);
	sigaddset(&kept, SIGTERM);
	S.sigfd = signalfd(-1, &kept, SFD_NONBLOCK | SFD_CLOEXEC);
	if (S.sigfd < 0 || setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) != 0 ||
	    getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 || peer.uid != getuid())
		_exit(1); /* not the jail's owner: not a word */
	if (receive(conn, &h, sizeof h, &bad) != 0)
		refuse(REFUSED_BAD_REQUEST);
	if (bad || S.nfds != REQUEST_FDS)
		refuse(REFUSED_BAD_DESCRIPTOR);
	for (int i = 0; i < REQUEST_FDS; i++)
		if (!descriptor_ok(S.fd[i]))
			refuse(REFUSED_BAD_DESCRIPTOR);
	if (!header_ok(&h) || receive(conn, body, h.body_len, &bad) != 0 || bad ||
	    parse_request(&h, body, h.body_len, &r) != 0)
		refuse(bad ? REFUSED_BAD_DESCRIPTOR : REFUSED_BAD_REQUEST);
	alarm(0);
	if (r.flags & REQUEST_TTY)
		keep_tty(&r);
	keep_plain(&r);
}

/* ---- The main loop: accept, reap, stop ---- */

/* The socket, or -1: the agent stays the jail's init whatever its directory
 * holds (the user's to fill), and tries again later; logins meanwhile go
 * through docker exec. What is in the way is renamed aside, never removed. */
static int listen_on(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof addr.sun_path) {
		fprintf(stderr, "docker-jail-agent: socket path too long: %s\n", path);
		exit(1);
	}
	strcpy(addr.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (S_ISSOCK(st.st_mode)) {
			unlink(path); /* a stale socket of an earlier start */
		} else {
			char aside[sizeof addr.sun_path + 32];
			snprintf(aside, sizeof aside, "%s.aside-%ld", path, (long)time(NULL));
			rename(path, aside);
		}
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || chmod(path, 0600) != 0 ||
	    listen(fd, 128) != 0) {
		fprintf(stderr, "docker-jail-agent: cannot listen on %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		; /* orphans of every session reparent to PID 1 */
}

/* docker stop: end the jail's processes now, not after the engine's 10 s. As
 * PID 1 every process of the jail is ours to signal; run as an ordinary
 * process (tests), only our own keepers, which hang their sessions up. */
__attribute__((noreturn)) static void stop(int sigfd)
{
	kill(getpid() == 1 ? -1 : 0, SIGTERM);
	long deadline = now_ms() + STOP_REAP_MS;
	while (remaining_ms(deadline) > 0 && waitpid(-1, NULL, WNOHANG) >= 0) {
		struct pollfd p = { sigfd, POLLIN, 0 };
		struct signalfd_siginfo info;
		poll(&p, 1, remaining_ms(deadline) < 20 ? remaining_ms(deadline) : 20);
		while (read(sigfd, &info, sizeof info) == sizeof info)
			;
	}
	exit(0);
}

int main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '\0') {
		fprintf(stderr, "docker-jail-agent: usage: docker-jail-agent SOCKET_PATH\n");
		return 64;
	}
	/* Its user may not trace it, nor read its memory or fds: PID 1 stays the agent, which root's checks and
	 * close_session's sweep rely on. A session's program is traceable again once it has exec'd. */
	prctl(PR_SET_DUMPABLE, 0);
	session_umask = umask(077);
	if (getpid() != 1)
		setpgid(0, 0); /* stop() signals this group: never the caller's */
	sigset_t handled, original;
	sigemptyset(&handled);
	sigaddset(&handled, SIGCHLD);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGINT);
	sigprocmask(SIG_BLOCK, &handled, &original);
	signal(SIGPIPE, SIG_IGN);
	int sigfd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
	int listener = listen_on(argv[1]);
	if (sigfd < 0) {
		fprintf(stderr, "docker-jail-agent: signalfd: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		struct pollfd p[2] = { { listener, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
		if (poll(p, 2, listener < 0 ? 5000 : -1) < 0)
			continue;
		if (listener < 0)
			listener = listen_on(argv[1]); /* nothing to accept before the next round */
		struct signalfd_siginfo info;
		while (read(sigfd, &info, sizeof info) == sizeof info)
			if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT)
				stop(sigfd);
		reap_all();
		if (!(p[0].revents & POLLIN))
			continue;
		int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
				poll(NULL, 0, 100); /* out of resources: do not spin */
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(listener);
			close(sigfd);
			keeper(conn, &original);
		}
		close(conn); /* fork failed: the caller sees EOF and reports it */
	}
}

#endif /* AGENT_NO_MAIN */
