#!/usr/bin/env bash
# Builds etcd from this wrapper module into the git-ignored binary cache,
# .cache/bin/etcd-<version>-<go.mod hash>/etcd, and prints the binary's path on
# stdout (progress goes to stderr). Does nothing when that binary exists.
# CACHE_DIR is the cache root (default .cache; binaries go to $CACHE_DIR/bin). --dry-run only says whether it would build.
set -euo pipefail
dry_run=false
[ "${1:-}" = --dry-run ] && dry_run=true
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
pkg=go.etcd.io/etcd/server/v3
version=$(GOFLAGS=-mod=mod go list -m -f '{{.Version}}' "$pkg")
hash=$(cat go.mod go.sum | sha256sum | cut -c1-12)
dir=${CACHE_DIR:-$root/.cache}/bin/etcd-$version-$hash
bin=$dir/etcd
if [ -x "$bin" ]; then
  echo "etcd $version: current ($bin)" >&2
  echo "$bin"; exit 0
fi
$dry_run && { echo "etcd $version: would build $pkg into $dir (no binary cached for this version and go.mod hash $hash)" >&2; exit 0; }
echo "etcd $version: building $pkg into $dir (no binary cached for this version and go.mod hash $hash)" >&2
start=$(date +%s)
mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "${dir}.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
GOFLAGS=-mod=mod nice -n 10 go build -trimpath -o "$tmp/etcd" "$pkg"
mkdir -p "$dir" && mv "$tmp/etcd" "$bin"
echo "etcd $version: built in $(( $(date +%s) - start ))s" >&2
echo "$bin"
