#!/usr/bin/env python3
"""The length gate of ./dev lint (STYLE.md, after curl's scripts/top-length): no C function longer than
--function-lines (120) and no .c file longer than --file-lines (1,200), with no allow-list: a function past the gate
is split, a file past it is divided.

    tests/tools/length-gate.py [--function-lines N] [--file-lines N] PATH...

PATH is a .c/.h file or a folder (searched recursively for them). A function's length runs from the line of its name
to its closing brace, both included, as universal-ctags reports them (`line` and `end`). Prints one line per
violation, `file:line: function NAME is N lines (gate 120)` or `file: N lines (gate 1200)`, and exits 1 if there is
any, 0 if none, 2 when ctags is missing or fails.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys


def sources(paths):
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith((".c", ".h")):
                        yield os.path.join(root, name)
        else:
            yield path


def functions(ctags, files):
    """(path, name, first line, last line) of every function definition in files."""
    # --language-force=C: ctags would read .h files as C++; -o -: the tags on stdout, one JSON object a line.
    cmd = [ctags, "--language-force=C", "--kinds-C=f", "--fields=+ne", "--output-format=json", "-o", "-", *files]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        tag = json.loads(line)
        if tag.get("_type") == "tag" and tag.get("kind") == "function" and "end" in tag:
            yield tag["path"], tag["name"], int(tag["line"]), int(tag["end"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--function-lines", type=int, default=120)
    ap.add_argument("--file-lines", type=int, default=1200)
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()

    ctags = shutil.which("ctags")
    if ctags is None:
        print("length-gate: ctags not found (Debian package universal-ctags)", file=sys.stderr)
        return 2
    files = list(sources(args.paths))
    if not files:
        return 0
    violations = []
    for path in files:
        if path.endswith(".c"):
            with open(path, "rb") as f:
                n = sum(1 for _ in f)
            if n > args.file_lines:
                violations.append((path, 0, f"{path}: {n} lines (gate {args.file_lines})"))
    try:
        for path, name, first, last in functions(ctags, files):
            n = last - first + 1
            if n > args.function_lines:
                violations.append(
                    (path, first, f"{path}:{first}: function {name} is {n} lines (gate {args.function_lines})"))
    except (subprocess.CalledProcessError, ValueError) as e:
        print(f"length-gate: ctags failed: {e}", file=sys.stderr)
        return 2
    for _, _, text in sorted(violations):
        print(text)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
