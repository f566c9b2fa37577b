#!/usr/bin/env bash
# Taskwarrior, the floor `make bench` times drp's import against (issue 14: "taskwarrior
# imports 100,000 tasks in 9.6 s on the same kind of machine"): installs Debian's
# taskwarrior package when `task` is missing; does nothing when it is there. Safe to run
# again. Prints the program's path, or nothing (and says why on stderr) when it cannot be
# installed: the bench then reports the import against the 9.6 s alone.
#   scripts/taskwarrior.sh
set -euo pipefail
bin="$(command -v task || true)"
if [ -z "$bin" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "taskwarrior is not installed and cannot be installed here; the import is timed against 9.6 s alone" >&2
    exit 0
  fi
  echo "Installing taskwarrior from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends taskwarrior >&2 || {
    apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends taskwarrior >&2
  }
  bin="$(command -v task)"
fi
echo "$bin"
