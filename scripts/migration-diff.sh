#!/usr/bin/env bash
# Writes prisma/migrations/<timestamp>_<name>/migration.sql: the SQL that takes
# the database from the committed prisma/schema.prisma (git HEAD, which the
# existing migrations produce) to the working copy. Offline: Prisma 6.19's WASM
# schema engine (devDependency alias `prisma6`) does the diff.
#   edit prisma/schema.prisma → scripts/migration-diff.sh add_something → commit both
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: scripts/migration-diff.sh NAME}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
strip() {
  sed -e '/^generator client {/,/^}/d' \
      -e 's|provider = "postgresql"|provider = "postgresql"\n  url      = "postgresql://unused@127.0.0.1/unused"|'
}
git show HEAD:prisma/schema.prisma | strip > "$tmp/from.prisma"
strip < prisma/schema.prisma > "$tmp/to.prisma"
sql=$(PRISMA6_SCHEMA="$tmp/to.prisma" PRISMA_QUERY_ENGINE_LIBRARY=/bin/true PRISMA_SCHEMA_ENGINE_BINARY=/bin/true \
  node node_modules/prisma6/build/index.js migrate diff \
    --from-schema-datamodel "$tmp/from.prisma" --to-schema-datamodel "$tmp/to.prisma" --script \
    --config test/db/fixtures/prisma6.config.ts 2>/dev/null)
if grep -q 'empty migration' <<<"$sql" || ! grep -qv '^\s*\(--.*\)\?$' <<<"$sql"; then
  echo "prisma/schema.prisma has no change since HEAD: nothing to write"
  exit 0
fi
out="prisma/migrations/$(date -u +%Y%m%d%H%M%S)_${name}"
mkdir -p "$out"
printf '%s\n' "$sql" > "$out/migration.sql"
echo "wrote $out/migration.sql"
