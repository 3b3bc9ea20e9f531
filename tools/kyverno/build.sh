#!/usr/bin/env bash
# build.sh builds the Kyverno CLI (kubectl-kyverno) into the git-ignored cache
# and prints the binary's absolute path as the last line of stdout. Progress
# and reasons go to stderr, so callers can do: bin=$(tools/kyverno/build.sh).
#
# Sources, in order of precedence:
#   KYVERNO_CLI=/path/to/kubectl-kyverno  use that binary; nothing is built.
#   KYVERNO_SRC=/path/to/kyverno/checkout build that checkout, keyed by its git
#                                         HEAD and dirty state.
#   (neither)                             build the version pinned in
#                                         tools/kyverno/go.mod, keyed by the
#                                         version and a hash of go.mod/go.sum.
#
# A build whose stamp matches is not redone. Environment:
#   CACHE_DIR   cache root (default <repo>/.cache)
#   GO          go command (default go)
#
# --no-build: print the path when the selected binary is current, else exit
# 3 saying what would be built (the engine uses this to find its binary).
set -euo pipefail

no_build=false
case "${1:-}" in
--no-build) no_build=true ;;
"") ;;
*) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${CACHE_DIR:-$repo/.cache}
go_cmd=${GO:-go}
pkg_version=github.com/kyverno/kyverno/pkg/version.BuildVersion

log() { printf 'kyverno-cli: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

hash_of() { sha256sum | cut -c1-16; }

if [[ -n "${KYVERNO_CLI:-}" ]]; then
	[[ -x "$KYVERNO_CLI" ]] || die "KYVERNO_CLI=$KYVERNO_CLI is not an executable file"
	bin=$(cd "$(dirname "$KYVERNO_CLI")" && pwd)/$(basename "$KYVERNO_CLI")
	log "using KYVERNO_CLI=$bin (not building)"
	echo "$bin"
	exit 0
fi

goversion=$("$go_cmd" env GOVERSION)
ldflags_base="-s -w"

if [[ -n "${KYVERNO_SRC:-}" ]]; then
	src=$(cd "$KYVERNO_SRC" 2>/dev/null && pwd) || die "KYVERNO_SRC=$KYVERNO_SRC is not a directory"
	[[ -f "$src/go.mod" && -d "$src/cmd/cli/kubectl-kyverno" ]] ||
		die "KYVERNO_SRC=$src: expected a Kyverno checkout (go.mod and cmd/cli/kubectl-kyverno)"
	head=$(git -C "$src" rev-parse HEAD 2>/dev/null) ||
		die "KYVERNO_SRC=$src: not a git checkout (the cache is keyed by its HEAD)"
	version=$(git -C "$src" describe --tags --always --dirty 2>/dev/null || echo "${head:0:12}")
	# Dirty state: the diff of tracked files plus the content of untracked
	# ones, so any edit gives a new key.
	dirty=$( { git -C "$src" diff HEAD --binary
		git -C "$src" ls-files --others --exclude-standard -z |
			(cd "$src" && xargs -0 -r sha256sum); } | hash_of)
	clean_hash=$(printf '' | hash_of)
	key="src-${head:0:12}"
	[[ "$dirty" == "$clean_hash" ]] || key="$key-dirty-$dirty"
	stamp="source=$src head=$head dirty=$dirty go=$goversion"
	build_dir=$src
	target=./cmd/cli/kubectl-kyverno
	why_src="checkout $src at ${head:0:12}"
else
	version=$(cd "$here" && "$go_cmd" list -m -f '{{.Version}}' github.com/kyverno/kyverno) ||
		die "$here/go.mod: cannot read the required version of github.com/kyverno/kyverno"
	[[ -n "$version" ]] || die "$here/go.mod: github.com/kyverno/kyverno has no version"
	mods=$(cat "$here/go.mod" "$here/go.sum" | hash_of)
	key="$version"
	stamp="version=$version modules=$mods go=$goversion"
	build_dir=$here
	target=github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno
	why_src="module pin $version (tools/kyverno/go.mod)"
fi

out_dir=$cache/bin/kyverno-$key
bin=$out_dir/kubectl-kyverno
stamp_file=$out_dir/stamp
ldflags="$ldflags_base -X $pkg_version=$version"
stamp="$stamp ldflags=$ldflags"

if [[ -x "$bin" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
	log "$bin is current ($why_src)"
	echo "$bin"
	exit 0
fi

if [[ ! -x "$bin" ]]; then
	reason="no cached binary"
elif [[ ! -f "$stamp_file" ]]; then
	reason="cached binary has no stamp"
else
	reason="stamp changed: was '$(cat "$stamp_file")'"
fi
if $no_build; then
	log "kubectl-kyverno $version from $why_src is not built ($reason); run: make kyverno-cli"
	exit 3
fi
log "building kubectl-kyverno $version from $why_src: $reason"
log "  into $bin"

mkdir -p "$out_dir"
tmp=$(mktemp "$out_dir/.kubectl-kyverno.XXXXXX")
trap 'rm -f "$tmp"' EXIT
start=$(date +%s)
(cd "$build_dir" && CGO_ENABLED=0 "$go_cmd" build -trimpath -ldflags="$ldflags" -o "$tmp" "$target") ||
	die "go build $target in $build_dir failed"
mv -f "$tmp" "$bin"
printf '%s' "$stamp" >"$stamp_file"
log "built $bin in $(($(date +%s) - start))s"
echo "$bin"
