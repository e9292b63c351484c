#!/usr/bin/env bash
# Runs the example's Python unit tests with Debian's python3 and its
# python3-flask, python3-pymongo and python3-mongomock packages (no PyPI).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-/usr/bin/python3}
for d in frontend init-db; do
	echo "==> $d"
	(cd "$d" && PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -m unittest discover -v)
done
