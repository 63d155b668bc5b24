#!/usr/bin/env bash
# Weft's patches to mcp-go, against a pinned release (see ../PATCHES.md).
#
#   apply.sh [VERSION]         patch a pristine copy of the release (default v1.2.1,
#                              fetched with `go mod download`) and print where it is
#   apply.sh check             patch v1.2.1 and require the result to equal
#                              third_party/mcp-go file for file (the patches are the
#                              whole difference, and current)
#   apply.sh test [VERSION]    patch the release and run upstream's own test suite
#                              (its mcp, server, tracing, client and mcptest packages)
#                              on the patched tree
#
# A patch that does not apply to a newer release stops with patch's own
# report of the failed hunks: resolve them, then regenerate the patch files
# (the commands are in ../PATCHES.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
copy=$(dirname "$here")
mode=apply
case "${1:-}" in
  check|test) mode=$1; shift ;;
esac
version=${1:-v1.2.1}
[ "$mode" = check ] && version=v1.2.1

src=$(go mod download -json "github.com/mark3labs/mcp-go@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "apply.sh: cannot download github.com/mark3labs/mcp-go@$version" >&2; exit 1; }
work=${WORK:-$(mktemp -d)}
tree=$work/mcp-go-$version
rm -rf "$tree"
cp -r "$src" "$tree"
chmod -R u+w "$tree"
for p in "$here"/0*.patch; do
  echo "== $(basename "$p")"
  patch -d "$tree" -p1 --forward --no-backup-if-mismatch --reject-file=- < "$p"
done
echo "patched mcp-go $version: $tree"

case $mode in
check)
  status=0
  for f in $(cd "$copy" && find mcp server tracing client -name '*.go' | sort); do
    if ! cmp -s "$copy/$f" "$tree/$f"; then
      echo "differs from the patched release: third_party/mcp-go/$f" >&2
      status=1
    fi
  done
  [ $status = 0 ] && echo "third_party/mcp-go equals mcp-go $version with the patches applied"
  exit $status
  ;;
test)
  cd "$tree"
  # Upstream tests that fail on the release itself, without these patches
  # (upstream-failing.txt: one name a line, with why); every other test must pass.
  skip=$(grep -v '^#' "$here/upstream-failing.txt" | awk 'NF {print "^" $1 "$"}' | paste -sd'|' -)
  GOFLAGS=-mod=mod go test -count=1 -p 1 -timeout 20m ${skip:+-skip "$skip"} ./mcp/... ./server/... ./tracing/... ./client/... ./mcptest/...
  ;;
esac
