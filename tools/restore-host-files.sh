#!/bin/bash
# Puts back the host files a killed test run left changed: test/support/hostFiles.ts keeps each file's first state
# (a copy with owner and mode, or "absent") under the journal before a test changes it, and drops it once the test
# has put the file back. Whatever is still there belongs to a run that never finished. Run by ./build.sh before
# anything reads those files.
set -euo pipefail
journal="${DJT_HOST_FILES_JOURNAL:-/var/lib/docker-jail-tests/host-files}"
[ -d "$journal" ] || exit 0
rm -rf -- "$journal"/.draft-*
for record in "$journal"/*; do
  [ -f "$record/path" ] || continue
  target=$(cat -- "$record/path")
  case "$target" in /*) ;; *) echo "restore-host-files: $record names no absolute path" >&2; exit 1 ;; esac
  if [ -e "$record/absent" ]; then
    echo "putting back $target (absent), which an interrupted test run left changed"
    rm -f -- "$target"
  else
    echo "putting back $target, which an interrupted test run left changed"
    cp -a -- "$record/original" "$target.djt-restore"
    mv -f -- "$target.djt-restore" "$target"
  fi
  rm -rf -- "$record"
done
