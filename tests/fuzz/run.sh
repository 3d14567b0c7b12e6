#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [TARGET...]: builds the libFuzzer targets (clang, -DHB_FUZZ=ON, in build-fuzz/) and runs
# each for SECONDS (default 60) on a scratch copy of its seed corpus tests/fuzz/corpus/TARGET/, one after the other.
# Fails when any target finds a crash, a leak, a timeout or an out-of-memory; the input that did it is kept in
# build-fuzz/fuzz-artifacts/TARGET/ (replay it: build-fuzz/fuzz/TARGET FILE). Prints one summary line per target.
# TARGET: fuzz_config, fuzz_filter, fuzz_body, fuzz_signatures, fuzz_template, fuzz_envelope, fuzz_spool (default:
# all).
# Needs clang and libFuzzer's runtime (Debian: clang libclang-rt-dev; llvm for symbolized stack traces).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${HB_FUZZ_BUILD:-$ROOT/build-fuzz}
SECONDS_EACH=${1:-60}
shift $(($# > 0 ? 1 : 0))
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(fuzz_config fuzz_filter fuzz_body fuzz_signatures fuzz_template fuzz_envelope fuzz_spool)

# the longest input each target gets: enough for its grammar, small enough to stay fast
declare -A MAX_LEN=([fuzz_config]=8192 [fuzz_filter]=4096 [fuzz_body]=8192 [fuzz_signatures]=4096
                    [fuzz_template]=2048 [fuzz_envelope]=8192 [fuzz_spool]=16384)

command -v clang >/dev/null || { echo "run.sh: clang is not installed (Debian: apt-get install clang libclang-rt-dev)" >&2; exit 2; }
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=clang -DHB_FUZZ=ON -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 2
ninja -C "$BUILD" "${TARGETS[@]}" >/dev/null || { ninja -C "$BUILD" "${TARGETS[@]}"; exit 2; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
summary=()
for t in "${TARGETS[@]}"; do
    [[ -n ${MAX_LEN[$t]:-} && -x $BUILD/fuzz/$t ]] || { echo "run.sh: unknown target $t" >&2; exit 2; }
    work=$BUILD/fuzz-work/$t                 # a scratch copy: what the fuzzer adds never lands in the repository
    artifacts=$BUILD/fuzz-artifacts/$t/
    rm -rf "$work"
    mkdir -p "$work/corpus" "$artifacts"
    cp -r "$ROOT/tests/fuzz/corpus/$t/." "$work/corpus/"
    echo "==> $t: ${SECONDS_EACH}s, log in $work/log" >&2
    "$BUILD/fuzz/$t" "$work/corpus" -max_total_time="$SECONDS_EACH" -timeout=10 -max_len="${MAX_LEN[$t]}" \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" >"$work/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+' "$work/log" | tail -1)
    if ((rc != 0)); then
        failed=1
        found=$(grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|.*check failed|.*runtime error)' "$work/log" | cut -c1-240)
        crash=$(grep -m1 -oE 'Test unit written to [^ ]+' "$work/log" | sed 's/Test unit written to //')
        summary+=("$(printf '%-16s FAILED (exit %d) after %s execs, %s: %s %s' "$t" "$rc" "${execs:-?}" "${cov:-?}" \
            "${found:-see the log}" "${crash:-}")")
    else
        summary+=("$(printf '%-16s ok  %ss  %s execs (%s/s)  %s' "$t" "$SECONDS_EACH" "${execs:-?}" "${rate:-?}" \
            "${cov:-?}")")
    fi
done
printf '%s\n' "${summary[@]}"
exit $failed
