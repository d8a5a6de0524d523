#!/usr/bin/env bash
# Ingest into a fresh embedded folder under each fsync policy, with 1 and 4 concurrent clients. Writes one JSON per
# run under bench/results/ and the table bench/results/ingest.md.
#   ROWS=50000 BATCH=100 CLIENTS="1 4" bench/ingest.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
rows=${ROWS:-50000}
batch=${BATCH:-100}
clients=${CLIENTS:-1 4}
out=bench/results
mkdir -p "$out"

bash scripts/bench-setup.sh >/dev/null
dotnet build bench/Quiver.Bench -c Release --nologo -v quiet
echo "temp folder: $(df --output=source,fstype,target "${TMPDIR:-/tmp}" | tail -n1)"

files=()
for policy in Always Interval Never; do
  for c in $clients; do
    f="$out/ingest-$policy-c$c.json"
    dotnet bench/Quiver.Bench/bin/Release/net10.0/Quiver.Bench.dll ingest --dim 768 --rows "$rows" --batch "$batch" \
      --policy "$policy" --clients "$c" --json "$f"
    files+=("$f")
  done
done

/usr/bin/python3 - "$out/ingest.md" "${files[@]}" <<'PY'
import json, sys, datetime
runs = [json.load(open(p)) for p in sys.argv[2:]]
r0 = runs[0]
base = {(r["clients"]): r["rows_per_second"] for r in runs if r["policy"] == "Never"}
lines = [
    f"# Ingest: {r0['rows']} rows x {r0['dim']}-d float32 + 2 scalars, batches of {r0['batch']}",
    "",
    f"Measured {datetime.date.today().isoformat()} by `bench/ingest.sh`. Machine: {r0['machine']}.",
    "",
    "| durability | clients | rows/s | MB/s (vectors) | calls/s | vs Never, same clients |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    *[f"| {r['policy']} | {r['clients']} | {r['rows_per_second']:.0f} | {r['vector_mb_per_second']:.1f} | {r['batches_per_second']:.0f} | "
      f"{r['rows_per_second'] / base[r['clients']]:.2f} |" for r in runs],
    "",
]
open(sys.argv[1], "w").write("\n".join(lines))
print("\n".join(lines))
PY
