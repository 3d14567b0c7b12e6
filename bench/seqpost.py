"""bench/seqpost.py: N signed POSTs one after the other on one keep-alive connection (bench/run's callgrind client).

    python3 bench/seqpost.py HOST:PORT BODY_FILE "Header-Name: value" N

Every answer must be 200; prints the count and the time taken. Standard library only.
"""

import http.client
import sys
import time


def main() -> int:
    addr, body_file, header, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    host, port = addr.rsplit(":", 1)
    body = open(body_file, "rb").read()
    name, value = header.split(":", 1)
    headers = {"Content-Type": "application/json", name: value.strip()}
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    t0 = time.monotonic()
    for i in range(n):
        conn.request("POST", "/webhooks/bench", body=body, headers=headers)
        resp = conn.getresponse()
        answer = resp.read()
        if resp.status != 200:
            print(f"request {i}: {resp.status} {answer!r}", file=sys.stderr)
            return 1
    print(f"{n} requests in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
