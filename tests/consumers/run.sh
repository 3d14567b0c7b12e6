#!/usr/bin/env bash
# The consumer examples' own tests (examples/consumers/): each language's envelope decoder against every golden
# vector in schemas/vectors/ and the two envelopes in examples/consumers/testdata/.
#
#   tests/consumers/run.sh [python|go|java|node ...]     (default: all four)
#
# Runs every language asked for, even after a failure, and exits non-zero if any failed.
# Needs: python3 (the repository's .venv when present, else python3 with pytest and msgpack), go, mvn + a JDK 17,
# node + npm. First run downloads (then cached): the Go modules in examples/consumers/go/go.sum (GOMODCACHE),
# the Maven artifacts of examples/consumers/java/pom.xml (~/.m2, or MVN_FLAGS="-Dmaven.repo.local=DIR"), and
# `npm ci` of examples/consumers/node/package-lock.json into its node_modules/.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
EXAMPLES=$ROOT/examples/consumers

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
MVN=${MVN:-mvn}
MVN_FLAGS=${MVN_FLAGS:-}
if [[ -z ${PYTHON:-} ]]; then
    if [[ -x $ROOT/.venv/bin/python ]]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

run_python() {
    "$PYTHON" -m pytest -q -p no:cacheprovider "$EXAMPLES/python"
}

run_go() {
    (cd "$EXAMPLES/go" && "$GO" test ./...)
}

run_java() {
    # not -q: Surefire's "Tests run:" lines are the result; the rest of Maven's chatter is left out
    (cd "$EXAMPLES/java" && "$MVN" -B -ntp -Dstyle.color=never $MVN_FLAGS test 2>&1) |
        { grep -E '^\[(ERROR|WARNING)\]|Tests run:|BUILD|FAIL' | grep -v 'Tests run:.* -- in ' || true; }
}

run_node() {
    local dir=$EXAMPLES/node
    if [[ ! -d $dir/node_modules ]] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.copy"; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
        cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.copy"
    fi
    (cd "$dir" && node --test --test-reporter=spec)
}

langs=("$@")
((${#langs[@]})) || langs=(python go java node)
results=() failed=0
for lang in "${langs[@]}"; do
    case $lang in python | go | java | node) ;; *) echo "unknown language: $lang" >&2; exit 2 ;; esac
    log "consumer example tests: $lang"
    start=$SECONDS
    if "run_$lang"; then
        results+=("$lang ok ($((SECONDS - start))s)")
    else
        results+=("$lang FAILED")
        failed=1
    fi
done
log "consumer example tests: ${results[*]}"
exit $failed
