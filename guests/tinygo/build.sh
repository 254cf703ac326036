#!/usr/bin/env bash
# Builds the TinyGo twins into guests/NAME/NAME-tinygo.wasm, the committed files
# guests.go embeds, or into DIR/NAME-tinygo.wasm with -o DIR (go test compares the
# two). toolchain.sh provides TinyGo (building it where missing); when it cannot,
# this exits 2 with its reason and the committed files stay as they are.
#
#   guests/tinygo/build.sh [-o DIR]
#
# The flags, and why (README.md says more):
#   -target=target.json  wasm-unknown (no imports, exports _initialize) with bulk
#                        memory (copy is memory.copy, as in the WAT twins), a
#                        16 KiB stack and 2 pages of initial memory (see wasm.Base)
#   -gc=none             the allocator never allocates Go memory: one that did would
#                        not link
#   -scheduler=none      no goroutines, no asyncify
#   -opt=2               optimise for speed (TinyGo's default -opt=z is for size)
#   -no-debug            no DWARF; the name section stays, as wat2wasm --debug-names
#   -panic=trap          a panic (index out of range) is unreachable, no message
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=
if [ "${1:-}" = -o ] && [ -n "${2:-}" ]; then
	dir=$(mkdir -p "$2" && cd "$2" && pwd)
elif [ $# -gt 0 ]; then
	sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
tinygo=$("$here/toolchain.sh") || exit $?
flags=(-target=target.json -gc=none -scheduler=none -opt=2 -no-debug -panic=trap)
cd "$here"
for g in bump freelist arena pool; do
	out=${dir:-$here/../$g}/$g-tinygo.wasm
	echo "tinygo build ${flags[*]} -o $g-tinygo.wasm ./$g" >&2
	"$tinygo" build "${flags[@]}" -o "$out" "./$g"
	chmod 644 "$out" # tinygo makes it executable
done
