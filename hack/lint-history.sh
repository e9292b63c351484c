#!/usr/bin/env bash
# make lint: the product describes itself, not how it was made. Fails, naming
# file:line, on development history in tracked files: numbered work sessions,
# tracked issue numbers, helper names, commit hashes used as narrative, CI
# anecdotes, and dates outside the performance page (where a measured figure
# keeps the date it was measured on) or a line that says what it measured.
set -euo pipefail
cd "$(dirname "$0")/.."

# Not checked: this script (it holds the patterns), module sums and the
# benchmark's recorded results.
skip=(':!hack/lint-history.sh' ':!go.sum' ':!bench/results')

found=0
# check DESCRIPTION OUTPUT: prints git grep's file:line:text lines, if any.
check() {
	[ -n "$2" ] || return 0
	printf '%s\n' "$2" | sed 's/^/  /'
	echo "    ^ $1"
	found=1
}

# Words that only mean something inside this repository's history.
check "development history: say what the product does, not when or by whom it was changed" \
	"$(git grep -nIiP "\bsessions?[ -]#?\d+\b|\bissues?[ -]#?\d+\b|\bhelper-\d+\b|\bCI'?s (?:last|latest|previous) run\b" \
		-- . "${skip[@]}" || true)"

# A commit hash as narrative ("at 2171bd3", "since commit 9067162").
check "a commit hash as narrative" \
	"$(git grep -nIP '\b(?:commits?|at|since|before|after|until)\s+(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b' \
		-- . "${skip[@]}" || true)"

# Dates of past runs in prose. The performance page keeps each measurement's
# date; elsewhere a date may stand only on a line that says what it measured.
check "a date of a past run: keep measured figures, with their date, in docs/performance.md" \
	"$(git grep -nIP '\b20\d\d-[01]\d-[0-3]\d\b' -- 'README.md' 'docs/*.md' 'examples/*.md' \
		':!docs/performance.md' | grep -viE 'measured' || true)"

if [ "$found" = 1 ]; then
	echo "lint-history: development history found (see above)" >&2
	exit 1
fi
