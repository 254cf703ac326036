#!/usr/bin/env bash
# Builds the real-world allocator baselines into out/NAME.wasm, each with
# out/NAME.toolchain naming the toolchain and its version on one line.
#
#   guests/baselines/build.sh [-check] [NAME...]    (default: all of them)
#
# Names: dlmalloc rust-std tlsf as-stub emmalloc go-runtime go-runtime-gogc50
# go-runtime-memlimit mimalloc mallocng (see README.md).
# It installs what each needs where it can: Debian packages with apt-get (as root,
# and only those not yet installed), AssemblyScript with npm ci into tlsf/, and
# the Debian source packages of mimalloc and musl with apt-get source into cache/,
# through a private deb-src list in cache/apt/ (the machine's sources are left
# alone). A
# baseline whose toolchain cannot be had is reported as "skipped NAME: reason" and
# the others go on; the exit status is non-zero only when a build itself fails.
# -check builds each twice and fails if the two differ by a byte.
#
# A baseline is built again only when its out/NAME.stamp (a digest of this folder
# and the installed toolchains' versions) changed; a baseline skipped or failed
# has its old out/NAME.wasm removed, so it is never measured stale.
# Nothing built here is committed: out/, cache/ and node_modules/ are git-ignored.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
cache=$here/cache
all=(dlmalloc rust-std tlsf as-stub emmalloc go-runtime)
all+=(tinygo-leaking tinygo-precise) # TinyGo's heaps, by collector
all+=(go-runtime-gogc50 go-runtime-memlimit mimalloc mallocng)
# Built only when named: TinyGo's conservative collector scans every byte of every
# block, and one checked pass of realloc-growth or oom-sweep outlasts the harness's
# 2-minute limit (README.md).
byname=(tinygo-conservative)

log() { echo "build.sh: $*" >&2; }

check=
names=()
for a in "$@"; do
	case $a in
	-check | --check) check=1 ;;
	-h | -help | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
	*)
		if [[ " ${all[*]} ${byname[*]} " != *" $a "* ]]; then
			log "unknown baseline $a (want one of: ${all[*]} ${byname[*]})"
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

# need_deb_src PKG downloads Debian's source package PKG into cache/ with
# apt-get source --download-only, through a private apt configuration under
# cache/apt/ that holds the one deb-src entry it needs (the machine's sources are
# not touched), unpacks it with dpkg-source and sets srcdir to the unpacked tree
# and srcinfo to "PKG VERSION (FILE BYTES bytes sha256 HASH ...)".
need_deb_src() {
	local pkg=$1 codename dsc
	if ! command -v apt-get >/dev/null || ! command -v dpkg-source >/dev/null; then
		reason="needs apt-get and dpkg-source (dpkg-dev) to fetch Debian's $pkg source package"
		return 1
	fi
	dsc=$(ls "$cache/src/$pkg"/"${pkg}"_*.dsc 2>/dev/null | head -1)
	if [ -z "$dsc" ]; then
		codename=$(. /etc/os-release 2>/dev/null && [ "${ID:-}" = debian ] && echo "${VERSION_CODENAME:-}")
		if [ -z "$codename" ]; then
			reason="fetches Debian's $pkg source package and this is not Debian (no ID=debian, VERSION_CODENAME in /etc/os-release)"
			return 1
		fi
		local a=$cache/apt
		mkdir -p "$a/sources.list.d" "$a/lists/partial" "$a/archives/partial" "$cache/src/$pkg"
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $codename main" >"$a/sources.list"
		local opts=(-o "Dir::Etc::sourcelist=$a/sources.list" -o "Dir::Etc::sourceparts=$a/sources.list.d"
			-o "Dir::State::Lists=$a/lists" -o "Dir::Cache::archives=$a/archives"
			-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
		if ! ls "$a/lists/"*_Sources* >/dev/null 2>&1; then
			log "apt-get update with cache/apt/sources.list (deb-src $codename main only)"
			apt-get "${opts[@]}" update -qq >&2 || { reason="apt-get update of the private deb-src list failed"; return 1; }
		fi
		log "apt-get source --download-only $pkg (into cache/src/$pkg)"
		(cd "$cache/src/$pkg" && apt-get "${opts[@]}" source --download-only -qq "$pkg" >&2) ||
			{ reason="apt-get source --download-only $pkg failed"; return 1; }
		dsc=$(ls "$cache/src/$pkg"/"${pkg}"_*.dsc 2>/dev/null | head -1)
		[ -n "$dsc" ] || { reason="apt-get source $pkg gave no .dsc"; return 1; }
	fi
	local ver
	ver=$(sed -n 's/^Version: //p' "$dsc")
	srcdir=$cache/src/$pkg/$pkg-$ver
	if [ ! -d "$srcdir" ]; then
		log "dpkg-source -x $(basename "$dsc")"
		(cd "$cache/src/$pkg" && dpkg-source -q -x "$(basename "$dsc")" "$pkg-$ver" >&2) ||
			{ reason="dpkg-source -x $(basename "$dsc") failed"; rm -rf "$srcdir"; return 1; }
	fi
	local f files=()
	for f in "$cache/src/$pkg"/*; do
		[ -f "$f" ] || continue
		case $f in *.asc) continue ;; esac
		files+=("$(basename "$f") $(wc -c <"$f") bytes sha256 $(sha256sum "$f" | cut -c1-64)")
	done
	srcinfo="Debian source $pkg $ver ($(IFS=,; echo "${files[*]}" | sed 's/,/, /g'))"
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
tinygo= tinygo_status= tinygo_reason=
need_tinygo() {
	[ -n "$tinygo" ] && return 0
	if [ -n "$tinygo_status" ]; then # tried before: the same answer
		reason=$tinygo_reason
		return "$tinygo_status"
	fi
	local errf status
	errf=$(mktemp)
	tinygo=$("$here/../tinygo/toolchain.sh" 2>"$errf")
	status=$?
	cat "$errf" >&2
	reason=$(sed -n 's/^skipped tinygo: //p' "$errf")
	rm -f "$errf"
	if [ $status -ne 0 ]; then
		tinygo= tinygo_status=1 tinygo_reason=$reason
		[ $status -eq 2 ] && [ -n "$reason" ] && tinygo_status=2
		return $tinygo_status
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

# go_tuned OUT TOOLCHAIN-NOTE -X... builds goruntime with tune.go (the tuned
# build tag), the collector's settings given as -X main.NAME=VALUE.
go_tuned() {
	local o=$1 note=$2
	shift 2
	need_go || return 2
	toolchain="$gover wasip1/wasm -buildmode=c-shared -tags tuned $note"
	(cd "$here/goruntime" &&
		GOTOOLCHAIN=local GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOFLAGS= \
			go build -buildmode=c-shared -trimpath -buildvcs=false -tags tuned -ldflags="-s $*" -o "$o" .)
}

recipe_go-runtime-gogc50() { go_tuned "$1" "GOGC=50 (debug.SetGCPercent)" -X main.gcPercent=50; }

# 4 MiB: below the 4 MiB heap goal that GOGC=100 keeps as its minimum, so the
# limit binds on small live sets.
recipe_go-runtime-memlimit() { go_tuned "$1" "GOMEMLIMIT=4MiB (debug.SetMemoryLimit)" -X main.memLimit=4194304; }

recipe_mimalloc() {
	need_apt clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 || return 2
	need_deb_src mimalloc || return 2
	toolchain="clang $(clangver) + wasi-libc $(pkgver wasi-libc) + $srcinfo"
	# static.c is mimalloc's single-file build; its wasi port grows memory through
	# wasi-libc's sbrk. A release build (NDEBUG, so MI_DEBUG 0), secure mode off
	# (MI_SECURE 0, the default), no option changed and none read from the
	# environment (MI_NO_GETENV: a guest has none): see README.md.
	local rel=${srcdir#"$here/"}
	(cd "$here" &&
		clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -DNDEBUG -DMI_DEBUG=0 -DMI_SECURE=0 -DMI_NO_GETENV -mexec-model=reactor \
			-Wno-deprecated-pragma -Wno-static-in-inline -I "$rel/include" -Wl,--strip-all \
			-o "$1" mimalloc/mimalloc_abi.c "$rel/src/static.c")
}

recipe_mallocng() {
	need_apt clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 || return 2
	need_deb_src musl || return 2
	toolchain="clang $(clangver) + wasi-libc $(pkgver wasi-libc) + $srcinfo src/malloc/mallocng"
	# mallocng's meta.h includes "glue.h" from its own folder, so the sources go,
	# unchanged, into a build folder beside this project's glue.h; only the
	# wasi-libc headers are used (_WASI_EMULATED_MMAN for sys/mman.h's constants;
	# wasi-libc's mmap emulation is not linked: pages.c is mallocng's mmap).
	local b=$cache/build/mallocng f
	rm -rf "$b" && mkdir -p "$b" || return 1
	for f in malloc.c free.c realloc.c aligned_alloc.c meta.h; do
		cp "$srcdir/src/malloc/mallocng/$f" "$b/" || return 1
	done
	cp "$here/mallocng/glue.h" "$here/mallocng/pages.c" "$here/mallocng/mallocng_abi.c" "$b/" || return 1
	(cd "$b" &&
		clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -D_WASI_EMULATED_MMAN -mexec-model=reactor \
			-Wno-tautological-constant-out-of-range-compare -Wl,--strip-all \
			-o "$1" mallocng_abi.c pages.c malloc.c free.c realloc.c aligned_alloc.c)
}

# stamp prints a digest of what a build depends on: this folder's sources (with
# AssemblyScript's package-lock.json, which npm ci installs exactly) and the
# toolchains installed (Debian packages, Go, TinyGo's toolchain line where
# toolchain.sh keeps it). It reads nothing a recipe sets up lazily, so a check
# and the stamp written after a build see the same things. A baseline whose
# out/NAME.stamp matches is not built again.
tinygo_line=${TINYGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alloclab-tinygo}/bin/toolchain.txt
stamp() {
	{
		find "$here" \( -name out -o -name cache -o -name node_modules \) -prune -o -type f -print |
			LC_ALL=C sort | xargs sha256sum
		dpkg-query -W 2>/dev/null
		go version 2>/dev/null
		sha256sum "$here/../tinygo/toolchain.sh" "$here/../tinygo/initheap.patch" 2>/dev/null
		cat "$tinygo_line" 2>/dev/null
	} | sha256sum | cut -d' ' -f1
}

mkdir -p "$out"
failed=() current=()
for name in "${names[@]}"; do
	if [ -z "$check" ] && [ -s "$out/$name.wasm" ] && [ "$(cat "$out/$name.stamp" 2>/dev/null)" = "$(stamp)" ]; then
		log "$name is up to date ($(cat "$out/$name.toolchain"))"
		current+=("$name")
		continue
	fi
	# A baseline that is not rebuilt now must not be measured stale.
	rm -f "$out/$name.wasm" "$out/$name.toolchain" "$out/$name.stamp"
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
	stamp >"$out/$name.stamp"
	current+=("$name")
	log "built out/$name.wasm ($(wc -c <"$out/$name.wasm") bytes): $toolchain"
done
# A later recipe may have installed packages, npm's or TinyGo: the stamps of the
# baselines current now take the state the next run will check against, or a
# fresh machine's second run would build its first baselines again.
final=$(stamp)
for name in "${current[@]}"; do
	echo "$final" >"$out/$name.stamp"
done

if [ ${#failed[@]} -gt 0 ]; then
	log "failed: ${failed[*]}"
	exit 1
fi
