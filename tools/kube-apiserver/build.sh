#!/usr/bin/env bash
# Builds kube-apiserver from this wrapper module into the git-ignored binary
# cache, .cache/bin/kube-apiserver-<version>-<key>/kube-apiserver, and prints
# the binary's path (tools/lib/cached-build.sh). --dry-run only says whether
# it would build.
set -euo pipefail
cd "$(dirname "$0")"
. ../lib/cached-build.sh
version=$(GOFLAGS=-mod=mod go list -m -f '{{.Version}}' k8s.io/kubernetes)
# Without these the server reports v0.0.0-master+$Format:%H$, which clients
# (kubectl version, discovery-based version checks) cannot parse.
minor=${version#v1.}; minor=${minor%%.*}
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld="$ld -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done
# The key covers the ldflags too: they change what the binary reports.
cached_build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$version" "$( (cat go.mod go.sum; echo "$ld") | sha256sum | cut -c1-12)" \
	"$ld" "takes ~5 min cold" "$@"
