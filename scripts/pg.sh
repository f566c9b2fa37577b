#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the test suite, on a Unix socket under a temp dir.
#   scripts/pg.sh start DIR   installs PostgreSQL from Debian's packages when it is missing,
#                             creates and starts a cluster in DIR, prints the URL
#   scripts/pg.sh stop DIR    stops it and removes DIR
set -euo pipefail
cmd="${1:?start or stop}"
dir="${2:?a directory}"
port="${DRP_PG_PORT:-54329}"

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  if ! bin="$(find_bin)"; then
    if [ "$(id -u)" != 0 ]; then
      echo "PostgreSQL is not installed and this user cannot install it" >&2
      exit 3
    fi
    echo "Installing PostgreSQL from Debian's packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bin="$(find_bin)"
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql postgres
  fi
  mkdir -p "$dir"
  chmod 700 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o \
    "-k $dir -p $port -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
  echo "postgresql+psycopg://postgres@/postgres?host=$dir&port=$port"
  ;;
stop)
  if bin="$(find_bin)" && [ -d "$dir/data" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
