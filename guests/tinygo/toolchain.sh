#!/usr/bin/env bash
# Makes TinyGo 0.33.0 on LLVM 16 available and prints the path of a `tinygo`
# command that runs it; its toolchain line is the file beside that command,
# toolchain.txt (TinyGo, LLVM, Go and wasm-opt versions: all four decide the bytes).
#
#   guests/tinygo/toolchain.sh [-cached]
#
# A `tinygo` in PATH is used when `tinygo version` says 0.33.0 and LLVM 16. Else
# TinyGo is built once into $TINYGO_CACHE (default ~/.cache/alloclab-tinygo, outside
# the tree so that gofmt and go vet never see TinyGo's sources; every clone and
# worktree of the lab shares it), from the Go module proxy and Debian packages:
#   - apt-get install llvm-16-dev clang-16 lld-16 libclang-16-dev
#     libclang-rt-16-dev-wasm32 wasi-libc binaryen (as root, only those missing);
#   - go mod download github.com/tinygo-org/tinygo@v0.33.0 (the proxy serves it as
#     a module, without its git submodules, none of which wasm needs), copied out of
#     the module cache, with an empty src/net (every build fails without it) and
#     initheap.patch (0.33's wasm-unknown _initialize never calls initHeap);
#   - GOTOOLCHAIN=go1.23.12 go build -tags llvm16 (TinyGo 0.33 accepts Go 1.19-1.23);
#   - the precompiled libraries TinyGo would otherwise build from its submodules:
#     compiler-rt is Debian's libclang_rt.builtins-wasm32.a, wasm-unknown's
#     wasmbuiltins is packed from the 13 objects of wasi-libc's libc.a it names, and
#     wasip1's wasi-libc sysroot points at Debian's.
# Exit status 2 with "skipped tinygo: reason" on stderr when it cannot be had (no
# apt-get, not root, no network; with -cached, when it is not built yet, which
# is how go test asks); 1 when a build step fails.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${TINYGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alloclab-tinygo}
version=0.33.0
gotoolchain=go1.23.12
root=$cache/tinygo-$version # TINYGOROOT
bin=$cache/bin

log() { echo "toolchain.sh: $*" >&2; }
skip() { echo "skipped tinygo: $*" >&2; exit 2; }
fail() { echo "FAILED tinygo: $*" >&2; exit 1; }

# line prints the toolchain line of the tinygo command $1.
line() {
	local v
	v=$("$1" version) || return 1
	# tinygo version 0.33.0 linux/amd64 (using go version go1.23.12 and LLVM version 16.0.6)
	echo "$v" | sed -n 's/^tinygo version \([^ ]*\) [^ ]* (using go version \([^ ]*\) and LLVM version \([^)]*\)).*/tinygo \1 (LLVM \3, \2)/p' | tr -d '\n'
	echo " + $(wasm-opt --version | sed 's/ (.*//')"
}

# done_with prints the command $1 and writes its toolchain line beside it.
done_with() {
	local l
	l=$(line "$1") || fail "$1 version failed"
	echo "$l" >"$(dirname "$1")/toolchain.txt"
	log "$l"
	echo "$1"
	exit 0
}

# A TinyGo of the same version and LLVM major in PATH (a release, or Debian's
# someday) is used as it is; only its toolchain line is written, into cache/bin.
if t=$(command -v tinygo) && [ "$t" != "$bin/tinygo" ] && command -v wasm-opt >/dev/null &&
	"$t" version 2>/dev/null | grep -q "^tinygo version $version .*LLVM version 16\."; then
	mkdir -p "$bin"
	ln -sf "$t" "$bin/tinygo"
	done_with "$bin/tinygo"
fi

# stamp names what the build depends on: a change rebuilds.
stamp="tinygo $version llvm16 $gotoolchain patch $(sha256sum <"$here/initheap.patch" | cut -c1-16)"
# One build at a time: clones and worktrees share the cache.
mkdir -p "$cache"
if command -v flock >/dev/null; then
	exec 9>"$cache/.lock"
	flock 9
fi
if [ -x "$bin/tinygo" ] && [ "$(cat "$root/.stamp" 2>/dev/null)" = "$stamp" ]; then
	done_with "$bin/tinygo"
fi
[ "${1:-}" = -cached ] && skip "not built yet: run guests/tinygo/toolchain.sh (make guests does)"

# need_apt PKG... installs the Debian packages that are missing.
need_apt() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || skip "needs Debian packages ${missing[*]} and there is no apt-get"
	[ "$(id -u)" = 0 ] || skip "needs Debian packages ${missing[*]}: run as root or apt-get install them"
	export DEBIAN_FRONTEND=noninteractive
	log "apt-get install -y ${missing[*]}"
	{ apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >&2 ||
		skip "apt-get install ${missing[*]} failed"
}

command -v go >/dev/null || skip "no go in PATH"
need_apt llvm-16-dev clang-16 lld-16 libclang-16-dev libclang-rt-16-dev-wasm32 wasi-libc binaryen

start=$(date +%s)
log "building TinyGo $version with LLVM 16 into $root (once; about a minute cold)"
GOTOOLCHAIN=$gotoolchain go version >/dev/null 2>&1 || skip "cannot get Go toolchain $gotoolchain from the module proxy"
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/tinygo-org/tinygo@v$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] && [ -d "$dir" ] || skip "go mod download github.com/tinygo-org/tinygo@v$version failed"

rm -rf "$root" "$bin"
mkdir -p "$cache" "$bin"
cp -r "$dir" "$root" && chmod -R u+w "$root" || fail "cannot copy $dir"
mkdir -p "$root/src/net"
patch -s -d "$root" -p1 <"$here/initheap.patch" || fail "initheap.patch does not apply"
(cd "$root" && GOTOOLCHAIN=$gotoolchain GOFLAGS= go build -tags llvm16 -o build/tinygo .) || fail "go build -tags llvm16 failed"

rt=/usr/lib/llvm-16/lib/clang/16/lib/wasi/libclang_rt.builtins-wasm32.a
[ -f "$rt" ] || fail "no $rt (libclang-rt-16-dev-wasm32)"
for triple in wasm32-unknown-unknown-generic wasm32-unknown-wasi-generic; do
	mkdir -p "$root/pkg/$triple/compiler-rt"
	cp "$rt" "$root/pkg/$triple/compiler-rt/lib.a"
done
# builder/wasmbuiltins.go compiles these 13 files of wasi-libc: memcpy, memmove and
# memset for LLVM's memory intrinsics, exp, exp2 and log for its math ones.
objs=(memcpy.o memmove.o memset.o __math_divzero.o __math_invalid.o __math_oflow.o
	__math_uflow.o __math_xflow.o exp.o exp_data.o exp2.o log.o log_data.o)
wb=$root/pkg/wasm32-unknown-unknown-generic/wasmbuiltins
mkdir -p "$wb"
(cd "$wb" && ar x /usr/lib/wasm32-wasi/libc.a "${objs[@]}" && llvm-ar-16 rcsD lib.a "${objs[@]}" && rm "${objs[@]}") ||
	fail "cannot pack wasmbuiltins from /usr/lib/wasm32-wasi/libc.a"
mkdir -p "$root/lib/wasi-libc/sysroot/lib"
ln -sfn /usr/lib/wasm32-wasi "$root/lib/wasi-libc/sysroot/lib/wasm32-wasi"
ln -sfn /usr/include/wasm32-wasi "$root/lib/wasi-libc/sysroot/include"

# The command: TinyGo finds its root, and its Go (for the standard library), here.
cat >"$bin/tinygo" <<EOF
#!/bin/sh
# Runs TinyGo $version as guests/tinygo/toolchain.sh built it, beside this folder.
TINYGOROOT=\$(cd "\$(dirname "\$0")/../tinygo-$version" && pwd) || exit 1
export TINYGOROOT GOTOOLCHAIN=$gotoolchain GOFLAGS=
exec "\$TINYGOROOT/build/tinygo" "\$@"
EOF
chmod +x "$bin/tinygo"
echo "$stamp" >"$root/.stamp"
log "built TinyGo in $(($(date +%s) - start)) s"
done_with "$bin/tinygo"
