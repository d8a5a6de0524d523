#!/usr/bin/env bash
# The operator toolbox end to end on Fashion-MNIST (60,000 x 784), against a real `quiver serve` on loopback:
# import (.fvecs), index (HNSW over REST), tune, export (Parquet), backup (.tar.gz), restore into a folder, health,
# advise. Prints each step's wall time and the tools' own JSON summaries; writes them under $OUT.
# Needs the prepared data set (bash bench/ann.sh or `./quiver bench data --data fashion-mnist` makes bench/data).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=bench/data/fashion-mnist/base.fvecs
QUERIES=bench/data/fashion-mnist/queries-500.fvecs
OUT=${OUT:-$(mktemp -d /tmp/quiver-toolbox.XXXXXX)}
PORT=${PORT:-19541}
URI=http://127.0.0.1:$PORT
[ -f "$DATA" ] || { echo "missing $DATA: run ./quiver bench data --data fashion-mnist first" >&2; exit 1; }
./quiver --help > /dev/null   # build once, outside the timings

cat > "$OUT/fm.schema.json" <<'JSON'
{"Fields":[{"Name":"id","DataType":"Int64","IsPrimaryKey":true},{"Name":"v","DataType":"FloatVector","Dimension":784,"Metric":"L2"}]}
JSON

./quiver serve --data "$OUT/data" --port "$PORT" > "$OUT/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do grep -q "serving" "$OUT/serve.log" && break; sleep 0.1; done

step() { local name=$1; shift; local t0=$(date +%s.%N); "$@" > "$OUT/$name.json"; local rc=$?; local t1=$(date +%s.%N);
  printf '%-8s %6.1f s  exit %d\n' "$name" "$(echo "$t1 - $t0" | bc)" "$rc"; }

step import ./quiver import "$DATA" -c fm --schema "$OUT/fm.schema.json" --batch 2000 --uri "$URI" --json
t0=$(date +%s.%N)
curl -s "$URI/v2/vectordb/indexes/create" -d '{"collectionName":"fm","indexParams":[{"fieldName":"v","indexName":"v","metricType":"L2","indexType":"HNSW","params":{"M":16,"efConstruction":200}}]}' > /dev/null
curl -s "$URI/v2/vectordb/collections/flush" -d '{"collectionName":"fm"}' > /dev/null
curl -s "$URI/v2/vectordb/collections/load" -d '{"collectionName":"fm"}' > /dev/null
until curl -s "$URI/v2/vectordb/indexes/describe" -d '{"collectionName":"fm","indexName":"v"}' | grep -q '"indexState":"Finished"'; do sleep 1; done
printf '%-8s %6.1f s\n' index "$(echo "$(date +%s.%N) - $t0" | bc)"
step tune ./quiver tune -c fm --uri "$URI" --query-file "$QUERIES" --target-recall 0.95 --plot "$OUT/tune.png" --save --json
step export ./quiver export -c fm --out "$OUT/fm.parquet" --uri "$URI" --json
step backup ./quiver backup --out "$OUT/backup.tar.gz" --uri "$URI" --json
step restore ./quiver restore "$OUT/backup.tar.gz" --data "$OUT/restored" --json
step health ./quiver health --uri "$URI" --window 5 --probe 50 --json || true
step advise ./quiver advise --vectors "$DATA" --rows 5000000 --memory-budget 8GiB --target-recall 0.95 --sample 20000 --json
ls -la "$OUT"/fm.parquet "$OUT"/backup.tar.gz
echo "results in $OUT"
