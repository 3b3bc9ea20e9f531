#!/usr/bin/env bash
# Builds kube-apiserver from this wrapper module into the git-ignored binary
# cache, .cache/bin/kube-apiserver-<version>-<go.mod hash>/kube-apiserver, and
# prints the binary's path on stdout (progress goes to stderr). Does nothing
# when that binary exists. CACHE_DIR is the cache root (default .cache; binaries go to $CACHE_DIR/bin). --dry-run only
# says whether it would build.
set -euo pipefail
dry_run=false
[ "${1:-}" = --dry-run ] && dry_run=true
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
pkg=k8s.io/kubernetes/cmd/kube-apiserver
version=$(GOFLAGS=-mod=mod go list -m -f '{{.Version}}' k8s.io/kubernetes)
# Without these the server reports v0.0.0-master+$Format:%H$, which clients
# (kubectl version, discovery-based version checks) cannot parse.
minor=${version#v1.}; minor=${minor%%.*}
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld="$ld -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done
# The key covers the ldflags too: they change what the binary reports.
hash=$( (cat go.mod go.sum; echo "$ld") | sha256sum | cut -c1-12)
dir=${CACHE_DIR:-$root/.cache}/bin/kube-apiserver-$version-$hash
bin=$dir/kube-apiserver
if [ -x "$bin" ]; then
  echo "kube-apiserver $version: current ($bin)" >&2
  echo "$bin"; exit 0
fi
$dry_run && { echo "kube-apiserver $version: would build $pkg into $dir (no binary cached for this version and go.mod hash $hash; takes ~5 min cold)" >&2; exit 0; }
echo "kube-apiserver $version: building $pkg into $dir (no binary cached for this version and go.mod hash $hash; takes ~5 min cold)" >&2
start=$(date +%s)
mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "${dir}.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
GOFLAGS=-mod=mod nice -n 10 go build -trimpath -ldflags "$ld" -o "$tmp/kube-apiserver" "$pkg"
mkdir -p "$dir" && mv "$tmp/kube-apiserver" "$bin"
echo "kube-apiserver $version: built in $(( $(date +%s) - start ))s" >&2
echo "$bin"
