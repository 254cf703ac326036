#!/usr/bin/env bash
# Builds the real-world allocator baselines into out/NAME.wasm, each with
# out/NAME.toolchain naming the toolchain and its version on one line.
#
#   guests/baselines/build.sh [-check] [NAME...]    (default: all of them)
#
# Names: dlmalloc rust-std tlsf as-stub emmalloc go-runtime (see README.md).
# It installs what each needs where it can: Debian packages with apt-get (as root,
# and only those not yet installed), AssemblyScript with npm ci into tlsf/. A
# baseline whose toolchain cannot be had is reported as "skipped NAME: reason" and
# the others go on; the exit status is non-zero only when a build itself fails.
# -check builds each twice and fails if the two differ by a byte.
#
# Nothing built here is committed: out/, cache/ and node_modules/ are git-ignored.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
cache=$here/cache
all=(dlmalloc rust-std tlsf as-stub emmalloc go-runtime)
all+=(tinygo-leaking tinygo-conservative tinygo-precise) # TinyGo's heaps, by collector

log() { echo "build.sh: $*" >&2; }

check=
names=()
for a in "$@"; do
	case $a in
	-check | --check) check=1 ;;
	-h | -help | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
	*)
		if [[ " ${all[*]} " != *" $a "* ]]; then
			log "unknown baseline $a (want one of: ${all[*]})"
			exit 2
		fi
		names+=("$a")
		;;
	esac
done
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")

export DEBIAN_FRONTEND=noninteractive
reason= # why the last need_* failed

# need_apt PKG... installs the Debian packages that are missing.
apt_updated=
need_apt() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if ! command -v apt-get >/dev/null; then
		reason="needs Debian packages ${missing[*]} and there is no apt-get"
		return 1
	fi
	if [ "$(id -u)" != 0 ]; then
		reason="needs Debian packages ${missing[*]}: run as root or apt-get install them"
		return 1
	fi
	if [ -z "$apt_updated" ]; then
		log "apt-get update (to install ${missing[*]})"
		apt-get update -qq >&2 || { reason="apt-get update failed"; return 1; }
		apt_updated=1
	fi
	log "apt-get install -y ${missing[*]}"
	apt-get install -y -qq "${missing[@]}" >&2 || { reason="apt-get install ${missing[*]} failed"; return 1; }
}

# pkgver PKG prints the installed version of a Debian package.
pkgver() { dpkg-query -W -f='${Version}' "$1"; }

# clangver prints clang-19's version, such as 19.1.7.
clangver() { clang-19 --version | sed -n '1s/.*clang version \([0-9.]*\).*/\1/p'; }

# need_emmalloc_src sets emsrc to emmalloc.c taken from Debian's emscripten
# package (downloaded into cache/, not installed) and emver to its version.
need_emmalloc_src() {
	local deb
	deb=$(ls "$cache"/emscripten_*_all.deb 2>/dev/null | head -1)
	if [ -z "$deb" ]; then
		if ! command -v apt-get >/dev/null; then
			reason="needs apt-get to download Debian's emscripten package"
			return 1
		fi
		mkdir -p "$cache"
		log "apt-get download emscripten (into cache/, for system/lib/emmalloc.c only)"
		if ! (cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root emscripten >&2); then
			if [ -z "$apt_updated" ] && [ "$(id -u)" = 0 ]; then
				log "apt-get update (to find emscripten)"
				apt-get update -qq >&2 && apt_updated=1
			fi
			(cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root emscripten >&2) ||
				{ reason="apt-get download emscripten failed"; return 1; }
		fi
		deb=$(ls "$cache"/emscripten_*_all.deb | head -1)
	fi
	emver=$(dpkg-deb -f "$deb" Version)
	local dir=$cache/emscripten-$emver
	emsrc=$dir/usr/share/emscripten/system/lib/emmalloc.c
	if [ ! -f "$emsrc" ]; then
		mkdir -p "$dir"
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" ./usr/share/emscripten/system/lib/emmalloc.c ||
			{ reason="cannot unpack emmalloc.c from $deb"; return 1; }
	fi
}

# need_asc runs npm ci in tlsf/ unless node_modules already has the locked
# AssemblyScript, and sets asver.
need_asc() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		reason="needs node >= 20 and npm for AssemblyScript (Debian 12's nodejs is 18, too old)"
		return 1
	fi
	local major
	major=$(node -p 'process.versions.node.split(".")[0]')
	if [ "$major" -lt 20 ]; then
		reason="AssemblyScript needs node >= 20, have $(node --version)"
		return 1
	fi
	local want have
	want=$(cd "$here/tlsf" && node -p 'require("./package-lock.json").packages["node_modules/assemblyscript"].version')
	have=$(cd "$here/tlsf" && node -p 'require("./node_modules/assemblyscript/package.json").version' 2>/dev/null)
	if [ "$want" != "$have" ]; then
		log "npm ci in tlsf/ (assemblyscript $want)"
		(cd "$here/tlsf" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
			{ reason="npm ci failed in tlsf/"; return 1; }
	fi
	asver=$want
}

# need_go checks for a Go that has go:wasmexport (1.24 or later).
need_go() {
	if ! command -v go >/dev/null; then
		reason="no go in PATH (needs Go 1.24 or later for go:wasmexport)"
		return 1
	fi
	gover=$(go env GOVERSION)
	local minor
	minor=$(echo "$gover" | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
	if [ -z "$minor" ] || [ "$minor" -lt 24 ]; then
		reason="needs Go 1.24 or later (go:wasmexport), have $gover"
		return 1
	fi
}

# Each recipe checks its toolchain (returning 2 with reason set when it cannot be
# had), then builds $1, the output path, and sets toolchain. Sources are named
# relative to the recipe's folder so that no path of this machine gets in.
recipe_dlmalloc() {
	need_apt clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 || return 2
	toolchain="clang $(clangver) + wasi-libc $(pkgver wasi-libc)"
	(cd "$here/dlmalloc" &&
		clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -Wl,--strip-all \
			-o "$1" dlmalloc.c)
}

recipe_rust-std() {
	# Debian's rustc, not a rustup one that may come first in PATH.
	need_apt rustc libstd-rust-dev-wasm32 lld-14 || return 2
	toolchain="$(/usr/bin/rustc --version) + libstd-rust-dev-wasm32 $(pkgver libstd-rust-dev-wasm32)"
	(cd "$here/rust-std" &&
		/usr/bin/rustc --edition 2021 --target wasm32-unknown-unknown --crate-type cdylib --crate-name rust_std \
			-O -C panic=abort -C strip=symbols -o "$1" lib.rs)
}

recipe_tlsf() {
	need_asc || return 2
	toolchain="assemblyscript $asver --runtime minimal (TLSF)"
	(cd "$here/tlsf" && node_modules/.bin/asc index.ts --runtime minimal -O --noAssert --use abort=index/trap -o "$1")
}

recipe_as-stub() {
	need_asc || return 2
	toolchain="assemblyscript $asver --runtime stub"
	(cd "$here/tlsf" && node_modules/.bin/asc stub.ts --runtime stub -O --noAssert --use abort=index/trap -o "$1")
}

recipe_emmalloc() {
	need_apt clang-19 lld-19 || return 2
	need_emmalloc_src || return 2
	toolchain="clang $(clangver) + emscripten $emver system/lib/emmalloc.c"
	# The emscripten target gives emscripten's 8-byte max_align_t, which emmalloc.c
	# asserts; -O2 -DNDEBUG is how emscripten builds its release libemmalloc.a.
	local flags=(--target=wasm32-unknown-emscripten -O2 -DNDEBUG -fno-strict-aliasing -mbulk-memory -nostdlibinc -isystem include)
	(cd "$here/emmalloc" &&
		clang-19 "${flags[@]}" -c -o "$1.abi.o" emmalloc_abi.c &&
		clang-19 "${flags[@]}" -c -o "$1.shim.o" shim.c &&
		clang-19 "${flags[@]}" -c -o "$1.emmalloc.o" "$emsrc" &&
		clang-19 --target=wasm32-unknown-emscripten -nostdlib -Wl,--no-entry -Wl,--strip-all \
			-o "$1" "$1.abi.o" "$1.shim.o" "$1.emmalloc.o")
	local status=$?
	rm -f "$1".*.o
	return $status
}

recipe_go-runtime() {
	need_go || return 2
	toolchain="$gover wasip1/wasm -buildmode=c-shared"
	(cd "$here/goruntime" &&
		GOTOOLCHAIN=local GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOFLAGS= \
			go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags=-s -o "$1" .)
}

# The TinyGo heaps: go-runtime's source, one build per collector, with TinyGo
# 0.33 from ../tinygo/toolchain.sh, which builds it where missing (wasm-unknown
# needs its initheap.patch for these). -opt=2 as the TinyGo twins; the rest is
# TinyGo's default for wasm-unknown (64 KiB stack, heap doubling as it grows).
tinygo=
need_tinygo() {
	[ -n "$tinygo" ] && return 0
	local errf status
	errf=$(mktemp)
	tinygo=$("$here/../tinygo/toolchain.sh" 2>"$errf")
	status=$?
	cat "$errf" >&2
	reason=$(sed -n 's/^skipped tinygo: //p' "$errf")
	rm -f "$errf"
	if [ $status -ne 0 ]; then
		tinygo=
		[ $status -eq 2 ] && [ -n "$reason" ] && return 2
		return 1
	fi
	tinygover=$(cat "$(dirname "$tinygo")/toolchain.txt")
}

# tinygo_heap OUT GC builds the TinyGo heap baseline with collector GC.
tinygo_heap() {
	need_tinygo || return
	local flags=(-target=wasm-unknown -gc="$2" -scheduler=none -opt=2 -no-debug -panic=trap)
	toolchain="$tinygover ${flags[*]}"
	(cd "$here/goruntime" && "$tinygo" build "${flags[@]}" -o "$1" .)
}

recipe_tinygo-leaking() { tinygo_heap "$1" leaking; }
recipe_tinygo-conservative() { tinygo_heap "$1" conservative; }
recipe_tinygo-precise() { tinygo_heap "$1" precise; }

mkdir -p "$out"
failed=()
for name in "${names[@]}"; do
	log "building $name"
	tmp=$out/.$name.tmp.wasm
	rm -f "$tmp"
	reason= toolchain=
	"recipe_$name" "$tmp"
	status=$?
	if [ $status -eq 2 ] && [ -n "$reason" ]; then
		echo "skipped $name: $reason" >&2
		rm -f "$tmp"
		continue
	fi
	if [ $status -ne 0 ] || [ ! -s "$tmp" ]; then
		echo "FAILED $name: its build command failed (see above)" >&2
		rm -f "$tmp"
		failed+=("$name")
		continue
	fi
	if [ -n "$check" ]; then
		log "rebuilding $name to check it is reproducible"
		again=$out/.$name.again.wasm
		"recipe_$name" "$again" && cmp -s "$tmp" "$again"
		status=$?
		rm -f "$again"
		if [ $status -ne 0 ]; then
			echo "FAILED $name: a second build gave different bytes" >&2
			rm -f "$tmp"
			failed+=("$name")
			continue
		fi
	fi
	mv "$tmp" "$out/$name.wasm"
	echo "$toolchain" >"$out/$name.toolchain"
	log "built out/$name.wasm ($(wc -c <"$out/$name.wasm") bytes): $toolchain"
done

if [ ${#failed[@]} -gt 0 ]; then
	log "failed: ${failed[*]}"
	exit 1
fi
