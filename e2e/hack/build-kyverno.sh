#!/usr/bin/env bash
# Builds Kyverno's admission controller (cmd/kyverno) and reports controller
# (cmd/reports-controller) for the e2e local provider, and names the install
# manifest that goes with them. Prints one path on stdout; progress and the
# reason for a build go to stderr.
#
#   build-kyverno.sh kyverno|reports-controller|manifest [--dry-run]
#   (--dry-run only says whether it would build)
#
# Sources:
#   KYVERNO_SRC=/path/to/checkout  build that checkout (keyed by its git HEAD and
#                                  dirty state); its config/install-latest-testing.yaml
#                                  is the manifest, so a patched API ships its CRDs
#                                  (rendered from its chart by kyverno-manifest.sh
#                                  when the checkout lacks the file).
#   (unset)                        the module pinned in tools/kyverno/go.mod
#                                  (keyed by version and a go.mod/go.sum hash);
#                                  the manifest comes from that module's zip.
# Binaries are cached in <repo>/.cache/bin/kyverno-controllers-<key>/ (CACHE_DIR
# is the cache root, as for tools/kyverno/build.sh) and never rebuilt while current.
set -euo pipefail
what=${1:-}
dry_run=false
[[ "${2:-}" == --dry-run ]] && dry_run=true
case "$what" in kyverno|reports-controller|manifest) ;; *) echo "usage: $0 kyverno|reports-controller|manifest" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tooldir=$repo/tools/kyverno
log() { printf 'e2e/build-kyverno: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -n "${KYVERNO_SRC:-}" ]]; then
	src=$(cd "$KYVERNO_SRC" 2>/dev/null && pwd) || die "KYVERNO_SRC=$KYVERNO_SRC is not a directory"
	[[ -d "$src/cmd/kyverno" && -d "$src/cmd/reports-controller" ]] || die "KYVERNO_SRC=$src: expected a Kyverno checkout (cmd/kyverno, cmd/reports-controller)"
	head=$(git -C "$src" rev-parse HEAD 2>/dev/null) || die "KYVERNO_SRC=$src: not a git checkout (the cache is keyed by its HEAD)"
	dirty=$( { git -C "$src" diff HEAD --binary; git -C "$src" ls-files --others --exclude-standard -z | (cd "$src" && xargs -0 -r sha256sum); } | sha256sum | cut -c1-12)
	version=$(git -C "$src" describe --tags --always --dirty 2>/dev/null || echo "${head:0:12}")
	key="src-${head:0:12}-$dirty"
	builddir=$src; pkgprefix=./cmd
	manifest=$src/config/install-latest-testing.yaml
	why="checkout $src at ${head:0:12}"
else
	[[ -f "$tooldir/go.mod" ]] || die "$tooldir/go.mod is missing (the Kyverno wrapper module)"
	mod=$(cd "$tooldir" && go list -m -json github.com/kyverno/kyverno) || die "$tooldir/go.mod: cannot resolve github.com/kyverno/kyverno"
	version=$(sed -n 's/^[[:space:]]*"Version": "\(.*\)",$/\1/p' <<<"$mod" | head -1)
	moddir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$mod" | head -1)
	[[ -n "$version" ]] || die "$tooldir/go.mod: github.com/kyverno/kyverno has no version"
	if [[ -z "$moddir" ]]; then
		(cd "$tooldir" && go mod download github.com/kyverno/kyverno) >&2
		moddir=$(cd "$tooldir" && go list -m -f '{{.Dir}}' github.com/kyverno/kyverno)
	fi
	key="$version-$(cat "$tooldir/go.mod" "$tooldir/go.sum" | sha256sum | cut -c1-12)"
	builddir=$tooldir; pkgprefix=github.com/kyverno/kyverno/cmd
	manifest=$moddir/config/install-latest-testing.yaml
	why="module pin $version (tools/kyverno/go.mod)"
fi

if [[ "$what" == manifest ]]; then
	if [[ ! -f "$manifest" && -n "${KYVERNO_SRC:-}" ]]; then
		# A snapshot may lack the generated manifest: render the
		# checkout's own chart (cached by the checkout's key).
		gen=${CACHE_DIR:-$repo/.cache}/kyverno-src/install-$key.yaml
		$dry_run && { [[ -s "$gen" ]] || log "manifest: would render $src/charts/kyverno with Helm into $gen ($manifest is missing)"; exit 0; }
		log "manifest: $manifest is missing; the checkout's chart, rendered (e2e/hack/kyverno-manifest.sh)"
		exec "$here/kyverno-manifest.sh" "$src" "$gen"
	fi
	[[ -f "$manifest" ]] || die "no install manifest at $manifest"
	echo "$manifest"; exit 0
fi

dir=${CACHE_DIR:-$repo/.cache}/bin/kyverno-controllers-$key
bin=$dir/$what
if [[ -x "$bin" ]]; then
	log "$what $version: current ($bin)"
	echo "$bin"; exit 0
fi
$dry_run && { log "$what $version: would build $pkgprefix/$what from $why into $dir"; exit 0; }
log "$what $version: building $pkgprefix/$what from $why into $dir (not cached yet: ~12 min from a cold Go build cache on 2 busy cores, ~20 s from a warm one)"
start=$(date +%s)
mkdir -p "$dir"
tmp=$(mktemp "$dir/.$what.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# Same flags as tools/kyverno/build.sh, so the CLI's compiled packages are reused.
(cd "$builddir" && nice -n 10 go build -trimpath -ldflags "-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=$version" -o "$tmp" "$pkgprefix/$what")
mv "$tmp" "$bin"
log "$what $version: built in $(( $(date +%s) - start ))s"
echo "$bin"
