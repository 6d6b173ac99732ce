#!/usr/bin/env bash
# Runs every fuzz target (or those named) for FUZZ_SECONDS each, one after the other, under nice, and prints
# executions per target. Exit 1 if any target crashed, leaked, timed out or ran out of memory; the input that did
# it is kept in .build-fuzz/artifacts/<target>/ (reproduce: .build-fuzz/fuzz-<target> <file>).
#
#   bash Fuzz/run.sh [TARGET...]          FUZZ_SECONDS=60 (default)
#   FUZZ_MERGE=1 bash Fuzz/run.sh         also merge new coverage into Fuzz/corpus/<target> (-merge=1 keeps it minimal)
#   bash Fuzz/run.sh --reseed             merge Fuzz/seed.py's inputs (cut from Tests/Fixtures) into the corpora
#
# The committed corpus is read, never written, unless FUZZ_MERGE=1: new inputs of a run go to a scratch folder.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${FUZZ_BUILD:-.build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
RESEED=0
if [ "${1:-}" = "--reseed" ]; then RESEED=1; shift; fi
bash Fuzz/build.sh "$@"
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(vfw safetensors sharded zip legacy pickle)
  [ -n "$(git ls-files Sources/Imaging 2>/dev/null)" ] && TARGETS+=(png jpeg)
fi
dict_for() {
  case $1 in
    vfw|safetensors|sharded) echo Fuzz/dict/json.dict ;;
    zip) echo Fuzz/dict/zip.dict ;;
    legacy|pickle) echo Fuzz/dict/pickle.dict ;;
    png) echo Fuzz/dict/png.dict ;;
    jpeg) echo Fuzz/dict/jpeg.dict ;;
  esac
}
# Swift's crash backtracer would wait on a terminal; libFuzzer and ASan report crashes themselves.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
mkdir -p "$OUT/logs"
if [ $RESEED -eq 1 ]; then
  rm -rf "$OUT/seeds"; python3 Fuzz/seed.py "$OUT/seeds"
fi
failed=0
summary=()
for t in "${TARGETS[@]}"; do
  corpus=Fuzz/corpus/$t
  mkdir -p "$corpus" "$OUT/artifacts/$t"
  scratch=$(mktemp -d "/tmp/vfw-fuzz-$t.XXXXXX")
  if [ $RESEED -eq 1 ] && [ -d "$OUT/seeds/$t" ]; then
    nice -n 10 "$OUT/fuzz-$t" -merge=1 "$corpus" "$OUT/seeds/$t" > "$OUT/logs/$t-reseed.log" 2>&1
  fi
  log=$OUT/logs/$t.log
  # One allocation may not pass 512 MB (the readers' copy budget is 64 MB in the targets; the image decoders
  # refuse a file whose data cannot fill the raster its header claims, so inputs up to -max_len stay far below).
  malloc=512; rss=2048
  # Every finding stays fixed: replay the minimised inputs of Tests/Fixtures/fuzz/<target> (and, for the image
  # targets, the hostile images of Tests/Fixtures/images/hostile) under the same limits first.
  regress=()
  for f in Tests/Fixtures/fuzz/$t/* ; do [ -f "$f" ] && [ "${f##*.}" != md ] && regress+=("$f"); done
  case $t in
    png) for f in Tests/Fixtures/images/hostile/*.png; do regress+=("$f"); done ;;
    jpeg) for f in Tests/Fixtures/images/hostile/*.jpg; do regress+=("$f"); done ;;
  esac
  if [ ${#regress[@]} -gt 0 ]; then
    set +e
    nice -n 10 "$OUT/fuzz-$t" -rss_limit_mb=$rss -malloc_limit_mb=$malloc -timeout=10 "${regress[@]}" \
      > "$OUT/logs/$t-regress.log" 2>&1
    rstatus=$?
    set -e
    if [ $rstatus -ne 0 ]; then
      failed=1
      echo "FUZZ REGRESSION $t (exit $rstatus): $(grep -m1 -E 'ERROR: |SUMMARY: |Fatal error|Running: ' "$OUT/logs/$t-regress.log")"
      echo "          log: $OUT/logs/$t-regress.log"
    fi
  fi
  set +e
  nice -n 10 "$OUT/fuzz-$t" "$scratch" "$corpus" -dict="$(dict_for "$t")" -max_total_time="$SECONDS_EACH" \
    -timeout=10 -rss_limit_mb=$rss -malloc_limit_mb=$malloc -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$OUT/artifacts/$t/" > "$log" 2>&1
  status=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  runs=${runs:-0}; secs=${secs:-$SECONDS_EACH}
  rate=$(( runs / (secs > 0 ? secs : 1) ))
  if [ $status -ne 0 ]; then
    failed=1
    echo "FUZZ FAIL $t (exit $status): $(grep -m1 -E 'ERROR: |SUMMARY: |Fatal error|precondition' "$log" || tail -1 "$log")"
    echo "          input: $(ls -t "$OUT/artifacts/$t"/* 2>/dev/null | head -1); log: $log"
  fi
  if [ "${FUZZ_MERGE:-0}" = 1 ] && [ $status -eq 0 ]; then
    nice -n 10 "$OUT/fuzz-$t" -merge=1 "$corpus" "$scratch" > "$OUT/logs/$t-merge.log" 2>&1
  fi
  rm -rf "$scratch"
  summary+=("$(printf '%-12s %8s s %12s runs %8s/s  corpus %4s  %s' "$t" "$secs" "$runs" "$rate" "$(ls "$corpus" | wc -l)" \
    "$([ $status -eq 0 ] && echo ok || echo CRASH)")")
done
printf '%s\n' "${summary[@]}"
exit $failed
