// Grouping and BM25 on a collection with several shards (shards_num 3) on a 3-node Quiver cluster (QUIVER_ADDRESSES),
// every call also made on a standalone Quiver server (QUIVER_ORACLE) holding the same rows, the single-node oracle:
// hybrid searches with group_by_field through the official Milvus Node.js SDK (RRF and weighted, group sizes 1-3, an
// offset, a VarChar and an Int64 group field, a BM25 search among the fused ones, normalized weights), and over REST v2 searches with
// groupingField (groupSize, strictGroupSize, offset, a filter, two queries), hybrid_search with groupingField, and BM25
// searches by text (plain, grouped, in a hybrid search), before and after deletes. Every answer must equal the single
// node's: the same hits in the same order with the same scores (FLAT and BM25 are exact). Exits non-zero naming the
// first difference.
'use strict';
const { FunctionType, RRFRanker, WeightedRanker } = require('@zilliz/milvus2-sdk-node');
const { MilvusClient, DataType, check, ok, sameRows, main, rng, restAt, answer, statusOf } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';

main('cluster-shards-grouping', () => run().catch(e => { throw e instanceof Error ? e : new Error(JSON.stringify(e)); }));

/** A JSON value with every object's keys sorted: the order of keys in a row carries no meaning. */
const sorted = v => Array.isArray(v) ? v.map(sorted)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map(k => [k, sorted(v[k])])) : v;

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 120000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 120000 });
  const r = rng(3017);
  const words = Array.from({ length: 80 }, (_, i) => 'g' + i.toString(36).replace(/[0-9]/g, d => 'abcdefghij'[d]) + 'z');
  const pick = skew => words[Math.floor(Math.pow(r(), skew) * words.length)];
  const text = () => Array.from({ length: 2 + Math.floor(r() * 30) }, () => pick(2.2)).join(' ');
  const query = () => Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(1.4)).join(' ');
  const vec = d => Array.from({ length: d }, () => Math.round((r() * 2 - 1) * 1000) / 1000);
  const colors = ['red', 'green', 'blue', 'black', 'white'];
  const name = 'grouped';

  const fields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'color', data_type: DataType.VarChar, max_length: 16 },
    { name: 'n', data_type: DataType.Int64 },
    { name: 'text', data_type: DataType.VarChar, max_length: 2000, enable_analyzer: true },
    { name: 'sparse', data_type: DataType.SparseFloatVector },
    { name: 'dense', data_type: DataType.FloatVector, dim: 6 },
    { name: 'other', data_type: DataType.FloatVector, dim: 4 },
  ];
  const functions = [{ name: 'text_bm25', type: FunctionType.BM25, input_field_names: ['text'], output_field_names: ['sparse'], params: {} }];
  ok(await nodes[0].createCollection({ collection_name: name, fields, functions, shards_num: 3 }), 'createCollection with 3 shards');
  ok(await single.createCollection({ collection_name: name, fields, functions }), 'createCollection on the single node');
  const rows = Array.from({ length: 720 }, (_, id) => ({ id, color: colors[Math.floor(r() * colors.length)], n: id % 13, text: text(), dense: vec(6), other: vec(4) }));
  for (const [i, part] of [rows.slice(0, 400), rows.slice(400)].entries()) {
    ok(await nodes[i].insert({ collection_name: name, data: part }), `insert part ${i} through node ${i}`);
    ok(await single.insert({ collection_name: name, data: part }), `insert part ${i} on the single node`);
    if (i === 0) {
      ok(await nodes[2].flushSync({ collection_names: [name] }), 'flush the cluster');
      ok(await single.flushSync({ collection_names: [name] }), 'flush the single node');
    }
  }
  for (const c of [nodes[1], single]) {
    ok(await c.createIndex({ collection_name: name, field_name: 'sparse', index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'BM25', params: { bm25_k1: 1.2, bm25_b: 0.75 } }), 'createIndex BM25');
    ok(await c.createIndex({ collection_name: name, field_name: 'dense', index_type: 'FLAT', metric_type: 'L2' }), 'createIndex dense');
    ok(await c.createIndex({ collection_name: name, field_name: 'other', index_type: 'FLAT', metric_type: 'IP' }), 'createIndex other');
    ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  }

  let turn = 0;
  const restBoth = async (path, body, what) => {
    const a = await restAt(addresses[turn++ % 3], path, body);
    const s = await restAt(oracleAddress, path, body);
    check(a.http === s.http && a.json.code === s.json.code && s.json.code === 0, `${what}: succeeded as on the single node`, { cluster: a.json, single: s.json });
    // Distances may differ in the last bit (a shard's second round searches only the chosen groups' rows); everything else exactly.
    const close = (x, y) => x.length === y.length && x.every((row, i) => Math.abs(row.distance - y[i].distance) <= 1e-6 * Math.max(1, Math.abs(y[i].distance))
      && JSON.stringify(sorted({ ...row, distance: 0 })) === JSON.stringify(sorted({ ...y[i], distance: 0 })));
    check(close(a.json.data, s.json.data) && JSON.stringify(a.json.topks) === JSON.stringify(s.json.topks),
      `${what}: the cluster's hits differ from the single node's`, { cluster: a.json, single: s.json });
    check(s.json.data.length > 0, `${what}: the single node finds hits`, s.json);
    return a.json;
  };

  const round = async label => {
    // Hybrid searches with group_by_field through the SDK.
    const requests = [
      { data: [vec(6), vec(6)], anns_field: 'dense', params: {}, limit: 6 },
      { data: [vec(4), vec(4)], anns_field: 'other', params: {}, expr: 'n != 4', limit: 5 },
    ];
    const textual = [
      { data: [query(), query()], anns_field: 'sparse', params: {}, limit: 4 },
      { data: [vec(6), vec(6)], anns_field: 'dense', params: {}, limit: 7 },
    ];
    for (const [k, params] of [
      { data: requests, rerank: RRFRanker(), limit: 3, group_by_field: 'color', group_size: 2 },
      { data: requests, rerank: RRFRanker(20), limit: 2, offset: 1, group_by_field: 'color', group_size: 3, output_fields: ['n', 'color'] },
      { data: requests, rerank: WeightedRanker([0.7, 0.4]), limit: 4, group_by_field: 'n', group_size: 1, output_fields: ['color'] },
      { data: requests, rerank: { strategy: 'weighted', params: { weights: [0.3, 0.9], norm_score: true } }, limit: 5, group_by_field: 'n', group_size: 2 },
      { data: textual, rerank: RRFRanker(), limit: 3, group_by_field: 'color', group_size: 2, output_fields: ['n'] },
      { data: textual, rerank: WeightedRanker([0.5, 0.5]), limit: 4, group_by_field: 'n', group_size: 2, strict_group_size: true },
      // Normalized weights: the BM25 request's scores are normalized as BM25's (the metric a shard's schema does not state).
      { data: textual, rerank: { strategy: 'weighted', params: { weights: [0.6, 0.4], norm_score: true } }, limit: 3, group_by_field: 'color', group_size: 2 },
      { data: textual, rerank: { strategy: 'weighted', params: { weights: [0.6, 0.4], norm_score: true } }, limit: 6, output_fields: ['color'] },
    ].entries()) {
      const call = { collection_name: name, ...params };
      const [a, s] = [await nodes[k % 3].hybridSearch(call), await single.hybridSearch(call)];
      ok(a, `${label}: hybridSearch ${k} through node ${k % 3}`);
      ok(s, `${label}: hybridSearch ${k} on the single node`);
      check(a.results.length === 2, `${label}: hybridSearch ${k}: two queries`, a.results.length);
      check(s.results.some(h => h.length > 0), `${label}: hybridSearch ${k}: the single node finds hits`, s.results);
      a.results.forEach((hits, q) => sameRows(hits, s.results[q], `${label}: hybridSearch ${k} query ${q}`));
    }

    // REST searches with groupingField, by vector and by text.
    for (const [k, extra] of [
      { data: [vec(6), vec(6)], annsField: 'dense', limit: 3, groupingField: 'color', groupSize: 2, outputFields: ['n'] },
      { data: [vec(6)], annsField: 'dense', limit: 2, offset: 1, groupingField: 'color', groupSize: 3, strictGroupSize: true, filter: 'n > 2' },
      { data: [vec(4), vec(4)], annsField: 'other', limit: 4, groupingField: 'n', groupSize: 2, outputFields: ['color', 'n'] },
      { data: [vec(6)], annsField: 'dense', limit: 5, groupingField: 'n' },
      { data: [query(), query()], annsField: 'sparse', limit: 3, groupingField: 'color', groupSize: 2, outputFields: ['n'] },
      { data: [query()], annsField: 'sparse', limit: 4, offset: 1, groupingField: 'n', groupSize: 1, filter: 'color != "red"' },
    ].entries()) {
      await restBoth('entities/search', { collectionName: name, ...extra }, `${label}: REST grouped search ${k}`);
    }

    // REST BM25 searches by text: scores need the collection's statistics.
    for (const [k, extra] of [
      { limit: 10 },
      { limit: 5, offset: 4, outputFields: ['color'] },
      { limit: 8, filter: 'n < 9' },
    ].entries()) {
      await restBoth('entities/search', { collectionName: name, data: [query(), query()], annsField: 'sparse', ...extra }, `${label}: REST BM25 search ${k}`);
    }

    // REST hybrid searches: grouped, with a BM25 search, and both.
    for (const [k, extra] of [
      { search: [{ data: [vec(6)], annsField: 'dense', limit: 6 }, { data: [vec(4)], annsField: 'other', limit: 5, filter: 'n != 4' }], rerank: { strategy: 'rrf', params: { k: 60 } }, limit: 3, groupingField: 'color', groupSize: 2, outputFields: ['n'] },
      { search: [{ data: [vec(6)], annsField: 'dense', limit: 6 }, { data: [vec(4)], annsField: 'other', limit: 6 }], rerank: { strategy: 'weighted', params: { weights: [0.6, 0.8] } }, limit: 3, offset: 1, groupingField: 'n', groupSize: 2 },
      { search: [{ data: [query()], annsField: 'sparse', limit: 8 }, { data: [vec(6)], annsField: 'dense', limit: 8 }], rerank: { strategy: 'rrf', params: { k: 30 } }, limit: 6, outputFields: ['color'] },
      { search: [{ data: [query()], annsField: 'sparse', limit: 5 }, { data: [vec(6)], annsField: 'dense', limit: 5 }], rerank: { strategy: 'weighted', params: { weights: [0.5, 0.5], norm_score: true } }, limit: 3, groupingField: 'color', groupSize: 2 },
    ].entries()) {
      await restBoth('entities/hybrid_search', { collectionName: name, ...extra }, `${label}: REST hybrid_search ${k}`);
    }
  };
  await round('all rows');

  const doomed = rows.filter(row => row.id % 4 === 1).map(row => row.id);
  ok(await nodes[0].delete({ collection_name: name, ids: doomed }), 'delete through the cluster');
  ok(await single.delete({ collection_name: name, ids: doomed }), 'delete on the single node');
  await round('after deletes');

  // Refusals are the single node's, code and message: a group field that does not exist, a vector as the group field.
  for (const [k, bad] of [{ group_by_field: 'nosuch' }, { group_by_field: 'dense' }].entries()) {
    const call = { collection_name: name, data: [{ data: [vec(6)], anns_field: 'dense', params: {}, limit: 3 }], rerank: RRFRanker(), limit: 2, ...bad };
    const [a, s] = [await answer(nodes[k % 3].hybridSearch(call)), await answer(single.hybridSearch(call))];
    check(statusOf(s).code !== 0 && statusOf(a).code === statusOf(s).code && statusOf(a).reason === statusOf(s).reason,
      `a grouped hybridSearch ${JSON.stringify(bad)} is refused as the single node refuses it`, { cluster: statusOf(a), single: statusOf(s) });
  }
  for (const [k, bad] of [
    ['entities/search', { data: [vec(6)], annsField: 'dense', limit: 3, groupingField: 'nosuch' }],
    ['entities/search', { data: [query()], annsField: 'sparse', limit: 3, filter: 'nosuch > 1' }],
    ['entities/hybrid_search', { search: [{ data: [vec(6)], annsField: 'dense', limit: 3 }], rerank: { strategy: 'rrf', params: { k: 60 } }, limit: 2, groupingField: 'nosuch' }],
  ].entries()) {
    const a = await restAt(addresses[k % 3], bad[0], { collectionName: name, ...bad[1] });
    const s = await restAt(oracleAddress, bad[0], { collectionName: name, ...bad[1] });
    check(s.json.code !== 0 && a.http === s.http && a.json.code === s.json.code && a.json.message === s.json.message,
      `REST ${bad[0]} ${JSON.stringify(bad[1])} is refused as the single node refuses it`, { cluster: a.json, single: s.json });
  }
  return { rows: rows.length, deleted: doomed.length };
}
