# Sourced by the tools/<name>/build.sh scripts: builds one Go package from
# the calling wrapper module into the git-ignored binary cache,
# $CACHE_DIR/bin/<name>-<version>-<key>/<name> (CACHE_DIR defaults to
# <repo>/.cache), and prints the binary's path on stdout; progress goes to
# stderr. Does nothing when that binary exists; with --dry-run only says
# whether it would build.
#
#   cached_build NAME PACKAGE VERSION KEY LDFLAGS HINT "$@"
#
# KEY is what else identifies the build (a hash of go.mod and go.sum, and
# of the ldflags when they change what the binary reports); HINT says how
# long a cold build takes.
cached_build() {
	local name=$1 pkg=$2 version=$3 key=$4 ld=$5 hint=$6
	shift 6
	local dry_run=false
	[ "${1:-}" = --dry-run ] && dry_run=true
	local root dir bin
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	dir=${CACHE_DIR:-$root/.cache}/bin/$name-$version-$key
	bin=$dir/$name
	if [ -x "$bin" ]; then
		echo "$name $version: current ($bin)" >&2
		echo "$bin"; return 0
	fi
	if $dry_run; then
		echo "$name $version: would build $pkg into $dir (no binary cached for this version and key $key; $hint)" >&2
		return 0
	fi
	echo "$name $version: building $pkg into $dir from the Go module proxy (no binary cached for this version and key $key; $hint)" >&2
	local start tmp
	start=$(date +%s)
	mkdir -p "$(dirname "$dir")"
	tmp=$(mktemp -d "${dir}.tmp.XXXXXX")
	# shellcheck disable=SC2064 # expand tmp now: the trap runs after return
	trap "rm -rf '$tmp'" EXIT
	GOFLAGS=-mod=mod nice -n 10 go build -trimpath -ldflags "$ld" -o "$tmp/$name" "$pkg"
	mkdir -p "$dir" && mv "$tmp/$name" "$bin"
	echo "$name $version: built in $(( $(date +%s) - start ))s" >&2
	echo "$bin"
}
