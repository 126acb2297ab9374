#!/usr/bin/env bash
# Frees the disk a build of a new checkout no longer needs. Cargo names workspace artifacts
# after the checkout's path, so every fresh clone (CI) adds a full set of test binaries (about
# 1 GB each, ~30 GB in all) beside the earlier ones, and incremental state on top. This removes
# the executables (tests and binaries, relinked in seconds) and the incremental state; the
# dependencies' compiled libraries (what keeps a build warm) stay.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
t="$CARGO_TARGET_DIR"
[ -d "$t" ] || exit 0
before=$(df -Pk "$t" | awk 'NR==2 {print $4}')
for profile in debug release; do
  [ -d "$t/$profile/deps" ] || continue
  find "$t/$profile/deps" -maxdepth 1 -type f -perm -u+x ! -name '*.*' -delete
  # A build running beside (a developer's) may be writing there: never fail on it.
  rm -rf "$t/$profile/incremental" 2>/dev/null || true
done
after=$(df -Pk "$t" | awk 'NR==2 {print $4}')
say "pruned $(( (after - before) / 1024 )) MB of old build output; $(( after / 1024 / 1024 )) GB free"
