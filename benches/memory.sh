#!/usr/bin/env bash
# Memory ceiling of `keyward history`: peak resident memory against the total size of the
# blobs a repository holds. Peak RSS must grow sub-linearly in blob bytes: the history
# engine streams blobs through the matcher instead of holding them.
#
#   benches/memory.sh REPO [REPO...]
#
# Each REPO is a git repository (for instance two synthetic ones from the benchmark kit's
# synth-repo.py: the default 10,000 commits, and one with ten times the blobs). For each, it
# prints commits, blobs, total blob bytes, findings, peak RSS and wall time of
# `keyward history --format json`. With two or more repositories it prints the growth
# exponent of peak RSS in blob bytes (log of the RSS ratio over log of the bytes ratio)
# between the smallest and the largest, and fails unless it is below 1.
#
# The binary is $KEYWARD, or target/release/keyward (built when missing). Peak RSS comes
# from GNU time (`/usr/bin/time -f %M`) when present, else from getrusage via python3.
set -euo pipefail

if [ "$#" -lt 1 ]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${KEYWARD:-$root/target/release/keyward}"
if [ -z "${KEYWARD:-}" ] && [ ! -x "$bin" ]; then
  (cd "$root" && cargo build --release --locked --bin keyward)
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Runs keyward history on $1, writing the report to $2; prints "peak_kib wall_seconds".
measure() {
  local repo="$1" report="$2" status=0
  if [ -x /usr/bin/time ] && /usr/bin/time -f '%M' true >/dev/null 2>&1; then
    /usr/bin/time -o "$work/time" -f '%M %e' \
      "$bin" history -q --format json --output "$report" "$repo" || status=$?
    [ "$status" -le 1 ] || { echo "keyward history failed on $repo ($status)" >&2; exit 2; }
    tail -n 1 "$work/time" # GNU time notes a non-zero exit on the line before
  else
    python3 - "$bin" "$repo" "$report" <<'EOF'
import resource, subprocess, sys, time
bin, repo, report = sys.argv[1:]
start = time.monotonic()
code = subprocess.call([bin, "history", "-q", "--format", "json", "--output", report, repo])
if code > 1:
    sys.exit(f"keyward history failed on {repo} ({code})")
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
print(peak, round(time.monotonic() - start, 2))
EOF
  fi
}

printf '%-28s %8s %8s %14s %9s %12s %8s\n' repository commits blobs blob_bytes findings peak_rss_kib wall_s
rows=()
for repo in "$@"; do
  read -r blobs bytes < <(git -C "$repo" cat-file --batch-all-objects \
    --batch-check='%(objecttype) %(objectsize)' |
    awk '$1 == "blob" { n++; s += $2 } END { printf "%d %.0f\n", n, s }')
  commits="$(git -C "$repo" rev-list --all --count)"
  report="$work/report.json"
  read -r peak wall < <(measure "$repo" "$report")
  findings="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["findings"])' "$report")"
  if [ "$findings" -eq 0 ]; then
    echo "no findings in $repo: the scan did not do its work" >&2
    exit 2
  fi
  printf '%-28s %8d %8d %14d %9d %12d %8s\n' "$(basename "$repo")" "$commits" "$blobs" "$bytes" "$findings" "$peak" "$wall"
  rows+=("$bytes $peak")
done

if [ "${#rows[@]}" -ge 2 ]; then
  printf '%s\n' "${rows[@]}" | sort -n | python3 -c '
import math, sys
rows = [tuple(map(int, l.split())) for l in sys.stdin if l.strip()]
(b0, r0), (b1, r1) = rows[0], rows[-1]
if b1 <= b0:
    sys.exit("the repositories hold the same blob bytes: nothing to compare")
k = math.log(r1 / r0) / math.log(b1 / b0)
print(f"blob bytes x{b1 / b0:.1f}, peak RSS x{r1 / r0:.2f}: growth exponent {k:.2f} (sub-linear below 1)")
sys.exit(0 if k < 1 else 1)
'
fi
