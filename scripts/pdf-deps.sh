#!/usr/bin/env bash
# The system libraries and fonts `drp bundle --pdf` needs, from Debian's packages, installed
# only when missing (WeasyPrint lays pages out with Pango; DejaVu is the font the bundle's
# style names first; poppler-utils gives pdftoppm, which the tests use to render pages).
#   scripts/pdf-deps.sh          install what is missing (as root), else say what is missing
#   scripts/pdf-deps.sh --check  only say what is missing (exit 1 when something is)
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "${1:-}" = "--check" ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "drp bundle --pdf needs these Debian packages (or your system's equivalents):" \
       "${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2
  exit 0  # not fatal: everything but the PDF bundle works without them
fi
echo "Installing ${missing[*]} from Debian's packages..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
