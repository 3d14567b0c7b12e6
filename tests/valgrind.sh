#!/usr/bin/env bash
# tests/valgrind.sh [PYTEST ARGS...]: the integration suite with every `hookbridge serve` under valgrind memcheck.
#
# Installs valgrind when it is missing (apt-get), builds (./dev build: build/, RelWithDebInfo), starts a private
# Kafka broker (its own ports and data dir; never the shared one), runs tests/integration with
# HOOKBRIDGE_WRAPPER=valgrind... (conftest.py puts it before `serve`, multiplies its waits by HOOKBRIDGE_TIME_SCALE
# and fails a test whose bridge exits with valgrind's error code 97), then summarises valgrind's logs: per bridge,
# its errors and its definitely/indirectly lost bytes, and the stacks of every file that has any.
# Slow (some 10 minutes on 2 cores): not part of .ci/run.
#
# tests/valgrind.supp suppresses only what a worker thread leaves to the process exit on purpose (its h2o context,
# loop and h2o's thread-local free lists; the file says why); the summary shows how much it suppressed.
#
# Environment: HOOKBRIDGE_VALGRIND_DIR where the logs go [build/valgrind] (emptied first);
# HOOKBRIDGE_TIME_SCALE [5]; VALGRIND_SUPPRESSIONS [tests/valgrind.supp] (/dev/null: none);
# VALGRIND_EXTRA more valgrind options (e.g. --track-origins=yes).
# Exit status: pytest's, or 1 when it passed but a log holds an error or a definite/indirect leak.
#
# Left out, because nothing of what they check is about the bridge's memory, or valgrind makes them meaningless:
#   test_deploy       the release binary and its image (docker build, kustomize renders, the binary's libraries)
#   test_status_page  drives headless Chromium: with valgrind on the same 2 cores its page timeouts are the test
#   test_consumers    builds and runs the Go/Java/Node consumers; the bridge does there what test_core does
#   test_schemas      runs `hookbridge check` only; no `serve` runs, so nothing would be under valgrind
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${HOOKBRIDGE_BUILD:-$ROOT/build}
VG_DIR=${HOOKBRIDGE_VALGRIND_DIR:-$BUILD/valgrind}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if ! command -v valgrind >/dev/null; then
    log "installing valgrind"
    sudo=()
    ((EUID == 0)) || sudo=(sudo)
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends valgrind
fi

"$ROOT/dev" build
venv=$ROOT/.venv
if [[ ! -x $venv/bin/pytest ]] || ! cmp -s "$ROOT/tests/requirements.txt" "$venv/.requirements"; then
    log "preparing the Python test environment in .venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$ROOT/tests/requirements.txt"
    cp "$ROOT/tests/requirements.txt" "$venv/.requirements"
fi

# the providers' SDKs that test_providers signs with (as ./dev test does)
providers=$ROOT/tests/providers
if [[ ! -d $providers/node_modules ]] || ! cmp -s "$providers/package-lock.json" "$providers/node_modules/.package-lock.json.copy"; then
    log "npm ci in tests/providers"
    (cd "$providers" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$providers/package-lock.json" "$providers/node_modules/.package-lock.json.copy"
fi

# a private broker: two free ports, a data dir of its own
read -r kafka_port controller_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
export KAFKA_PORT=$kafka_port KAFKA_CONTROLLER_PORT=$controller_port
export KAFKA_DATA=${TMPDIR:-/tmp}/hookbridge-kafka-valgrind-$$
trap '"$ROOT/tests/kafka/broker.sh" reset >/dev/null 2>&1 || true' EXIT
log "private Kafka broker on 127.0.0.1:$KAFKA_PORT (data $KAFKA_DATA)"
kafka=$("$ROOT/tests/kafka/broker.sh" start | tail -n 1)

rm -rf "$VG_DIR"
mkdir -p "$VG_DIR"
# %q{HB_TEST_NAME}: the test and bridge (conftest sets it), %p: the pid. Leaks of definite and indirect kind are errors;
# "possibly lost" and "still reachable" are not (threads and libraries hold such memory until exit).
export HOOKBRIDGE_WRAPPER="valgrind --tool=memcheck --error-exitcode=97 --leak-check=full
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --track-origins=no
    --num-callers=30 --log-file=$VG_DIR/vg.%q{HB_TEST_NAME}.%p.log
    --suppressions=${VALGRIND_SUPPRESSIONS:-$ROOT/tests/valgrind.supp} ${VALGRIND_EXTRA:-}"
export HOOKBRIDGE_TIME_SCALE=${HOOKBRIDGE_TIME_SCALE:-5}
log "integration tests under valgrind (logs in $VG_DIR)"
status=0
HOOKBRIDGE_BIN=$BUILD/hookbridge KAFKA_BOOTSTRAP=$kafka \
    "$venv/bin/pytest" -q -p no:cacheprovider -rfE "$ROOT/tests/integration" \
    --ignore "$ROOT/tests/integration/test_deploy.py" --ignore "$ROOT/tests/integration/test_status_page.py" \
    --ignore "$ROOT/tests/integration/test_consumers.py" --ignore "$ROOT/tests/integration/test_schemas.py" \
    "$@" || status=$?

log "valgrind summary"
python3 - "$VG_DIR" <<'EOF' || ((status != 0)) || status=1
import re, sys
from pathlib import Path

def number(text, pattern):
    m = re.search(pattern, text)
    return int(m.group(1).replace(",", "")) if m else 0

files = sorted(Path(sys.argv[1]).glob("vg.*.log"))
bad = []
print(f"{'errors':>6} {'definite':>10} {'indirect':>10} {'suppressed':>10}  log (bytes)")
for f in files:
    text = f.read_text(errors="replace")
    errors = number(text, r"ERROR SUMMARY: ([\d,]+) errors")
    definite = number(text, r"definitely lost: ([\d,]+) bytes")
    indirect = number(text, r"indirectly lost: ([\d,]+) bytes")
    suppressed = number(text, r"suppressed: ([\d,]+) bytes")
    finished = "ERROR SUMMARY" in text  # absent: the process was killed (SIGKILL) before valgrind could report
    print(f"{errors:>6} {definite:>10} {indirect:>10} {suppressed:>10}  {f.name}"
          f"{'' if finished else '  (killed: no summary)'}")
    if errors or definite or indirect:
        bad.append((f, text))
print(f"{len(files)} processes, {len(bad)} with errors or definite/indirect leaks")
for f, text in bad:
    print(f"\n===== {f.name} =====")
    # the reports: everything between the banner and the summaries, without valgrind's pid prefixes
    body = [re.sub(r"^==\d+== ?", "", line) for line in text.splitlines()]
    start = next((i for i, line in enumerate(body) if line.startswith("Command:")), 0) + 2
    print("\n".join(line for line in body[start:] if not line.startswith(("Parent PID", "HEAP SUMMARY"))))
sys.exit(1 if bad else 0)
EOF
exit $status
