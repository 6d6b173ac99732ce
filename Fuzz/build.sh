#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/Targets into .build-fuzz/ (outside `swift build`, which never sees them).
#
# `swift build --sanitize=fuzzer` would need the targets in Package.swift (so in every normal build), and a side
# package cannot depend on the reader modules (they are not products), so this compiles the modules the parsers
# need with swiftc, one module at a time, in dependency order:
# TensorCore with AddressSanitizer only (its kernels are not fuzzed; coverage there would only dilute the signal),
# the reader modules with `-sanitize=fuzzer,address` (coverage + ASan) and `-enable-testing` (the zip and pickle
# targets reach internal types through @testable import). A module is rebuilt only when a source is newer.
#
#   bash Fuzz/build.sh [TARGET...]     # default: every target whose module is in git
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${FUZZ_BUILD:-.build-fuzz}
mkdir -p "$OUT/mods" "$OUT/obj"
SWIFTC=${SWIFTC:-swiftc}
CLANG=${CLANG:-$(dirname "$(command -v "$SWIFTC")")/clang}
COMMON=(-g -swift-version 5 -parse-as-library -I "$OUT/mods" -I "$OUT/cmods/CImageShims" -I "$OUT/cmods/CKernels"
  -I Sources/COpenBLAS -I Sources/CZlib)
BLAS_CFLAGS=$(pkg-config --cflags openblas 2>/dev/null || true)
for f in $BLAS_CFLAGS; do COMMON+=(-Xcc "$f"); done
LIBS=($(pkg-config --libs-only-L openblas 2>/dev/null || true) -lopenblas -lz -lpng16 -ljpeg)

# module NAME SANITIZE [OPT] : compile Sources/NAME into one object and a .swiftmodule.
module() {
  local name=$1 sanitize=$2 opt=${3:--O}
  local obj="$OUT/obj/$name.o" srcs
  mapfile -t srcs < <(find "Sources/$name" -name '*.swift' | sort)
  if [ -f "$obj" ] && [ ! Fuzz/build.sh -nt "$obj" ] && [ -z "$(find "Sources/$name" -name '*.swift' -newer "$obj" | head -1)" ]; then
    return
  fi
  echo "fuzz build: module $name"
  nice -n 10 "$SWIFTC" "${COMMON[@]}" "$opt" "-sanitize=$sanitize" -enable-testing -wmo -module-name "$name" \
    -emit-module -emit-module-path "$OUT/mods/$name.swiftmodule" -c "${srcs[@]}" -o "$obj"
}

# cmodule NAME [SANITIZE] : compile the C target Sources/NAME (sources + include/) with coverage and ASan (or only
# what SANITIZE names), and a module map for its include/ folder (SwiftPM writes one itself; swiftc needs it spelled out).
cmodule() {
  local name=$1 sanitize=${2:-address,fuzzer-no-link} obj="$OUT/obj/$1.o"
  local srcs; mapfile -t srcs < <(find "Sources/$name" -name '*.c' | sort)
  mkdir -p "$OUT/cmods/$name"
  printf 'module %s {\n    umbrella header "%s"\n    export *\n}\n' "$name" "$PWD/Sources/$name/include/$(ls "Sources/$name/include" | grep '\.h$' | head -1)" \
    > "$OUT/cmods/$name/module.modulemap"
  if [ -f "$obj" ] && [ ! Fuzz/build.sh -nt "$obj" ] && [ -z "$(find "Sources/$name" -newer "$obj" | head -1)" ]; then return; fi
  echo "fuzz build: C module $name"
  local o=() s
  for s in "${srcs[@]}"; do
    nice -n 10 "$CLANG" -O1 -g -fsanitize="$sanitize" -I "Sources/$name/include" $(pkg-config --cflags libpng 2>/dev/null) \
      -c "$s" -o "$OUT/obj/$name-$(basename "$s" .c).o"
    o+=("$OUT/obj/$name-$(basename "$s" .c).o")
  done
  ld -r "${o[@]}" -o "$obj"
}

# target NAME OBJECTS... : link Fuzz/Targets/NAME.swift against the objects with libFuzzer's main. png and jpeg
# share Fuzz/Targets/image.swift (the jpeg build defines JPEG).
target() {
  local name=$1; shift
  local objs=() m src="Fuzz/Targets/$name.swift" defs=()
  case $name in png) src=Fuzz/Targets/image.swift ;; jpeg) src=Fuzz/Targets/image.swift; defs=(-D JPEG) ;; esac
  for m in "$@"; do objs+=("$OUT/obj/$m.o"); done
  local bin="$OUT/fuzz-$name"
  if [ -x "$bin" ] && [ -z "$(find "$src" "${objs[@]}" -newer "$bin" | head -1)" ]; then return; fi
  echo "fuzz build: target $name"
  nice -n 10 "$SWIFTC" "${COMMON[@]}" -O -sanitize=fuzzer,address -module-name "fuzz_$name" "${defs[@]}" \
    "$src" "${objs[@]}" "${LIBS[@]}" -o "$bin" 2> >(grep -v "Cannot export local symbol '__asan" >&2)
}

# Imaging joins once it is in git (PNG and JPEG go through libpng / libjpeg-turbo via the C shims).
imaging_in_git() { [ -n "$(git ls-files Sources/Imaging 2>/dev/null)" ]; }
ALL=(vfw safetensors sharded zip legacy pickle)
if imaging_in_git; then ALL+=(png jpeg); fi
TARGETS=("${@:-${ALL[@]}}")

# TensorCore unoptimised: the readers use only its storage and checksum types, and its kernels take minutes at -O.
# Its C kernels (CKernels) with ASan only, for the same reason.
cmodule CKernels address
module TensorCore address -Onone
for t in "${TARGETS[@]}"; do
  case $t in
    vfw) module VFWFormat fuzzer,address; target vfw CKernels TensorCore VFWFormat ;;
    safetensors|sharded) module Safetensors fuzzer,address; target "$t" CKernels TensorCore Safetensors ;;
    zip|legacy|pickle) module TorchArchive fuzzer,address; target "$t" CKernels TensorCore TorchArchive ;;
    png|jpeg) imaging_in_git || { echo "fuzz build: $t needs Sources/Imaging in git" >&2; exit 2; }
              cmodule CImageShims; module Imaging fuzzer,address; target "$t" CKernels TensorCore CImageShims Imaging ;;
    *) echo "fuzz build: unknown target '$t' (known: ${ALL[*]})" >&2; exit 2 ;;
  esac
done
