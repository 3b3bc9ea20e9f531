#!/usr/bin/env bash
# Builds etcd from this wrapper module into the git-ignored binary cache,
# .cache/bin/etcd-<version>-<go.mod hash>/etcd, and prints the binary's path
# (tools/lib/cached-build.sh). --dry-run only says whether it would build.
set -euo pipefail
cd "$(dirname "$0")"
. ../lib/cached-build.sh
version=$(GOFLAGS=-mod=mod go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
cached_build etcd go.etcd.io/etcd/server/v3 "$version" "$(cat go.mod go.sum | sha256sum | cut -c1-12)" \
	"" "about 1.5 min cold" "$@"
