// Keys on collections with several shards (shards_num 3) on a 3-node Quiver cluster (QUIVER_ADDRESSES), through the
// official Milvus Node.js SDK, a standalone Quiver server (QUIVER_ORACLE) as the single-node oracle:
// - auto_id: batches inserted at once through the three nodes get keys that are unique across shards and nodes, each
//   answered in its rows' order; every row is stored once under its key; searches equal the single node's once keys are
//   mapped to the rows they name (the two allocate different keys); supplying a key is refused as the single node
//   refuses it; delete and upsert by the allocated keys reach the rows.
// - search by primary keys (`ids`): the hits equal the single node's, with offsets, filters and output fields, Int64
//   and VarChar keys; a key no row holds is refused as the single node refuses it.
// Exits non-zero naming the first difference.
'use strict';
const { MilvusClient, DataType, check, ok, main, rng, sameRows, answer, statusOf } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const dim = 8;

main('cluster-shards-keys', () => run().catch(e => { throw e instanceof Error ? e : new Error(JSON.stringify(e)); }));

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 120000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 120000 });
  const r = rng(2617);
  const vec = () => Array.from({ length: dim }, () => r() * 2 - 1);

  // auto_id: `n` numbers the rows, so the two sides' rows can be matched whatever keys each allocated.
  const autoFields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: true },
    { name: 'n', data_type: DataType.Int64 },
    { name: 'vector', data_type: DataType.FloatVector, dim },
  ];
  ok(await nodes[0].createCollection({ collection_name: 'auto_keys', fields: autoFields, shards_num: 3 }), 'createCollection auto_id with 3 shards');
  ok(await single.createCollection({ collection_name: 'auto_keys', fields: autoFields }), 'createCollection auto_id on the single node');
  const described = await nodes[1].describeCollection({ collection_name: 'auto_keys' });
  check(described.schema.fields.find(f => f.name === 'id').autoID === true, 'the cluster describes the key as auto_id', described.schema.fields);
  const batches = [0, 1, 2].map(b => Array.from({ length: 150 }, (_, i) => ({ n: b * 150 + i, vector: vec() })));
  // The three batches at once, each through another node: the nodes allocate concurrently.
  const inserted = await Promise.all(batches.map((data, b) => nodes[b].insert({ collection_name: 'auto_keys', data })));
  for (const [b, data] of batches.entries()) {
    ok(inserted[b], `auto_id insert through node ${b}`);
    check(Number(inserted[b].insert_cnt) === data.length, 'insert_cnt', inserted[b].insert_cnt);
    ok(await single.insert({ collection_name: 'auto_keys', data }), `auto_id insert ${b} on the single node`);
  }
  const keyOf = new Map();
  for (const [b, data] of batches.entries()) {
    const ids = inserted[b].IDs.int_id.data.map(String);
    check(ids.length === data.length, 'one key per row', ids.length);
    ids.forEach((id, i) => keyOf.set(data[i].n, id));
  }
  check(new Set(keyOf.values()).size === 450, 'the 450 allocated keys are distinct across nodes and shards', new Set(keyOf.values()).size);
  for (const c of [nodes[2], single]) {
    ok(await c.createIndex({ collection_name: 'auto_keys', field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), 'createIndex auto_keys');
    ok(await c.loadCollectionSync({ collection_name: 'auto_keys' }), 'load auto_keys');
  }
  const stored = await nodes[1].query({ collection_name: 'auto_keys', filter: 'n >= 0', output_fields: ['id', 'n'], limit: 1000 });
  ok(stored, 'query every auto_id row');
  check(stored.data.length === 450, 'every row stored once', stored.data.length);
  for (const row of stored.data) {
    check(keyOf.get(Number(row.n)) === String(row.id), 'each row is stored under the key its insert answered', row);
  }
  const nOf = new Map([...keyOf.entries()].map(([n, id]) => [id, n]));
  const probes = [vec(), vec()];
  for (const [i, params] of [{ limit: 10 }, { limit: 6, offset: 4, filter: 'n % 3 == 1' }].entries()) {
    const [a, s] = [await nodes[i].search({ collection_name: 'auto_keys', data: probes, output_fields: ['n'], ...params }),
      await single.search({ collection_name: 'auto_keys', data: probes, output_fields: ['n'], ...params })];
    ok(a, `auto_keys search ${JSON.stringify(params)}`);
    a.results.forEach((hits, q) => {
      check(hits.every(h => nOf.get(String(h.id)) === Number(h.n)), 'each hit\'s key names its row', hits.slice(0, 3));
      sameRows(hits.map(h => ({ n: h.n, score: h.score })), s.results[q].map(h => ({ n: h.n, score: h.score })), `auto_keys search ${JSON.stringify(params)} query ${q}`);
    });
  }
  const [given, givenSingle] = [await answer(nodes[0].insert({ collection_name: 'auto_keys', data: [{ id: 5, n: 999, vector: vec() }] })),
    await answer(single.insert({ collection_name: 'auto_keys', data: [{ id: 5, n: 999, vector: vec() }] }))];
  check(statusOf(given).code !== 0 && statusOf(given).code === statusOf(givenSingle).code && statusOf(given).reason === statusOf(givenSingle).reason,
    'a supplied key is refused as the single node refuses it', { cluster: statusOf(given), single: statusOf(givenSingle) });
  const doomed = [0, 1, 2, 200, 449].map(n => keyOf.get(n));
  const deleted = await nodes[2].delete({ collection_name: 'auto_keys', ids: doomed });
  ok(deleted, 'delete by allocated keys');
  check(Number(deleted.delete_cnt) === 5, 'delete_cnt', deleted.delete_cnt);
  const upserted = await nodes[1].upsert({ collection_name: 'auto_keys', data: [{ id: keyOf.get(10), n: 10010, vector: vec() }] });
  ok(upserted, 'upsert by an allocated key');
  const after = await nodes[0].query({ collection_name: 'auto_keys', filter: 'n >= 0', output_fields: ['id', 'n'], limit: 1000 });
  check(after.data.length === 445, 'the deleted rows are gone and the upserted one replaced', after.data.length);
  check(after.data.some(row => String(row.id) === keyOf.get(10) && Number(row.n) === 10010), 'the upsert kept its key', after.data.filter(row => String(row.id) === keyOf.get(10)));

  // Search by primary keys, Int64 and VarChar keys, the same rows on both sides.
  for (const [name, keyType] of [['by_int_keys', DataType.Int64], ['by_str_keys', DataType.VarChar]]) {
    const fields = [
      keyType === DataType.Int64 ? { name: 'id', data_type: DataType.Int64, is_primary_key: true } : { name: 'id', data_type: DataType.VarChar, is_primary_key: true, max_length: 16 },
      { name: 'n', data_type: DataType.Int64 },
      { name: 'vector', data_type: DataType.FloatVector, dim },
    ];
    const key = i => (keyType === DataType.Int64 ? i : `k${i}`);
    ok(await nodes[0].createCollection({ collection_name: name, fields, shards_num: 3 }), `createCollection ${name}`);
    ok(await single.createCollection({ collection_name: name, fields }), `createCollection ${name} on the single node`);
    const data = Array.from({ length: 300 }, (_, i) => ({ id: key(i), n: i, vector: vec() }));
    ok(await nodes[1].insert({ collection_name: name, data }), `insert ${name}`);
    ok(await single.insert({ collection_name: name, data }), `insert ${name} on the single node`);
    for (const c of [nodes[2], single]) {
      ok(await c.createIndex({ collection_name: name, field_name: 'vector', index_type: 'FLAT', metric_type: 'COSINE' }), `createIndex ${name}`);
      ok(await c.loadCollectionSync({ collection_name: name }), `load ${name}`);
    }
    for (const [i, params] of [
      { ids: [key(3), key(150), key(299)], limit: 5 },
      { ids: [key(7), key(7), key(42)], limit: 4, offset: 3, output_fields: ['n'] },
      { ids: [key(11)], limit: 8, filter: 'n > 100', output_fields: ['n', 'vector'] },
    ].entries()) {
      const [a, s] = [await nodes[i].search({ collection_name: name, ...params }), await single.search({ collection_name: name, ...params })];
      ok(a, `${name}: search by keys ${JSON.stringify(params)}`);
      ok(s, `${name}: single-node search by keys ${JSON.stringify(params)}`);
      // The SDK answers one query's hits as a flat list, several queries' as a list per query.
      const lists = x => (params.ids.length === 1 ? [x.results] : x.results);
      check(lists(a).length === params.ids.length, 'one hit list per key', lists(a).length);
      lists(a).forEach((hits, q) => sameRows(hits, lists(s)[q], `${name}: search by keys ${JSON.stringify(params)} query ${q}`));
    }
    const [missing, missingSingle] = [await answer(nodes[0].search({ collection_name: name, ids: [key(1), key(5000)], limit: 3 })),
      await answer(single.search({ collection_name: name, ids: [key(1), key(5000)], limit: 3 }))];
    check(statusOf(missing).code !== 0 && statusOf(missing).code === statusOf(missingSingle).code && statusOf(missing).reason === statusOf(missingSingle).reason,
      `${name}: a key no row holds is refused as the single node refuses it`, { cluster: statusOf(missing), single: statusOf(missingSingle) });
  }

  for (const name of ['auto_keys', 'by_int_keys', 'by_str_keys']) {
    ok(await nodes[1].dropCollection({ collection_name: name }), `drop ${name}`);
  }
  return { autoIds: 450, searchedByKeys: ['Int64', 'VarChar'] };
}
