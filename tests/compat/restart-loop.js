// Availability around restarts, from the SDK's side. One client (its connections outlive every server restart, as an
// application's would) runs three loops until told "stop" on stdin:
//   inserts:  batches of sequential ids; "ACK <first> <last> <ms>" for each acknowledged one;
//   queries:  a primary-key range of 1,000 acknowledged ids, "CALL query <ms> ok" (or "err <reason>"); a range that
//             answers fewer rows than were acknowledged prints "LOST <first> <last> <rows>";
//   health:   checkHealth, "CALL health <ms> ok|err <reason>".
// A failed call is fine while the server is down (it is answered at once); a call still unanswered after
// QUIVER_HANG_MS prints "HANG <kind> <ms>" and counts as a failure of the test that drives this script.
'use strict';
const readline = require('readline');
const { DataType, vector, client, check, ok, dim } = require('./common');

const name = process.env.QUIVER_COLLECTION || 'compat_restart';
const hangMs = Number(process.env.QUIVER_HANG_MS || 30000);
const batch = 100;
const range = 1000;
let stopping = false;

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/** Runs one call with a hang guard; prints HANG (once the guard fires) and returns { ms, error, value }. */
async function timed(kind, run) {
  const started = Date.now();
  let timer;
  const guard = new Promise(resolve => {
    timer = setTimeout(() => {
      console.log(`HANG ${kind} ${Date.now() - started}`);
      resolve({ hung: true });
    }, hangMs);
  });
  const call = run().then(value => ({ value }), error => ({ error }));
  const outcome = await Promise.race([call, guard]);
  clearTimeout(timer);
  if (outcome.hung) {
    // Keep waiting, so that the loop does not pile up calls; the test fails on the HANG line anyway.
    const late = await call;
    return { ...late, ms: Date.now() - started, hung: true };
  }
  return { ...outcome, ms: Date.now() - started };
}

function reason(outcome) {
  if (outcome.error) return String(outcome.error.message || outcome.error).split('\n')[0];
  const s = outcome.value && outcome.value.status ? outcome.value.status : outcome.value;
  return s && s.error_code !== 'Success' && s.code !== 0 && s.reason !== undefined ? String(s.reason) : null;
}

async function main() {
  const c = client({ timeout: hangMs });
  if (!(await c.hasCollection({ collection_name: name })).value) {
    ok(await c.createCollection({
      collection_name: name,
      fields: [
        { name: 'id', data_type: DataType.Int64, is_primary_key: true },
        { name: 'embedding', data_type: DataType.FloatVector, dim },
      ],
      index_params: { field_name: 'embedding', index_type: 'HNSW', metric_type: 'L2', params: { M: 8, efConstruction: 32 } },
    }), 'create');
  }
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  console.log('READY');

  // Acknowledged batches by their first id; a range is queried only when all of it was acknowledged.
  const acked = new Set();
  const complete = [];
  const inserts = (async () => {
    for (let start = 1; !stopping; start += batch) {
      const rows = Array.from({ length: batch }, (_, i) => ({ id: start + i, embedding: vector(start + i) }));
      const outcome = await timed('insert', () => c.insert({ collection_name: name, data: rows }));
      const failed = reason(outcome);
      if (failed === null) {
        check(Number(outcome.value.insert_cnt) === batch, 'insert_cnt', outcome.value);
        console.log(`ACK ${start} ${start + batch - 1} ${outcome.ms}`);
        acked.add(start);
        const first = start - (start - 1) % range;
        let whole = true;
        for (let b = first; b < first + range; b += batch) whole = whole && acked.has(b);
        if (whole) complete.push(first);
      } else {
        console.log(`CALL insert ${outcome.ms} err ${failed}`);
        await sleep(50);
      }
    }
  })();
  const queries = (async () => {
    let n = 0;
    while (!stopping) {
      await sleep(100);
      if (complete.length === 0) continue;
      const first = complete[(n++ * 7919) % complete.length];
      const outcome = await timed('query', () => c.query({
        collection_name: name, filter: `id >= ${first} and id < ${first + range}`, output_fields: ['id'], limit: range + 1,
      }));
      const failed = reason(outcome);
      console.log(`CALL query ${outcome.ms} ${failed === null ? 'ok' : `err ${failed}`}`);
      if (failed === null && outcome.value.data.length !== range) {
        console.log(`LOST ${first} ${first + range - 1} ${outcome.value.data.length}`);
      }
    }
  })();
  const health = (async () => {
    while (!stopping) {
      await sleep(200);
      const outcome = await timed('health', () => c.checkHealth());
      const failed = reason(outcome) ?? (outcome.value.isHealthy ? null : `unhealthy ${JSON.stringify(outcome.value.reasons)}`);
      console.log(`CALL health ${outcome.ms} ${failed === null ? 'ok' : `err ${failed}`}`);
    }
  })();

  readline.createInterface({ input: process.stdin }).on('line', line => {
    if (line.trim() === 'stop') stopping = true;
  });
  await Promise.all([inserts, queries, health]);
  console.log('DONE');
  process.exit(0);
}

main().catch(e => {
  console.log(`ERROR ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
