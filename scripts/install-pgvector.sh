#!/usr/bin/env bash
# Installs the pgvector extension into the local PostgreSQL when it is missing.
# Order: already installed → distribution package → build from Debian's source package
# (Debian bookworm has no pgvector package; trixie's source builds against PostgreSQL 15).
set -euo pipefail
pg_major=$(pg_config --version 2>/dev/null | sed -E 's/^PostgreSQL ([0-9]+).*/\1/' || true)
if [ -z "$pg_major" ]; then
  pg_major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
fi
[ -n "$pg_major" ] || { echo "install-pgvector: no PostgreSQL found" >&2; exit 1; }
sharedir="/usr/share/postgresql/$pg_major/extension"
if [ -f "$sharedir/vector.control" ]; then
  echo "pgvector: already installed for PostgreSQL $pg_major"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if apt-cache show "postgresql-$pg_major-pgvector" >/dev/null 2>&1; then
  apt-get install -y "postgresql-$pg_major-pgvector"
  exit 0
fi
echo "pgvector: building from Debian's source package for PostgreSQL $pg_major"
if ! grep -rqs '^deb-src .* trixie main' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || uri="http://deb.debian.org/debian"
  echo "deb-src $uri trixie main" > /etc/apt/sources.list.d/gatehouse-trixie-src.list
  apt-get update
fi
apt-get install -y dpkg-dev "postgresql-server-dev-$pg_major" make gcc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get source pgvector && cd pgvector-*/ && make -j"$(nproc)" PG_CONFIG="/usr/lib/postgresql/$pg_major/bin/pg_config" && make install PG_CONFIG="/usr/lib/postgresql/$pg_major/bin/pg_config")
test -f "$sharedir/vector.control"
echo "pgvector: installed"
