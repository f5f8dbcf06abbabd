#!/usr/bin/env bash
# Runs a command with WXOCR_TEST_DATABASE_URL pointing at a throw-away PostgreSQL cluster.
#
#   scripts/with-postgres.sh .venv/bin/pytest -m db
#
# Installs PostgreSQL from Debian packages if missing, creates a cluster in a temporary
# directory owned by an unprivileged user (initdb refuses to run as root), starts it on
# a free loopback port and removes it when the command ends, whatever its outcome.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh postgres
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
work=$(mktemp -d /tmp/wxocr-pg.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$work"
  as_owner=(runuser -u postgres --)
fi

stop_cluster() {
  "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap stop_cluster EXIT

"${as_owner[@]}" "$pg_bin/initdb" -D "$work/data" -A trust -U wxocr --no-sync -E UTF8 >"$work/initdb.log"
server_options="-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"

# The tests of a database outage (tests/test_db_outage.py) stop, start and restart this
# cluster: `$WXOCR_TEST_PG_CTL stop|start|restart [pg_ctl options]` runs pg_ctl as the
# cluster's owner, on its data directory, with the options it was started with.
cat >"$work/pg-ctl" <<SCRIPT
#!/usr/bin/env bash
set -euo pipefail
action=\$1; shift
exec ${as_owner[*]} "$pg_bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "$server_options" "\$action" "\$@"
SCRIPT
chmod 755 "$work/pg-ctl"
"$work/pg-ctl" start >/dev/null
"$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U wxocr wxocr_test

export WXOCR_TEST_DATABASE_URL="postgresql+psycopg://wxocr@127.0.0.1:$port/wxocr_test"
export WXOCR_TEST_PG_CTL="$work/pg-ctl" WXOCR_TEST_PGDATA="$work/data"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port for: $*"
"$@"
