#!/usr/bin/env bash
# Runs the fuzz targets on stable Rust, without a sanitizer, from the committed seeds.
#
#   fuzz/run.sh TARGET|all SECONDS   fuzz one target (or each of `cargo fuzz list` in turn)
#                                    for SECONDS each; exits non-zero if any crashes
#   fuzz/run.sh --planted [SECONDS]  build with the `planted-bug` feature and show that
#                                    envelope_structured finds the planted parser panic
#                                    within SECONDS (default 10)
#   fuzz/run.sh --bench [SECONDS [TARGET...]]
#                                    run every target (or those named) SECONDS (default 30)
#                                    from its seeds and print the median exec/s of libFuzzer's
#                                    status lines and the runs per CPU second
#
# New corpus entries go to fuzz/corpus/TARGET/, crashes to fuzz/artifacts/TARGET/ (both
# ignored by git). With FUZZ_SMOKE=1 (CI) each run starts from the seeds alone, in a
# temporary corpus, so a smoke run is the same on every machine. A crash is recorded as a
# regression with `fuzz/add-regression.sh TARGET ARTIFACT NAME`.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$fuzz_dir")"
cd "$root"

usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# fuzz TARGET SECONDS LOG [extra cargo-fuzz options...]: one libFuzzer run from the seeds.
fuzz() {
  local target="$1" seconds="$2" log="$3"
  shift 3
  local corpus="fuzz/corpus/$target" artifacts="fuzz/artifacts/$target/"
  if [ "$fresh_corpus" = 1 ]; then
    corpus="$tmp/corpus-$target"
  fi
  mkdir -p "$corpus" "$artifacts"
  cargo fuzz run --sanitizer none "$@" "$target" "$corpus" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -max_len=8192 -dict=fuzz/oap.dict \
    -artifact_prefix="$artifacts" -print_final_stats=1 >"$log" 2>&1
}

# Smoke, planted and bench runs start from the seeds alone.
fresh_corpus="${FUZZ_SMOKE:-0}"
case "${1:-}" in --planted|--bench) fresh_corpus=1 ;; esac

targets() {
  cargo fuzz list
}

case "${1:-}" in
  --planted)
    # The structure-aware envelope target is the one meant to find envelope-parser bugs;
    # raw-byte strict_json does not reach this shape in minutes (docs/benchmarks.md).
    seconds="${2:-10}"
    target=envelope_structured
    log="$tmp/planted.log"
    start=$(date +%s)
    cargo fuzz build --sanitizer none --features planted-bug --target-dir fuzz/target/planted \
      "$target" >/dev/null 2>&1
    built=$(date +%s)
    if fuzz "$target" "$seconds" "$log" --features planted-bug --target-dir fuzz/target/planted; then
      echo "$target: planted bug NOT found in ${seconds} s" >&2
      exit 1
    fi
    if ! grep -q 'planted bug' "$log"; then
      echo "$target: crashed, but not on the planted bug:" >&2
      grep -m5 -E 'panicked|ERROR' "$log" >&2 || true
      exit 1
    fi
    runs="$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')"
    echo "$target: $(grep -m1 -o 'planted bug: .*' "$log")"
    echo "  found after $(($(date +%s) - built)) s of fuzzing (${runs:-?} runs), build $((built - start)) s"
    input="$(grep -o 'Test unit written to .*' "$log" | sed 's/Test unit written to //' | tail -1)"
    if [ -n "$input" ] && [ -f "$input" ]; then
      host="$(rustc -vV | sed -n 's/^host: //p')"
      RUST_LIBFUZZER_DEBUG_PATH="$tmp/case.json" \
        "fuzz/target/planted/$host/release/$target" "$input" >/dev/null 2>&1 || true
      echo "  input: $(head -c 2000 "$tmp/case.json")"
      mv "$input" "$tmp/"
    fi
    exit 0
    ;;
  --bench)
    # Each target runs alone from its seeds. Two figures: the median exec/s of libFuzzer's
    # status lines (those after the first second, which all read 0), and runs per CPU second
    # of the fuzzer process, which does not depend on what else the machine is running.
    seconds="${2:-30}"
    shift $(($# < 2 ? $# : 2))
    bench_targets="${*:-$(targets)}"
    cargo fuzz build --sanitizer none >/dev/null 2>&1
    host="$(rustc -vV | sed -n 's/^host: //p')"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-20s %14s %12s %8s %14s\n' target 'median exec/s' 'runs' 'CPU s' 'runs/CPU s'
    TIMEFORMAT='%U %S'
    for target in $bench_targets; do
      log="$tmp/bench-$target.log"
      mkdir -p "$tmp/corpus-$target"
      cpu="$( { time "${CARGO_TARGET_DIR:-fuzz/target}/$host/release/$target" "$tmp/corpus-$target" "fuzz/seeds/$target" \
        -max_total_time="$seconds" -timeout=10 -max_len=8192 -dict=fuzz/oap.dict \
        -artifact_prefix="$tmp/" -print_final_stats=1 >"$log" 2>&1; } 2>&1 | tail -1)"
      median="$(grep -o 'exec/s: [1-9][0-9]*' "$log" | awk '{print $2}' | sort -n |
        awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}')"
      runs="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')"
      cpus="$(echo "$cpu" | awk '{printf "%.1f", $1 + $2}')"
      per="$(awk -v r="${runs:-0}" -v c="$cpus" 'BEGIN {if (c > 0) printf "%d", r / c; else print 0}')"
      printf '%-20s %14s %12s %8s %14s\n' "$target" "$median" "${runs:-?}" "$cpus" "$per"
      if grep -q -E 'panicked|deadly signal' "$log"; then
        echo "  $target crashed during the benchmark:" >&2
        grep -m3 -A3 -E 'panicked|deadly signal' "$log" >&2
      fi
    done
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
    ;;
  ''|-h|--help)
    usage
    ;;
esac

[ $# -eq 2 ] || usage
what="$1"
seconds="$2"
if [ "$what" = all ]; then
  list="$(targets)"
else
  list="$what"
fi

failed=()
for target in $list; do
  echo "==> fuzz $target for ${seconds} s"
  log="$tmp/$target.log"
  if fuzz "$target" "$seconds" "$log"; then
    grep -E '^Done|stat::average_exec_per_sec' "$log" | sed 's/^/    /'
  else
    failed+=("$target")
    echo "    CRASH in $target:" >&2
    grep -E -A12 'panicked|deadly signal|ERROR: libFuzzer' "$log" | head -40 | sed 's/^/    /' >&2
    grep -E 'Test unit written to' "$log" | sed 's/^/    /' >&2 || true
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}; record each with fuzz/add-regression.sh TARGET ARTIFACT NAME" >&2
  exit 1
fi
echo "fuzz: no crash in $(echo "$list" | wc -w) target(s)"
