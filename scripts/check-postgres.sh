#!/bin/sh
# Fails with instructions when the test PostgreSQL is not reachable.
url="$1"
if command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -q -d "$url" 2>/dev/null; then
    echo "PostgreSQL is not reachable at $url." >&2
    echo "Start the local server (pg_ctlcluster --skip-systemctl-redirect 15 main start)," >&2
    echo "run 'docker compose up -d postgres', or set TEST_DATABASE_URL." >&2
    exit 1
  fi
fi
