#!/usr/bin/env bash
# A throwaway PostgreSQL cluster, for the tests (tests/it/pg.rs) and the
# SQL bench (cargo xtask bench --sql-only):
#   pg-cluster.sh start DIR PORT PASSWORD   initdb DIR/data (superuser "bank"
#                                           with PASSWORD, scram-sha-256), then
#                                           serve 127.0.0.1:PORT (socket in DIR)
#   pg-cluster.sh stop DIR [MODE]           pg_ctl stop -m MODE (default fast)
# PostgreSQL refuses to run as root; as root, it runs as the Debian package's
# `postgres` user, which then owns DIR.
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bindir/initdb" ] || { echo "PostgreSQL is not installed (cargo xtask setup installs it)" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "${1:-}" in
start)
  dir=$2 port=$3 password=$4
  printf '%s\n' "$password" > "$dir/password"
  [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
  as_owner "$bindir/initdb" -D "$dir/data" -U bank --auth=scram-sha-256 --pwfile="$dir/password" \
    -E UTF8 --locale=C --no-sync > "$dir/initdb.log"
  rm "$dir/password"
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start > /dev/null
  ;;
stop)
  as_owner "$bindir/pg_ctl" -D "$2/data" -m "${3:-fast}" -w -t 30 stop > /dev/null
  ;;
*)
  echo "usage: pg-cluster.sh start DIR PORT PASSWORD | stop DIR [MODE]" >&2
  exit 2
  ;;
esac
