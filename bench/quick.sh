#!/usr/bin/env bash
# A first point on the curve (the full benchmark is bench/run):
# wrk against `hookbridge serve` with the embedded broker, a 1 KiB signed JSON body, keep-alive.
#   bench/quick.sh [CONNECTIONS=64] [SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-64} secs=${2:-10}
command -v wrk >/dev/null || { echo "bench/quick.sh needs wrk (apt-get install wrk)" >&2; exit 2; }
./dev build >/dev/null
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/bench.yaml" <<EOT
server: { listen: ["127.0.0.1:$port"], threads: auto }
kafka: { brokers: embedded, deliveryTimeout: 8s }
endpoints:
  - id: bench
    verify: { headerName: X-Signature-256, secret: bench-secret, algorithm: sha256 }
EOT
# a 1 KiB JSON body
python3 - "$work/body.json" <<'EOT'
import json, sys
body = {"action": "opened", "number": 42, "repository": {"id": 1296269, "full_name": "octocat/Hello-World"}, "pad": ""}
s = json.dumps(body)
body["pad"] = "x" * (1024 - len(s))
open(sys.argv[1], "w").write(json.dumps(body))
EOT
header=$(./build/hookbridge sign -c "$work/bench.yaml" bench <"$work/body.json")
cat >"$work/post.lua" <<EOT
wrk.method = "POST"
wrk.body = io.open("$work/body.json"):read("*a")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["${header%%:*}"] = "${header#*: }"
done = function(summary, latency, requests)
  io.write(string.format("requests/s %.0f  p50 %.2f ms  p99 %.2f ms  non-2xx %d  errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOT
./build/hookbridge serve -c "$work/bench.yaml" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 50); do grep -q '"hookbridge ready"' "$work/serve.log" && break; sleep 0.1; done
wrk -t2 -c"$conns" -d2s -s "$work/post.lua" "http://127.0.0.1:$port/webhooks/bench" >/dev/null # warm-up
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/webhooks/bench" | tail -1
