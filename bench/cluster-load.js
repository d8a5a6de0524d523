// Load for bench/cluster.sh through the official Milvus Node.js SDK (installed in tests/compat by scripts/setup.sh),
// the same calls against a standalone server or a cluster node:
//   node bench/cluster-load.js ingest ADDRESS COLLECTION ROWS DIM BATCH SHARDS [INDEXED] -> creates, inserts ROWS in batches of
//        BATCH one at a time (rows/s, batch latency P50/P99), declares HNSW (M 16, efConstruction 64) and loads it; the
//        index is built per sealed segment, and a segment seals at 64 MiB (SegmentSealBytes), so below about 130,000
//        rows of 128-d per shard nothing is sealed and every search is exact over the growing rows, on both sides
//        (INDEXED 1: a flush seals every row first, and the step waits until the index covers every row, so HNSW serves
//        every search at any size; `indexedRows` and the wait in `indexAndLoadSeconds`)
//   node bench/cluster-load.js search ADDRESS COLLECTION DIM CLIENTS SECONDS     -> top-10 searches (ef 32 where an
//        index serves) from CLIENTS concurrent callers for SECONDS, after one unmeasured call each (QPS, P50/P99)
//   node bench/cluster-load.js write  ADDRESS COLLECTION DIM CLIENTS SECONDS [FIRST_KEY] [BATCH] -> inserts of BATCH rows
//        (default 1) from CLIENTS callers (acknowledged writes/s, P50/P99 latency: what the log adds per write; rows/s and
//        MB/s of row data, 8 + 4·DIM bytes a row), keys from FIRST_KEY (10,000,000; a second round on the same collection
//        needs new keys: an insert of a key that exists is refused)
//   node bench/cluster-load.js killingest ADDRESS COLLECTION DIM SHARDS BATCH WRITERS AFTER READY_FILE -> creates the
//        collection, then WRITERS callers insert batches of BATCH rows (ids of their own, never re-sent) one after another;
//        once each has 3 batches acknowledged it creates READY_FILE and the caller kills what it measures and sends
//        SIGUSR2; the writers go on until AFTER seconds after the signal and each has 3 batches acknowledged that it sent
//        after it. Then the checker (collection loaded, reads at Strong): every acknowledged row present, each id once
//        (count(*) equals the distinct ids read), no id present that was never sent, each failed batch present wholly or
//        not at all. Prints the write pause: the longest time no batch was acknowledged (and where it lay against the
//        signal), the first acknowledgement after the signal, the slowest batch, rows/s before and after (for
//        bench/log-leader-kill.sh)
//   node bench/cluster-load.js empty  ADDRESS COLLECTION DIM SHARDS [ROWS] -> creates a collection of SHARDS shards, loads it
//        and counts its rows (every shard answers, so every shard is open); with ROWS, inserts ROWS rows first, 1,000 a call (for
//        bench/shard-memory.sh: what a node pays per shard it serves)
//   node bench/cluster-load.js until  ADDRESS COLLECTION DIM search|write [SHARDS] [READY_FILE] -> repeats the call
//        until one succeeds; prints when it was answered (ms since the epoch) for failover timing. A write inserts a key
//        that the cluster routes to shard 0 of SHARDS (default 1), the shard whose node the failover step kills. With
//        READY_FILE, the client first connects (GetVersion, answered by the node itself), creates READY_FILE and waits
//        for SIGUSR2 before its first call, so neither the script's start nor the connection is in the timing
// Vectors are seeded, so every run sends the same data. Prints one JSON line.
'use strict';
const path = require('path');
const { MilvusClient, DataType } = require(path.join(__dirname, '..', 'tests', 'compat', 'node_modules', '@zilliz', 'milvus2-sdk-node'));

function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296; };
}
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)];
};
// The shard of SHARDS that a cluster node routes an Int64 primary key to (ShardKeys.ShardOf): SplitMix64's finalizer of
// the key as an unsigned 64-bit number, then the remainder by the shard count.
const MASK = (1n << 64n) - 1n;
function shardOf(key, shards) {
  let h = BigInt.asUintN(64, BigInt(key));
  h = ((h ^ (h >> 30n)) * 0xBF58476D1CE4E5B9n) & MASK;
  h = ((h ^ (h >> 27n)) * 0x94D049BB133111EBn) & MASK;
  h ^= h >> 31n;
  return Number(h % BigInt(shards));
}
// The first key from `from` on that routes to `shard` of `shards`.
function keyOnShard(from, shards, shard) {
  let key = from;
  while (shardOf(key, shards) !== shard) key++;
  return key;
}
const ok = (answer, what) => {
  const s = answer && answer.status ? answer.status : answer;
  if (!s || (s.code !== 0 && s.code !== undefined) || (s.error_code && s.error_code !== 'Success')) throw new Error(`${what}: ${JSON.stringify(s)}`);
  return answer;
};

// The `killingest` mode: writers across a kill, then the checker (see the header).
async function killIngest(client, address, collection, [dimArg, shardsArg, batchArg, writersArg, afterArg, readyFile]) {
  const [dim, shards, batch, writers, after] = [dimArg, shardsArg, batchArg, writersArg, afterArg].map(Number);
  ok(await client.createCollection({ collection_name: collection, shards_num: shards, fields: [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'vector', data_type: DataType.FloatVector, dim },
  ] }), 'create');
  const span = 1_000_000_000; // writer w's ids are w·span + its batch number·BATCH + row
  const calls = []; // { writer, first, start, end, acknowledged, error }
  let signalledAt = null;
  const signalled = new Promise(resolve => process.once('SIGUSR2', () => { signalledAt = Date.now(); resolve(); }));
  const alive = setInterval(() => {}, 1 << 30);
  const ackedBefore = new Array(writers).fill(0);
  const ackedAfter = new Array(writers).fill(0);
  let ready = false;
  const each = Array.from({ length: writers }, () => new MilvusClient({ address, timeout: 600000 }));
  await Promise.all(each.map(async (w, writer) => {
    const r = rng(5000 + writer);
    for (let n = 0; ; n++) {
      if (signalledAt !== null && Date.now() - signalledAt >= after * 1000 && ackedAfter[writer] >= 3) break;
      const first = writer * span + n * batch;
      const data = Array.from({ length: batch }, (_, i) => ({ id: first + i, vector: Array.from({ length: dim }, () => r() * 2 - 1) }));
      const start = Date.now();
      const sentAfterSignal = signalledAt !== null;
      let error = null;
      try {
        ok(await w.insert({ collection_name: collection, data }), 'insert');
      } catch (e) {
        error = String(e && e.message ? e.message : e).slice(0, 300);
      }
      calls.push({ writer, first, start, end: Date.now(), acknowledged: error === null, sentAfterSignal, error });
      if (error !== null) { await new Promise(done => setTimeout(done, 100)); continue; }
      if (sentAfterSignal) ackedAfter[writer]++; else ackedBefore[writer]++;
      if (!ready && ackedBefore.every(a => a >= 3)) { ready = true; require('fs').writeFileSync(readyFile, String(process.pid)); }
    }
  }));
  await signalled;
  clearInterval(alive);

  // The checker: every row read back at Strong, by id windows of a writer's span.
  ok(await client.createIndex({ collection_name: collection, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), 'index');
  ok(await client.loadCollectionSync({ collection_name: collection }), 'load');
  const present = new Map();
  let read = 0;
  const sentBatches = new Map(); // first id -> rows sent (so a present id can be checked as sent)
  for (const c of calls) sentBatches.set(c.first, c);
  for (let writer = 0; writer < writers; writer++) {
    const last = Math.max(...calls.filter(c => c.writer === writer).map(c => c.first)) + batch;
    for (let from = writer * span; from < last; from += 16000) {
      const page = ok(await client.query({ collection_name: collection, filter: `id >= ${from} and id < ${from + 16000}`, output_fields: ['id'], limit: 16384, consistency_level: 'Strong' }), 'query');
      for (const row of page.data) { const id = Number(row.id); present.set(id, (present.get(id) || 0) + 1); read++; }
    }
  }
  const counted = Number(ok(await client.query({ collection_name: collection, output_fields: ['count(*)'], consistency_level: 'Strong' }), 'count').data[0]['count(*)']);
  const problems = [];
  if (counted !== present.size) problems.push(`count(*) ${counted} but ${present.size} distinct ids read`);
  if (read !== present.size) problems.push(`${read - present.size} ids read more than once`);
  let acknowledgedRows = 0, failedBatches = 0, failedStored = 0;
  for (const c of calls) {
    const there = Array.from({ length: batch }, (_, i) => present.has(c.first + i)).filter(Boolean).length;
    if (c.acknowledged) { acknowledgedRows += batch; if (there !== batch) problems.push(`acknowledged batch at ${c.first}: ${there} of ${batch} rows present`); }
    else { failedBatches++; if (there === batch) failedStored++; else if (there !== 0) problems.push(`failed batch at ${c.first}: ${there} of ${batch} rows present`); }
  }
  for (const id of present.keys()) {
    const first = id - ((id % span) % batch);
    if (!sentBatches.has(first)) problems.push(`id ${id} present but never sent`);
  }

  // The write pause: the longest time between two acknowledgements (any writer), and where it lay against the signal.
  const acks = calls.filter(c => c.acknowledged).map(c => c.end).sort((a, b) => a - b);
  let gap = { ms: 0, fromMs: 0, toMs: 0 };
  for (let i = 1; i < acks.length; i++) if (acks[i] - acks[i - 1] > gap.ms) gap = { ms: acks[i] - acks[i - 1], fromMs: acks[i - 1] - signalledAt, toMs: acks[i] - signalledAt };
  const firstAckAfter = acks.find(t => t > signalledAt) - signalledAt;
  const slowest = calls.filter(c => c.acknowledged).reduce((m, c) => Math.max(m, c.end - c.start), 0);
  const rate = (from, to) => { const rows = calls.filter(c => c.acknowledged && c.end > from && c.end <= to).length * batch; return +(rows / ((to - from) / 1000)).toFixed(1); };
  const firstStart = Math.min(...calls.map(c => c.start));
  const lastEnd = Math.max(...calls.map(c => c.end));
  return {
    mode: 'killingest', shards, batch, writers, afterSeconds: after,
    acknowledgedRows, failedBatches, failedBatchesStored: failedStored, rowsPresent: present.size, counted,
    checker: problems.length === 0 ? 'ok' : problems.slice(0, 10),
    pause: { longestGapMs: gap.ms, gapFromMsAfterSignal: gap.fromMs, gapToMsAfterSignal: gap.toMs, firstAckAfterSignalMs: firstAckAfter, slowestAcknowledgedBatchMs: slowest },
    rowsPerSecondBefore: rate(firstStart, signalledAt), rowsPerSecondAfter: rate(signalledAt, lastEnd),
    errors: [...new Set(calls.filter(c => !c.acknowledged).map(c => c.error))].slice(0, 5),
    signalledAtMs: signalledAt,
  };
}

async function main() {
  const [mode, address, collection, ...rest] = process.argv.slice(2);
  const client = new MilvusClient({ address, timeout: 600000 });
  const started = Date.now();
  if (mode === 'ingest') {
    const [rows, dim, batch, shards, indexed] = rest.map(Number);
    const r = rng(4242);
    ok(await client.createCollection({ collection_name: collection, shards_num: shards, fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true },
      { name: 'vector', data_type: DataType.FloatVector, dim },
    ] }), 'create');
    const latencies = [];
    const clock = Date.now();
    for (let first = 0; first < rows; first += batch) {
      const data = Array.from({ length: Math.min(batch, rows - first) }, (_, i) => ({ id: first + i, vector: Array.from({ length: dim }, () => r() * 2 - 1) }));
      const t = process.hrtime.bigint();
      ok(await client.insert({ collection_name: collection, data }), 'insert');
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const seconds = (Date.now() - clock) / 1000;
    const indexClock = Date.now();
    if (indexed) {
      // Every row sealed (a flush seals the growing segments whatever their size), so the index serves every search.
      ok(await client.flushSync({ collection_names: [collection] }), 'flush');
    }
    ok(await client.createIndex({ collection_name: collection, field_name: 'vector', index_type: 'HNSW', metric_type: 'L2', params: { M: 16, efConstruction: 64 } }), 'index');
    let indexedRows;
    if (indexed) {
      // Until the index covers every row (the shards' answers summed by the node): searches are then over HNSW graphs.
      for (;;) {
        const d = await client.describeIndex({ collection_name: collection, field_name: 'vector' });
        ok(d, 'describe index');
        const each = d.index_descriptions[0];
        indexedRows = Number(each.indexed_rows);
        if (Number(each.pending_index_rows) === 0 && indexedRows >= rows) break;
        await new Promise(done => setTimeout(done, 500));
      }
    }
    ok(await client.loadCollectionSync({ collection_name: collection }), 'load');
    console.log(JSON.stringify({ mode, rows, dim, batch, shards, rowsPerSecond: Math.round(rows / seconds), batchP50Ms: +percentile(latencies, 50).toFixed(1), batchP99Ms: +percentile(latencies, 99).toFixed(1), indexAndLoadSeconds: (Date.now() - indexClock) / 1000, ...(indexed ? { indexedRows } : {}) }));
  } else if (mode === 'empty') {
    const [dim, shards, rows] = rest.map(Number);
    ok(await client.createCollection({ collection_name: collection, shards_num: shards, fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true },
      { name: 'vector', data_type: DataType.FloatVector, dim },
    ] }), 'create');
    if (rows) {
      const r = rng(99);
      for (let first = 0; first < rows; first += 1000) {
        const data = Array.from({ length: Math.min(1000, rows - first) }, (_, i) => ({ id: first + i, vector: Array.from({ length: dim }, () => r() * 2 - 1) }));
        ok(await client.insert({ collection_name: collection, data }), 'insert');
      }
    }
    ok(await client.createIndex({ collection_name: collection, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), 'index');
    ok(await client.loadCollectionSync({ collection_name: collection }), 'load');
    const counted = ok(await client.query({ collection_name: collection, output_fields: ['count(*)'], consistency_level: 'Strong' }), 'count');
    console.log(JSON.stringify({ mode, shards, rows: rows || 0, counted: Number(counted.data[0]['count(*)']), seconds: (Date.now() - started) / 1000 }));
  } else if (mode === 'search' || mode === 'write') {
    const [dim, clients, seconds, firstKey, batchArg] = rest.map(Number);
    const batch = batchArg || 1;
    const latencies = [];
    let next = firstKey || 10_000_000;
    const call = (each, r) => {
      if (mode === 'search') {
        const vector = Array.from({ length: dim }, () => r() * 2 - 1);
        return each.search({ collection_name: collection, data: [vector], limit: 10, params: { ef: 32 } }).then(a => ok(a, 'search'));
      }
      const data = Array.from({ length: batch }, () => ({ id: next++, vector: Array.from({ length: dim }, () => r() * 2 - 1) }));
      return each.insert({ collection_name: collection, data }).then(a => ok(a, 'insert'));
    };
    // Every caller's client is made and has answered one call before the clock starts: making a client (it loads the
    // SDK's protos) and its first call (it connects) are not what is measured, and under load they took longer than a
    // short run, which then counted no call at all.
    const callers = Array.from({ length: clients }, (_, c) => ({ each: new MilvusClient({ address, timeout: 600000 }), r: rng(777 + c) }));
    await Promise.all(callers.map(({ each, r }) => call(each, r)));
    const deadline = Date.now() + seconds * 1000;
    await Promise.all(callers.map(async ({ each, r }) => {
      while (Date.now() < deadline) {
        const t = process.hrtime.bigint();
        await call(each, r);
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }));
    const rowsPerSecond = mode === 'write' ? latencies.length * batch / seconds : undefined;
    console.log(JSON.stringify({ mode, clients, seconds, calls: latencies.length, perSecond: +(latencies.length / seconds).toFixed(1), p50Ms: +percentile(latencies, 50).toFixed(2), p99Ms: +percentile(latencies, 99).toFixed(2),
      ...(mode === 'write' ? { batch, rowsPerSecond: +rowsPerSecond.toFixed(1), mbPerSecond: +(rowsPerSecond * (8 + 4 * dim) / 1e6).toFixed(3) } : {}) }));
  } else if (mode === 'killingest') {
    console.log(JSON.stringify(await killIngest(client, address, collection, rest)));
  } else if (mode === 'until') {
    const [dim, what, shardsArg, readyFile] = rest;
    const shards = Number(shardsArg || 1);
    let signalledAtMs = null;
    if (readyFile) {
      ok(await client.getVersion(), 'getVersion');
      // A signal listener does not keep Node running: the interval does until the signal arrives. SIGUSR2, since Node
      // keeps SIGUSR1 for its debugger.
      const alive = setInterval(() => {}, 1 << 30);
      const go = new Promise(resolve => process.once('SIGUSR2', resolve));
      require('fs').writeFileSync(readyFile, String(process.pid));
      await go;
      clearInterval(alive);
      signalledAtMs = Date.now();
    }
    const vector = Array.from({ length: Number(dim) }, (_, i) => i / Number(dim));
    let attempts = 0;
    let key = 20_000_000;
    for (;;) {
      attempts++;
      try {
        if (what === 'search') {
          ok(await client.search({ collection_name: collection, data: [vector], limit: 1 }), 'search');
        } else {
          // A new key on every attempt (an attempt that failed may still have been stored), each on shard 0.
          key = keyOnShard(key + 1, shards, 0);
          ok(await client.insert({ collection_name: collection, data: [{ id: key, vector }] }), 'insert');
        }
        break;
      } catch (e) {
        await new Promise(resolve => setTimeout(resolve, 100));
      }
    }
    console.log(JSON.stringify({ mode, what, answeredAtMs: Date.now(), sinceStartMs: Date.now() - started, signalledAtMs, attempts, ...(what === 'write' ? { key, shard: shardOf(key, shards) } : {}) }));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  process.exit(0);
}

main().catch(e => { console.error(e && e.stack ? e.stack : e); process.exit(1); });
