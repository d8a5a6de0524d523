// Hybrid search through the official Milvus Node.js SDK: a collection with two vector fields (8-d L2 and 6-d IP),
// hybridSearch with RRFRanker and WeightedRanker over gRPC (each AnnSearchRequest with its own filter and limit, top-level
// limit, offset and output fields; group_by_field as the SDK copies it into each request), and hybrid_search over REST
// through the SDK's HttpClient (RRF and weighted with offset against the same oracle; grouped by groupingField equal to
// the SDK's grouped gRPC answer). Every answer is checked against a fused oracle computed here: brute force per request,
// then Milvus's fusion (RRF 1/(k+rank); weighted sums, L2 turned into 1 - 2·atan(d)/π when mixed with IP), single
// precision sums, equal scores ordered by id.
'use strict';
const { DataType, client, httpClient, check, ok, main, freshCollection, rng } = require('./common');
const { RRFRanker, WeightedRanker } = require('@zilliz/milvus2-sdk-node');

function vec(r, d) { return Array.from({ length: d }, () => Math.fround(r() * 2 - 1)); }
const l2 = (a, b) => a.reduce((s, x, j) => s + (x - b[j]) ** 2, 0);
const ip = (a, b) => a.reduce((s, x, j) => s + x * b[j], 0);
const f = Math.fround;

/** One request's hits, best first: [id, score] of the rows `keep` admits. */
function brute(rows, field, query, metric, keep, limit) {
  return rows.filter(keep).map(r => [r.id, metric === 'L2' ? l2(r[field], query) : ip(r[field], query)])
    .sort((a, b) => (metric === 'L2' ? a[1] - b[1] : b[1] - a[1]) || a[0] - b[0]).slice(0, limit);
}

/** Milvus's fusion of per-request hit lists: ids and fused scores, best first, offset and limit applied. */
function fuse(lists, metrics, ranker, limit, offset) {
  const mixed = metrics.includes('L2') && metrics.some(m => m !== 'L2');
  const scores = new Map();
  lists.forEach((list, i) => list.forEach(([id, s], rank) => {
    let part;
    if (ranker.k !== undefined) part = f(1 / f(ranker.k + rank + 1));
    else {
      const norm = metrics[i] === 'L2' && mixed ? f(1 - f(2 * f(Math.atan(s)) / f(Math.PI))) : f(s);
      part = f(f(ranker.weights[i]) * norm);
    }
    scores.set(id, scores.has(id) ? f(scores.get(id) + part) : part);
  }));
  return [...scores].sort((a, b) => (b[1] - a[1]) || a[0] - b[0]).slice(offset, offset + limit);
}

function expectHits(got, expected, what) {
  check(got.length === expected.length, `${what}: hit count`, { got: got.map(h => h.id), expected });
  got.forEach((h, i) => {
    check(String(h.id) === String(expected[i][0]), `${what}: hit ${i} id`, { got: got.map(h => h.id), expected });
    check(Math.abs(h.score - expected[i][1]) < 1e-4, `${what}: hit ${i} score`, { got: h.score, expected: expected[i][1] });
  });
}

main('hybrid', async () => {
  const c = client();
  const name = `compat_hybrid_${process.pid}`;
  const steps = [];
  await freshCollection(c, name, [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
    { name: 'color', data_type: DataType.VarChar, max_length: 16 },
    { name: 'n', data_type: DataType.Int64 },
    { name: 'dense', data_type: DataType.FloatVector, dim: 8 },
    { name: 'other', data_type: DataType.FloatVector, dim: 6 },
  ]);
  const r = rng(7);
  const colors = ['red', 'green', 'blue', 'black'];
  const rows = Array.from({ length: 200 }, (_, id) => ({ id, color: colors[Math.floor(r() * 4)], n: id % 10, dense: vec(r, 8), other: vec(r, 6) }));
  ok(await c.insert({ collection_name: name, data: rows }), 'insert');
  ok(await c.createIndex({ collection_name: name, field_name: 'dense', index_type: 'FLAT', metric_type: 'L2' }), 'index dense');
  ok(await c.createIndex({ collection_name: name, field_name: 'other', index_type: 'FLAT', metric_type: 'IP' }), 'index other');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  steps.push('setup');

  const q1 = vec(rng(100), 8);
  const q2 = vec(rng(200), 6);
  const byId = new Map(rows.map(row => [row.id, row]));
  const redBlue = row => row.color === 'red' || row.color === 'blue';
  const lists = [brute(rows, 'dense', q1, 'L2', redBlue, 20), brute(rows, 'other', q2, 'IP', row => row.n >= 3, 15)];
  const requests = [
    { data: q1, anns_field: 'dense', params: {}, expr: 'color in ["red", "blue"]', limit: 20 },
    { data: q2, anns_field: 'other', params: {}, expr: 'n >= 3', limit: 15 },
  ];

  const rrf = await c.hybridSearch({ collection_name: name, data: requests, rerank: RRFRanker(10), limit: 8, offset: 3, output_fields: ['color', 'n'] });
  ok(rrf, 'hybridSearch RRF');
  expectHits(rrf.results, fuse(lists, ['L2', 'IP'], { k: 10 }, 8, 3), 'RRF k=10');
  rrf.results.forEach(hit => {
    const row = byId.get(Number(hit.id));
    check(hit.color === row.color && Number(hit.n) === row.n, 'RRF output fields', hit);
  });
  steps.push('rrf');

  const defaultK = await c.hybridSearch({ collection_name: name, data: requests, rerank: RRFRanker(), limit: 10 });
  ok(defaultK, 'hybridSearch RRF default k');
  expectHits(defaultK.results, fuse(lists, ['L2', 'IP'], { k: 60 }, 10, 0), 'RRF k=60');
  steps.push('rrf-default');

  const weighted = await c.hybridSearch({ collection_name: name, data: requests, rerank: WeightedRanker([0.6, 0.3]), limit: 10, output_fields: ['color'] });
  ok(weighted, 'hybridSearch weighted');
  expectHits(weighted.results, fuse(lists, ['L2', 'IP'], { weights: [0.6, 0.3] }, 10, 0), 'weighted');
  steps.push('weighted');

  const grouped = await c.hybridSearch({ collection_name: name, data: requests.map(q => ({ ...q, limit: 3 })), rerank: RRFRanker(), limit: 2,
    group_by_field: 'color', group_size: 2, output_fields: ['color'] });
  ok(grouped, 'hybridSearch group_by');
  const groups = new Map();
  grouped.results.forEach(h => groups.set(h.color, (groups.get(h.color) || 0) + 1));
  check(groups.size >= 1 && groups.size <= 2 && [...groups.values()].every(count => count <= 2), 'group_by: at most 2 groups of at most 2', grouped.results);
  steps.push('group-by');

  const mismatch = await c.hybridSearch({ collection_name: name, data: requests, rerank: WeightedRanker([0.5]), limit: 5 });
  check(mismatch.status.code === 1100 && /one weight per request/.test(mismatch.status.reason), 'weights mismatch refused with 1100', mismatch.status);
  steps.push('refusal');

  const h = httpClient();
  const rest = await h.hybridSearch({
    collectionName: name,
    search: [
      { data: [q1], annsField: 'dense', filter: 'color in ["red", "blue"]', limit: 20 },
      { data: [q2], annsField: 'other', filter: 'n >= 3', limit: 15 },
    ],
    rerank: { strategy: 'rrf', params: { k: 10 } },
    limit: 8,
    outputFields: ['color'],
  });
  check(rest.code === 0, 'REST hybrid_search', rest);
  expectHits(rest.data.map(row => ({ id: row.id, score: row.distance })), fuse(lists, ['L2', 'IP'], { k: 10 }, 8, 0), 'REST RRF');
  const restSearch = [
    { data: [q1], annsField: 'dense', filter: 'color in ["red", "blue"]', limit: 20 },
    { data: [q2], annsField: 'other', filter: 'n >= 3', limit: 15 },
  ];
  const restWeighted = await h.hybridSearch({ collectionName: name, search: restSearch, rerank: { strategy: 'weighted', params: { weights: [0.6, 0.3] } },
    limit: 6, offset: 2, outputFields: ['color'] });
  check(restWeighted.code === 0, 'REST weighted hybrid_search', restWeighted);
  expectHits(restWeighted.data.map(row => ({ id: row.id, score: row.distance })), fuse(lists, ['L2', 'IP'], { weights: [0.6, 0.3] }, 6, 2), 'REST weighted, offset 2');
  restWeighted.data.forEach(row => check(row.color === byId.get(Number(row.id)).color, 'REST weighted output fields', row));
  // Grouped over REST (groupingField, groupSize) answers what the SDK's grouped gRPC hybrid search above answered.
  const restGrouped = await h.hybridSearch({ collectionName: name, search: restSearch.map(q => ({ ...q, limit: 3 })), rerank: { strategy: 'rrf', params: { k: 60 } },
    limit: 2, groupingField: 'color', groupSize: 2, outputFields: ['color'] });
  check(restGrouped.code === 0, 'REST grouped hybrid_search', restGrouped);
  expectHits(restGrouped.data.map(row => ({ id: row.id, score: row.distance })), grouped.results.map(hit => [Number(hit.id), hit.score]), 'REST group_by as gRPC');
  restGrouped.data.forEach(row => check(row.color === byId.get(Number(row.id)).color, 'REST grouped output fields', row));
  steps.push('rest');

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  c.closeConnection();
  return steps;
});
