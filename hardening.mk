# The C programs' compiler flags, included by launcher/Makefile and agent/Makefile.
CC = gcc
# Debian's hardening flags first (dpkg-buildpackage exports them; a plain make asks dpkg-buildflags), then ours.
BUILDFLAGS = DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get
CFLAGS ?= $(shell $(BUILDFLAGS) CFLAGS)
CPPFLAGS ?= $(shell $(BUILDFLAGS) CPPFLAGS)
LDFLAGS ?= $(shell $(BUILDFLAGS) LDFLAGS)
CFLAGS += -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -fstack-protector-strong
