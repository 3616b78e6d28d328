/*
 * Tries io_uring_setup, socket(AF_VSOCK) and keyctl (which every Docker
 * default refuses: it tells a filter from none); one line each: "NAME ok" or
 * "NAME ERRNO-NAME".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/io_uring.h>

int main(void) {
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  long ring = syscall(__NR_io_uring_setup, 4, &params);
  if (ring >= 0) printf("io_uring_setup ok\n");
  else printf("io_uring_setup %s\n", strerrorname_np(errno));
  int vsock = socket(AF_VSOCK, SOCK_STREAM, 0);
  if (vsock >= 0) printf("socket(AF_VSOCK) ok\n");
  else printf("socket(AF_VSOCK) %s\n", strerrorname_np(errno));
  long keyring = syscall(__NR_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 0);
  if (keyring >= 0) printf("keyctl ok\n");
  else printf("keyctl %s\n", strerrorname_np(errno));
  return 0;
}
