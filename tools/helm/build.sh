#!/usr/bin/env bash
# Builds Helm from this wrapper module into the git-ignored binary cache,
# .cache/bin/helm-<version>-<go.mod hash>/helm, and prints the binary's path
# (tools/lib/cached-build.sh). --dry-run only says whether it would build.
set -euo pipefail
cd "$(dirname "$0")"
. ../lib/cached-build.sh
version=$(GOFLAGS=-mod=mod go list -m -f '{{.Version}}' helm.sh/helm/v3)
cached_build helm helm.sh/helm/v3/cmd/helm "$version" "$(cat go.mod go.sum | sha256sum | cut -c1-12)" \
	"-X helm.sh/helm/v3/internal/version.version=$version" "2-4 min cold on 2 quiet cores, 9 min busy" "$@"
