// Shard counts that change, and Flush, on a 3-node Quiver cluster (QUIVER_ADDRESSES), through the official Milvus
// Node.js SDK, a standalone Quiver server (QUIVER_ORACLE) as the single-node oracle for refusals:
// - a collection of 2 shards written and searched through nodes 1 and 2 (so they have routed by its count), dropped and
//   created again with 3 shards through node 0, then written through nodes 1 and 2 again, upserted through node 0 and
//   searched through every node: each key is stored once (an upsert through node 0, which routes by 3, finds every row
//   where the writes through 1 and 2 put it), every value is the upserted one, and every search equals a brute-force
//   top-k over the rows sent; then shrunk again to 2 shards through node 2 and written through node 1 (which last saw
//   3): accepted, each key once.
// - Flush names its collections in a list: a 3-shard collection, a 1-shard one and an alias in one call, through a node
//   that holds none of them; flushSync; a list naming an unknown collection is refused as the single node refuses it.
//   (The C# side then checks that every shard's log was checkpointed, which only a flush reaching each shard does.)
// - search by primary keys on every dense vector type (FLOAT, FLOAT16, BFLOAT16, INT8, BINARY; nullable ones with
//   nulls, whose vectors travel compact) of a 3-shard collection: the hits equal the single node's on the same rows; a
//   key whose vector is null is refused as the single node refuses it; on a SPARSE field refused in its words.
// - hybridSearch on a 3-shard collection (an L2 and an IP field, each request with its own filter and limit): RRF (given
//   and default k) and weighted (with and without `norm_score`) rankers, offsets, output fields, two queries:
//   every hit and fused score equal to the single node's, with group_by_field too.
// Exits non-zero naming the first difference.
'use strict';
const { MilvusClient, DataType, check, ok, main, rng, sameRows, answer, statusOf } = require('./common');
const { RRFRanker, WeightedRanker } = require('@zilliz/milvus2-sdk-node');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const dim = 4;

main('cluster-shards-recreate', () => run().catch(e => { throw e instanceof Error ? e : new Error(JSON.stringify(e)); }));

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 120000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 120000 });
  const r = rng(2727);
  const vec = () => Array.from({ length: dim }, () => r() * 2 - 1);
  const fields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'n', data_type: DataType.Int64 },
    { name: 'vector', data_type: DataType.FloatVector, dim },
  ];
  const name = 'moving';
  const create = async (via, shards) => {
    ok(await nodes[via].createCollection({ collection_name: name, fields, shards_num: shards }), `create ${name} with ${shards} shards through node ${via}`);
    ok(await nodes[via].createIndex({ collection_name: name, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), `index ${name}`);
    ok(await nodes[via].loadCollectionSync({ collection_name: name }), `load ${name}`);
  };
  const rows = (from, count, shift) => Array.from({ length: count }, (_, i) => ({ id: from + i, n: from + i + shift, vector: vec() }));
  const l2 = (a, b) => a.reduce((s, x, i) => s + (x - b[i]) * (x - b[i]), 0);

  // The model: what every key holds now.
  let model = new Map();
  const put = data => data.forEach(row => model.set(row.id, row));
  const checkAll = async what => {
    const stored = await nodes[0].query({ collection_name: name, filter: 'id >= 0', output_fields: ['id', 'n'], limit: 10000 });
    ok(stored, `${what}: query every row`);
    check(stored.data.length === model.size, `${what}: each key stored once`, { stored: stored.data.length, sent: model.size });
    for (const row of stored.data) {
      check(model.has(Number(row.id)) && model.get(Number(row.id)).n === Number(row.n), `${what}: each row holds the value last written`, row);
    }
    for (const [i, c] of nodes.entries()) {
      const probe = vec();
      const found = await c.search({ collection_name: name, data: [probe], limit: 7, output_fields: ['n'] });
      ok(found, `${what}: search through node ${i}`);
      const want = [...model.values()].map(row => ({ id: row.id, d: l2(row.vector, probe) })).sort((a, b) => a.d - b.d || a.id - b.id).slice(0, 7);
      check(found.results.length === want.length && found.results.every((h, k) => Number(h.id) === want[k].id && Math.abs(h.score - want[k].d) < 1e-4),
        `${what}: search through node ${i} equals the brute-force top-7`, { got: found.results.map(h => [h.id, h.score]), want });
    }
  };

  // Each part runs even when one before it failed, so one run shows every part that fails.
  const failures = [];
  for (const [part, body] of [['re-created shard counts', recreated], ['flush', flush], ['search by keys on every vector type', typedKeys], ['hybrid search', hybrid]]) {
    try {
      await body();
    } catch (e) {
      failures.push(`${part}: ${e instanceof Error ? e.message : JSON.stringify(e)}`);
    }
  }
  check(failures.length === 0, `${failures.length} of 4 parts failed`, failures);
  return { recreated: [2, 3, 2], flushed: ['flushed', 'flushed_one', 'flushed_alias'], searchedByKeys: ['FLOAT', 'FLOAT16', 'BFLOAT16', 'INT8', 'BINARY'] };

  async function recreated() {
    // Two shards; nodes 1 and 2 route writes and reads by that count.
    await create(0, 2);
    for (const [via, data] of [[1, rows(0, 40, 0)], [2, rows(40, 40, 0)]]) {
      ok(await nodes[via].insert({ collection_name: name, data }), `insert through node ${via}`);
      put(data);
    }
    await checkAll('2 shards');

    // Dropped and created again with 3 shards through node 0; written again through nodes 1 and 2.
    ok(await nodes[0].dropCollection({ collection_name: name }), 'drop through node 0');
    model = new Map();
    await create(0, 3);
    for (const [via, data] of [[1, rows(0, 60, 0)], [2, rows(60, 60, 0)]]) {
      ok(await nodes[via].insert({ collection_name: name, data }), `insert through node ${via} after the re-create with 3 shards`);
      put(data);
    }
    const upserts = rows(0, 120, 1000);
    ok(await nodes[0].upsert({ collection_name: name, data: upserts }), 'upsert every key through node 0');
    put(upserts);
    await checkAll('re-created with 3 shards');
    const counted = await nodes[1].query({ collection_name: name, filter: '', output_fields: ['count(*)'] });
    check(Number(counted.data[0]['count(*)']) === 120, 'count(*) through node 1', counted.data);

    // Shrunk to 2 shards through node 2; node 1 last routed by 3.
    ok(await nodes[2].dropCollection({ collection_name: name }), 'drop through node 2');
    model = new Map();
    await create(2, 2);
    const shrunk = rows(0, 50, 7);
    ok(await nodes[1].insert({ collection_name: name, data: shrunk }), 'insert through node 1 after the re-create with 2 shards');
    put(shrunk);
    const again = rows(0, 50, 2000);
    ok(await nodes[2].upsert({ collection_name: name, data: again }), 'upsert every key through node 2');
    put(again);
    await checkAll('re-created with 2 shards');
  }

  async function flush() {
    // Flush: a list naming a collection of 3 shards, one of 1 shard and an alias, through a node that created none.
    for (const [collection, shards] of [['flushed', 3], ['flushed_one', 1]]) {
      ok(await nodes[0].createCollection({ collection_name: collection, fields, shards_num: shards }), `create ${collection}`);
      ok(await nodes[0].createIndex({ collection_name: collection, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), `index ${collection}`);
      ok(await nodes[0].loadCollectionSync({ collection_name: collection }), `load ${collection}`);
      ok(await nodes[0].insert({ collection_name: collection, data: rows(0, 90, 0) }), `insert ${collection}`);
    }
    ok(await nodes[0].createAlias({ collection_name: 'flushed_one', alias: 'flushed_alias' }), 'create alias');
    const flushed = await nodes[1].flush({ collection_names: ['flushed', 'flushed_one', 'flushed_alias'] });
    ok(flushed, 'flush of three names through node 1');
    for (const collection of ['flushed', 'flushed_one', 'flushed_alias']) {
      check(flushed.coll_segIDs[collection] !== undefined && Number(flushed.coll_flush_ts[collection]) > 0, `the flush answers for ${collection}`, flushed);
    }
    ok(await nodes[2].flushSync({ collection_names: ['flushed'] }), 'flushSync through node 2');
    for (const collection of ['flushed', 'flushed_one']) {
      const after = await nodes[2].query({ collection_name: collection, filter: '', output_fields: ['count(*)'] });
      check(Number(after.data[0]['count(*)']) === 90, `${collection}: every row after the flush`, after.data);
    }
    const [unknown, unknownSingle] = [await answer(nodes[1].flush({ collection_names: ['no_such_collection'] })),
      await answer(single.flush({ collection_names: ['no_such_collection'] }))];
    check(statusOf(unknown).code !== 0 && statusOf(unknown).code === statusOf(unknownSingle).code && statusOf(unknown).reason === statusOf(unknownSingle).reason,
      'an unknown collection in the list is refused as the single node refuses it', { cluster: statusOf(unknown), single: statusOf(unknownSingle) });
  }

  async function typedKeys() {
    // Search by primary keys on every vector type, nullable fields with nulls.
    const typed = 'typed_keys';
    const vfields = [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true },
      { name: 'flt', data_type: DataType.FloatVector, dim: 8, nullable: true },
      { name: 'f16', data_type: DataType.Float16Vector, dim: 8, nullable: true },
      { name: 'bf16', data_type: DataType.BFloat16Vector, dim: 8 },
      { name: 'i8', data_type: DataType.Int8Vector, dim: 8, nullable: true },
      { name: 'bin', data_type: DataType.BinaryVector, dim: 16, nullable: true },
      { name: 'sp', data_type: DataType.SparseFloatVector, nullable: true },
    ];
    const nullable = ['flt', 'f16', 'i8', 'bin', 'sp'];
    ok(await nodes[0].createCollection({ collection_name: typed, fields: vfields, shards_num: 3 }), `create ${typed} with 3 shards`);
    ok(await single.createCollection({ collection_name: typed, fields: vfields }), `create ${typed} on the single node`);
    const typedRows = Array.from({ length: 90 }, (_, i) => {
      const row = {
        id: i,
        flt: Array.from({ length: 8 }, () => r() * 2 - 1),
        f16: Array.from({ length: 8 }, () => r() * 4 - 2),
        bf16: Array.from({ length: 8 }, () => r() * 4 - 2),
        i8: Array.from({ length: 8 }, () => Math.floor(r() * 256) - 128),
        bin: Array.from({ length: 2 }, () => Math.floor(r() * 256)),
        sp: { [Math.floor(r() * 20)]: r() + 0.1, [20 + Math.floor(r() * 20)]: r() + 0.1 },
      };
      nullable.forEach((f, j) => { if ((i + j) % 4 === 0) row[f] = null; });
      return row;
    });
    for (const c of [nodes[1], single]) {
      ok(await c.insert({ collection_name: typed, data: typedRows }), `insert ${typed}`);
      for (const [field, index_type, metric_type] of [['flt', 'FLAT', 'COSINE'], ['f16', 'FLAT', 'L2'], ['bf16', 'FLAT', 'IP'], ['i8', 'FLAT', 'L2'], ['bin', 'BIN_FLAT', 'HAMMING'], ['sp', 'SPARSE_INVERTED_INDEX', 'IP']]) {
        ok(await c.createIndex({ collection_name: typed, field_name: field, index_type, metric_type, params: {} }), `index ${typed}.${field}`);
      }
      ok(await c.loadCollectionSync({ collection_name: typed }), `load ${typed}`);
    }
    const keysWith = f => typedRows.filter(row => row[f] !== null).map(row => row.id);
    for (const [k, field] of ['flt', 'f16', 'bf16', 'i8', 'bin'].entries()) {
      const have = keysWith(field);
      const ids = [have[1], have[17], have[40], have[1]];
      const params = { collection_name: typed, anns_field: field, ids, limit: 6, offset: 1, output_fields: ['id'] };
      const [a, s] = [await nodes[k % 3].search(params), await single.search(params)];
      ok(a, `${typed}: search by keys on ${field}`);
      ok(s, `${typed}: single-node search by keys on ${field}`);
      check(a.results.length === ids.length, `${typed}: one hit list per key on ${field}`, a.results.length);
      a.results.forEach((hits, q) => sameRows(hits, s.results[q], `${typed}: search by keys on ${field}, key ${ids[q]}`));
      if (field !== 'bf16') {
        const nullKey = typedRows.find(row => row[field] === null).id;
        const [refused, refusedSingle] = [await answer(nodes[0].search({ ...params, ids: [nullKey] })), await answer(single.search({ ...params, ids: [nullKey] }))];
        check(statusOf(refused).code !== 0 && statusOf(refused).code === statusOf(refusedSingle).code && statusOf(refused).reason === statusOf(refusedSingle).reason,
          `${typed}: a key whose ${field} is null is refused as the single node refuses it`, { cluster: statusOf(refused), single: statusOf(refusedSingle) });
      }
    }
    const sparseCall = { collection_name: typed, anns_field: 'sp', ids: keysWith('sp').slice(0, 2), limit: 6 };
    const [sparse, sparseSingle] = [await answer(nodes[2].search(sparseCall)), await answer(single.search(sparseCall))];
    check(statusOf(sparse).code !== 0 && statusOf(sparse).code === statusOf(sparseSingle).code && statusOf(sparse).reason === statusOf(sparseSingle).reason,
      `${typed}: search by keys on a sparse field is refused as the single node refuses it`, { cluster: statusOf(sparse), single: statusOf(sparseSingle) });
  }

  async function hybrid() {
    const hname = 'hybrid_shards';
    const hfields = [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true },
      { name: 'color', data_type: DataType.VarChar, max_length: 16 },
      { name: 'n', data_type: DataType.Int64 },
      { name: 'dense', data_type: DataType.FloatVector, dim: 8 },
      { name: 'other', data_type: DataType.FloatVector, dim: 6 },
    ];
    const colors = ['red', 'green', 'blue', 'black'];
    const hrows = Array.from({ length: 240 }, (_, id) => ({ id, color: colors[Math.floor(r() * 4)], n: id % 10,
      dense: Array.from({ length: 8 }, () => r() * 2 - 1), other: Array.from({ length: 6 }, () => r() * 2 - 1) }));
    ok(await nodes[2].createCollection({ collection_name: hname, fields: hfields, shards_num: 3 }), `create ${hname} with 3 shards`);
    ok(await single.createCollection({ collection_name: hname, fields: hfields }), `create ${hname} on the single node`);
    for (const c of [nodes[0], single]) {
      ok(await c.insert({ collection_name: hname, data: hrows }), `insert ${hname}`);
      ok(await c.createIndex({ collection_name: hname, field_name: 'dense', index_type: 'FLAT', metric_type: 'L2' }), 'index dense');
      ok(await c.createIndex({ collection_name: hname, field_name: 'other', index_type: 'FLAT', metric_type: 'IP' }), 'index other');
      ok(await c.loadCollectionSync({ collection_name: hname }), `load ${hname}`);
    }
    const probe = d => Array.from({ length: d }, () => r() * 2 - 1);
    const requests = [
      { data: [probe(8), probe(8)], anns_field: 'dense', params: {}, expr: 'color in ["red", "blue"]', limit: 20 },
      { data: [probe(6), probe(6)], anns_field: 'other', params: {}, expr: 'n >= 3', limit: 15 },
    ];
    for (const [k, params] of [
      { rerank: RRFRanker(10), limit: 8, offset: 3, output_fields: ['color', 'n'] },
      { rerank: RRFRanker(), limit: 10 },
      { rerank: WeightedRanker([0.6, 0.3]), limit: 10, output_fields: ['color'] },
      { rerank: { strategy: 'weighted', params: { weights: [0.2, 0.9], norm_score: true } }, limit: 12, offset: 2, output_fields: ['n'] },
    ].entries()) {
      const call = { collection_name: hname, data: requests, ...params };
      const [a, s] = [await nodes[k % 3].hybridSearch(call), await single.hybridSearch(call)];
      ok(a, `hybridSearch ${k} through node ${k % 3}`);
      ok(s, `hybridSearch ${k} on the single node`);
      check(a.results.length === 2, `hybridSearch ${k}: two queries`, a.results.length);
      a.results.forEach((hits, q) => sameRows(hits, s.results[q], `hybridSearch ${k} query ${q}`));
    }
    const groupedCall = { collection_name: hname, data: requests.map(q => ({ ...q, limit: 3 })), rerank: RRFRanker(), limit: 2, group_by_field: 'color', group_size: 2 };
    const [grouped, groupedSingle] = [await nodes[1].hybridSearch(groupedCall), await single.hybridSearch(groupedCall)];
    ok(grouped, 'hybridSearch with group_by_field on several shards');
    ok(groupedSingle, 'hybridSearch with group_by_field on the single node');
    grouped.results.forEach((hits, q) => sameRows(hits, groupedSingle.results[q], `grouped hybridSearch query ${q}`));
  }
}
