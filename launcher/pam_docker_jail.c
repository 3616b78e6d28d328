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
 * invariant 8). The host's mount namespace stays bound at HOST_MOUNT_NS in the
 * session's, where the login shell, /usr/bin/jailsh, goes back to it before
 * root does anything; the jail's own view of the home is the engine's,
 * untouched. Any failure fails the session closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#define STATE_DIR "/run/docker-jail"
#define HOST_MOUNT_NS STATE_DIR "/host-mount-ns" /* launcher/jailsh.c reads it */

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

	/* Where the host's namespace will be bound: a root-only file, made in the host's. */
	struct stat st;
	if (mkdir(STATE_DIR, 0700) != 0 && errno != EEXIST)
		return refuse(pamh, user, STATE_DIR);
	if (lstat(STATE_DIR, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0) {
		errno = EPERM;
		return refuse(pamh, user, STATE_DIR " is not a root-owned directory only root can write");
	}
	int mark = open(HOST_MOUNT_NS, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (mark < 0)
		return refuse(pamh, user, HOST_MOUNT_NS);
	close(mark);
	int host = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (host < 0)
		return refuse(pamh, user, "cannot read the host's mount namespace");

	int made = unshare(CLONE_NEWNS) == 0 ? 0 : (refuse(pamh, user, "cannot make a mount namespace"), -1);
	/* A slave: what this namespace mounts never reaches the host's (where / is often shared). */
	if (made == 0 && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)
		made = (refuse(pamh, user, "cannot make the mount namespace a slave"), -1);
	char source[32];
	snprintf(source, sizeof source, "/proc/self/fd/%d", host);
	if (made == 0 && mount(source, HOST_MOUNT_NS, NULL, MS_BIND, NULL) != 0)
		made = (refuse(pamh, user, "cannot bind the host's mount namespace"), -1);
	close(host);
	if (made != 0)
		return PAM_SESSION_ERR;
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
