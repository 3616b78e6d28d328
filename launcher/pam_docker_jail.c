/*
 * pam_docker_jail.so: a session module for members of the jail group, placed
 * after the docker-jail hook in common-session by the pam-auth-update profile.
 *
 * After the session opens, sshd still runs programs of its own on the host as
 * the user before the login shell: /etc/ssh/sshrc through /bin/sh, in an
 * environment that pam_env (user_readenv, later in /etc/pam.d/sshd) and
 * ~/.ssh/environment fill from the home, which the user writes from inside
 * their jail (LD_PRELOAD, PATH, BASH_ENV, a ~/.mailrc...). So this module
 * gives the session a mount namespace of its own, a slave of the host's, in
 * which the home is an empty read-only directory: nothing later in the PAM
 * stack, in sshd or in sshrc can read what the user wrote (SECURITY.md,
 * invariant 8). The login shell, /usr/bin/jailsh, goes back to the mount
 * namespace the session came from (its nearest ancestor's outside this one)
 * before root does anything; the jail's own view of the home is the
 * engine's, untouched. Any failure fails the session closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

static int refuse(pam_handle_t *pamh, const char *user, const char *what)
{
	pam_syslog(pamh, LOG_ERR, "refusing the session of %s: %s: %s", user, what, strerror(errno));
	return PAM_SESSION_ERR;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags, (void)argc, (void)argv;
	const void *item = NULL;
	if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS || item == NULL)
		return PAM_SESSION_ERR;
	const char *user = item;
	struct passwd *pw = pam_modutil_getpwnam(pamh, user);
	if (pw == NULL) {
		errno = ENOENT;
		return refuse(pamh, user, "no such user");
	}
	if (pw->pw_uid == 0) /* root is never jailed, whatever its groups */
		return PAM_IGNORE;

	if (unshare(CLONE_NEWNS) != 0)
		return refuse(pamh, user, "cannot make a mount namespace");
	/* A slave: what this namespace mounts never reaches the host's (where / is often shared). */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)
		return refuse(pamh, user, "cannot make the mount namespace a slave");
	/* The home as it is now, never through a symlink planted in its place. */
	int home = open(pw->pw_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (home < 0)
		return refuse(pamh, user, pw->pw_dir);
	char target[32];
	snprintf(target, sizeof target, "/proc/self/fd/%d", home);
	int mounted = mount("docker-jail-hidden-home", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			    "mode=0555,size=4k,nr_inodes=1");
	close(home);
	if (mounted != 0)
		return refuse(pamh, user, "cannot hide the home");
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_SUCCESS; /* the namespace ends with the session's last process */
}
