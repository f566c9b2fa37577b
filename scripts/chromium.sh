#!/usr/bin/env bash
# Headless Chromium for the tests that look at drp's HTML documents the way a person does
# (tests/test_report_html.py): installs Debian's chromium package when /usr/bin/chromium is
# missing; does nothing when it is there. Safe to run again. Prints the browser's path.
#   scripts/chromium.sh
set -euo pipefail
bin="${DRP_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$bin" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "Chromium is not installed and this user cannot install it; the HTML tests will be skipped" >&2
    exit 0
  fi
  echo "Installing Chromium from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi
echo "$bin"
