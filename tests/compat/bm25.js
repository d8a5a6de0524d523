// Full-text search as the official Node SDK does it: a BM25 function from an analyzed VarChar field to a sparse field,
// rows inserted as text only, an index with metric BM25 and bm25_k1 / bm25_b, searches by raw text. Every score is
// checked against a BM25 written here from the formula (words = lower-cased runs of letters and digits, which is what
// the standard analyzer makes of these ASCII texts); then deletes (the corpus statistics follow), a hybrid search
// with a BM25 request and a dense one (RRF oracle from the two single searches), and the same search over REST v2.
'use strict';
const { DataType, client, check, ok, milvusError, main, restPost: rest, rng } = require('./common');
const { FunctionType } = require('@zilliz/milvus2-sdk-node');

const words = ['kernel', 'driver', 'network', 'package', 'install', 'upgrade', 'manual', 'license', 'socket', 'thread',
  'memory', 'disk', 'archive', 'daemon', 'shell', 'script', 'server', 'client', 'proxy', 'cache', 'vector', 'search',
  'boot', 'mount', 'format', 'key', 'token', 'debian', 'mail', 'print'];
const r = rng(42);
const docs = Array.from({ length: 240 }, () => {
  const n = 1 + Math.floor(r() * 25);
  return Array.from({ length: n }, () => words[Math.floor(Math.pow(r(), 2) * words.length)])
    .map(w => (r() < 0.1 ? w.toUpperCase() : w)).join(r() < 0.3 ? ', ' : ' ') + '.';
});
const queries = ['kernel driver', 'install package upgrade', 'socket', 'mail print print', 'vector search server'];

const tokens = text => (text.toLowerCase().match(/[a-z0-9]+/g) || []);

/** Okapi BM25 with Milvus's IDF ln(1 + (N - df + 0.5) / (df + 0.5)); each occurrence of a query word counts. */
function bm25(corpus, query, k, k1, b, keep) {
  const ids = Object.keys(corpus).map(Number);
  const toks = {};
  ids.forEach(id => { toks[id] = tokens(corpus[id]); });
  const n = ids.length;
  const avgdl = ids.reduce((s, id) => s + toks[id].length, 0) / n;
  const df = w => ids.filter(id => toks[id].includes(w)).length;
  const scored = [];
  for (const id of ids) {
    if (keep && !keep(id)) continue;
    let score = 0;
    for (const w of tokens(query)) {
      const tf = toks[id].filter(t => t === w).length;
      if (tf === 0) continue;
      const d = df(w);
      const idf = Math.log(1 + (n - d + 0.5) / (d + 0.5));
      score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * toks[id].length / avgdl));
    }
    if (score > 0) scored.push({ id, score });
  }
  return scored.sort((x, y) => y.score - x.score || x.id - y.id).slice(0, k + 1);
}

/** Hits equal the reference: scores within 1e-4 (relative), ids where the neighbours' scores are apart. */
function same(hits, ranked, k, what) {
  const want = ranked.slice(0, k);
  check(hits.length === want.length, `${what}: ${want.length} hits`, { got: hits.length });
  for (let i = 0; i < hits.length; i++) {
    check(Math.abs(hits[i].score - want[i].score) <= 1e-4 * Math.max(1, want[i].score), `${what}: score at rank ${i}`, { got: hits[i], want: want[i] });
    const apart = (i === 0 || ranked[i - 1].score - ranked[i].score > 1e-4) && (i + 1 >= ranked.length || ranked[i].score - ranked[i + 1].score > 1e-4);
    if (apart) check(Number(hits[i].id) === want[i].id, `${what}: id at rank ${i}`, { got: hits[i], want: want[i] });
  }
}

main('bm25', async () => {
  const c = client();
  const name = `compat_bm25_${process.pid}`;
  const steps = [];
  const k1 = 1.5;
  const b = 0.6;
  if ((await c.hasCollection({ collection_name: name })).value) await c.dropCollection({ collection_name: name });
  ok(await c.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true },
      { name: 'text', data_type: DataType.VarChar, max_length: 1000, enable_analyzer: true },
      { name: 'sparse', data_type: DataType.SparseFloatVector },
      { name: 'dense', data_type: DataType.FloatVector, dim: 2 },
    ],
    functions: [{ name: 'text_bm25', type: FunctionType.BM25, input_field_names: ['text'], output_field_names: ['sparse'], params: {} }],
  }), 'createCollection with a BM25 function');
  const described = await c.describeCollection({ collection_name: name });
  check(described.schema.functions.length === 1 && described.schema.functions[0].type === 'BM25', 'describe shows the BM25 function', described.schema.functions);
  check(described.schema.fields.find(f => f.name === 'sparse').is_function_output === true, 'sparse is a function output', described.schema.fields);
  steps.push('create');

  const dense = id => [Math.cos(id), Math.sin(id)];
  const rows = docs.map((text, id) => ({ id, text, dense: dense(id) }));
  ok(await c.insert({ collection_name: name, data: rows.slice(0, 120) }), 'insert text (first half)');
  ok(await c.flushSync({ collection_names: [name] }), 'flush');
  ok(await c.insert({ collection_name: name, data: rows.slice(120) }), 'insert text (second half)');
  ok(await c.createIndex({
    collection_name: name, field_name: 'sparse', index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'BM25',
    params: { inverted_index_algo: 'DAAT_MAXSCORE', bm25_k1: k1, bm25_b: b },
  }), 'createIndex metric BM25');
  ok(await c.createIndex({ collection_name: name, field_name: 'dense', index_type: 'FLAT', metric_type: 'L2' }), 'createIndex dense');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  steps.push('insert');

  const corpus = {};
  docs.forEach((t, id) => { corpus[id] = t; });
  const searchAll = async (what, filter, keep) => {
    for (const q of queries) {
      const res = await c.search({ collection_name: name, data: [q], anns_field: 'sparse', limit: 10, filter, params: { drop_ratio_search: 0 }, output_fields: ['text'] });
      ok(res, `search '${q}'`);
      // One query: the SDK answers its hits as the results list itself.
      same(res.results, bm25(corpus, q, 10, k1, b, keep), 10, `${what} '${q}'`);
      check(res.results.every(h => corpus[Number(h.id)] === h.text), `${what} '${q}': output text`, res.results);
    }
  };
  await searchAll('search');
  await searchAll('filtered search', 'id < 100', id => id < 100);
  steps.push('search-text');

  // Deletes change N, df and avgdl at once.
  const gone = Object.keys(corpus).map(Number).filter(id => id % 5 === 1);
  ok(await c.delete({ collection_name: name, filter: `id in [${gone.join(',')}]` }), 'delete');
  gone.forEach(id => { delete corpus[id]; });
  await searchAll('after delete');
  steps.push('delete');

  // Hybrid: BM25 text request + dense request fused by RRF(60); oracle from the two single searches.
  const q = 'kernel driver network';
  const qv = [1, 0];
  const lexical = await c.search({ collection_name: name, data: [q], anns_field: 'sparse', limit: 20 });
  const vectorHits = await c.search({ collection_name: name, data: [qv], anns_field: 'dense', limit: 20 });
  const hybrid = await c.hybridSearch({
    collection_name: name,
    data: [{ data: [q], anns_field: 'sparse', limit: 20 }, { data: [qv], anns_field: 'dense', limit: 20 }],
    rerank: { strategy: 'rrf', params: { k: 60 } },
    limit: 10,
  });
  ok(hybrid, 'hybrid search');
  const fused = {};
  for (const list of [lexical.results, vectorHits.results]) {
    list.forEach((h, rank) => { fused[h.id] = (fused[h.id] || 0) + 1 / (60 + rank + 1); });
  }
  const expected = Object.entries(fused).sort((x, y) => y[1] - x[1]).slice(0, 10);
  check(hybrid.results.length === 10, 'hybrid: 10 hits', hybrid.results);
  hybrid.results.forEach((h, i) => check(Math.abs(h.score - expected[i][1]) < 1e-6, `hybrid rank ${i} score`, { got: h, want: expected[i] }));
  steps.push('hybrid');

  // Refusals: the SDK sends text for a function output field whatever it is given (so a vector query is the server
  // table's case, ErrorTableTests); a metric other than BM25 is the server's.
  const wrongMetric = await c.search({ collection_name: name, data: ['kernel'], anns_field: 'sparse', limit: 3, metric_type: 'IP' });
  const e = milvusError(wrongMetric, 'metric IP against a BM25 field');
  check(e.code === 1100 && /BM25/.test(e.reason), 'wrong metric refused naming BM25', e);
  steps.push('refusals');

  // REST v2: create with schema.functions, insert text rows, search with text data.
  const restName = `${name}_rest`;
  await rest('collections/drop', { collectionName: restName });
  const created = await rest('collections/create', {
    collectionName: restName,
    schema: {
      fields: [
        { fieldName: 'id', dataType: 'Int64', isPrimary: true },
        { fieldName: 'text', dataType: 'VarChar', elementTypeParams: { max_length: 1000, enable_analyzer: true } },
        { fieldName: 'sparse', dataType: 'SparseFloatVector' },
      ],
      functions: [{ name: 'text_bm25', type: 'BM25', inputFieldNames: ['text'], outputFieldNames: ['sparse'], params: {} }],
    },
    indexParams: [{ fieldName: 'sparse', indexName: 'sparse', indexType: 'SPARSE_INVERTED_INDEX', metricType: 'BM25', params: { bm25_k1: k1, bm25_b: b } }],
  });
  check(created.code === 0, 'REST create with a BM25 function', created);
  const restCorpus = {};
  docs.slice(0, 100).forEach((t, id) => { restCorpus[id] = t; });
  const inserted = await rest('entities/insert', { collectionName: restName, data: docs.slice(0, 100).map((text, id) => ({ id, text })) });
  check(inserted.code === 0 && inserted.data.insertCount === 100, 'REST insert text rows', inserted);
  for (const query of queries) {
    const found = await rest('entities/search', { collectionName: restName, data: [query], annsField: 'sparse', limit: 5, outputFields: ['text'] });
    check(found.code === 0, `REST search '${query}'`, found);
    same(found.data.map(h => ({ id: h.id, score: h.distance })), bm25(restCorpus, query, 5, k1, b), 5, `REST '${query}'`);
  }
  await rest('collections/drop', { collectionName: restName });
  steps.push('rest');

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  await c.closeConnection();
  return steps;
});
