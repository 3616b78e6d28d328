/*
 * The session protocol between docker-jail-attach (on the host, as the user)
 * and docker-jail-agent (the jail's init, as the user), over a Unix stream
 * socket. Native byte order: both ends run on the same machine.
 *
 * attach -> agent: one request_header, carrying exactly 3 fds (the caller's
 * 0, 1, 2) by SCM_RIGHTS, then body_len bytes of body:
 *   cwd\0 argv[0]\0 ... argv[argc-1]\0 env[0]\0 ... env[envc-1]\0
 * then, for the session's life, single bytes: 'W' = the window changed.
 * agent -> attach: struct reply records of 8 bytes: STARTED, then EXITED or
 * SIGNALED; or REFUSED instead of either.
 * Closing the socket from the host side hangs the session up.
 */
#ifndef DOCKER_JAIL_PROTOCOL_H
#define DOCKER_JAIL_PROTOCOL_H

#include <stdint.h>

#define JAIL_AGENT_MAGIC 0x314a4144u /* "DJA1" in memory, little-endian */
#define REQUEST_FDS 3 /* the caller's stdin, stdout, stderr */
#define REQUEST_MAX_STRINGS 65536 /* argc + envc */
#define REQUEST_MAX_BODY (4u << 20)
#define REQUEST_TIMEOUT_S 5 /* the whole request, and attach's wait for STARTED */
#define WINDOW_CHANGED 'W'

struct request_header {
	uint32_t magic, flags, argc, envc, body_len;
};

enum { REQUEST_TTY = 1u, REQUEST_KILL_ON_LOGOUT = 2u };
#define REQUEST_FLAGS (REQUEST_TTY | REQUEST_KILL_ON_LOGOUT) /* any other bit: refused */

struct reply {
	uint32_t type;
	int32_t value;
};

enum { REPLY_STARTED = 1, REPLY_EXITED = 2, REPLY_SIGNALED = 3, REPLY_REFUSED = 4 };
enum { REFUSED_BAD_REQUEST = 1, REFUSED_BAD_DESCRIPTOR = 2, REFUSED_NO_PTY = 3, REFUSED_CANNOT_START = 4 };

#endif
