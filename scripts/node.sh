#!/usr/bin/env bash
# Prints the bin folder of a Node.js of the given major line (default 22, what
# Bardcast targets), installing it first if needed. The binary comes from the
# npm registry's `node-linux-<arch>@<major>` package (the tarball carries
# bin/node), so nothing but npm is needed. Use:
#   export PATH="$(scripts/node.sh)":$PATH      # Node 22 for this shell
#   export PATH="$(scripts/node.sh 26)":$PATH   # the newest LTS line
# The cache folder is $BARDCAST_NODE_CACHE (default ~/.cache/bardcast/node).
set -euo pipefail

major="${1:-22}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "scripts/node.sh: no npm-shipped Node for $(uname -m)" >&2; exit 1 ;;
esac
cache="${BARDCAST_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bardcast/node}"
dir="$cache/$arch-$major"

if [ ! -x "$dir/bin/node" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$major" >/dev/null)
  mkdir -p "$dir.partial"
  tar xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$dir.partial" --strip-components=1
  rm -rf "$dir"
  mv "$dir.partial" "$dir"
  echo "scripts/node.sh: installed Node $("$dir/bin/node" --version) in $dir" >&2
fi
echo "$dir/bin"
