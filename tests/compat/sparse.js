// Sparse float vectors through the official Milvus Node.js SDK: a SPARSE_FLOAT_VECTOR field, rows inserted in each of
// the SDK's four input forms (dict, CSR, COO, array), queried back equal, searched exactly before any index and through
// SPARSE_INVERTED_INDEX / SPARSE_WAND after one, every answer checked against a brute-force inner product; the same
// search over REST v2 (HttpClient).
'use strict';
const { DataType, client, httpClient, check, ok, main, rng } = require('./common');

main('sparse', async () => {
  const c = client();
  const name = `compat_sparse_${process.pid}`;
  const steps = [];
  if ((await c.hasCollection({ collection_name: name })).value) await c.dropCollection({ collection_name: name });
  ok(await c.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true },
      { name: 'form', data_type: DataType.VarChar, max_length: 8 },
      { name: 'sparse', data_type: DataType.SparseFloatVector },
    ],
  }), 'createCollection');
  const described = await c.describeCollection({ collection_name: name });
  check(described.schema.fields.find(f => f.name === 'sparse').data_type === 'SparseFloatVector', 'describe returns the sparse type', described.schema.fields);
  steps.push('create');

  // Seeded rows as {index: value} maps with float32 values (what the wire carries), then sent in one of four forms.
  const r = rng(7);
  const dicts = Array.from({ length: 200 }, () => {
    const m = {};
    const n = 2 + Math.floor(r() * 12);
    while (Object.keys(m).length < n) m[Math.floor(r() * r() * 300)] = Math.fround(0.05 + r());
    return m;
  });
  const forms = ['dict', 'csr', 'coo', 'array'];
  const encode = (m, form) => {
    const indices = Object.keys(m).map(Number).sort((a, b) => a - b);
    switch (form) {
      case 'dict': return m;
      case 'csr': return { indices, values: indices.map(i => m[i]) };
      case 'coo': return indices.map(i => ({ index: i, value: m[i] }));
      default: { const a = []; indices.forEach(i => { a[i] = m[i]; }); return a; }
    }
  };
  const rows = dicts.map((m, i) => ({ id: i, form: forms[i % 4], sparse: encode(m, forms[i % 4]) }));
  ok(await c.insert({ collection_name: name, data: rows.slice(0, 100) }), 'insert (first half)');
  ok(await c.flushSync({ collection_names: [name] }), 'flush');
  ok(await c.insert({ collection_name: name, data: rows.slice(100) }), 'insert (second half)');
  steps.push('insert');

  // Exact search needs no index, but Milvus loads only indexed collections: index first, search exactly with the
  // "exact" hint below, then through the index.
  ok(await c.createIndex({ collection_name: name, field_name: 'sparse', index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'IP', params: { inverted_index_algo: 'DAAT_MAXSCORE' } }), 'createIndex');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');

  const queried = await c.query({ collection_name: name, filter: 'id >= 0', output_fields: ['form', 'sparse'], limit: 1000 });
  ok(queried, 'query');
  check(queried.data.length === dicts.length, 'query returns every row', queried.data.length);
  for (const row of queried.data) {
    const want = dicts[Number(row.id)];
    const got = row.sparse;
    const keys = Object.keys(want).map(Number).sort((a, b) => a - b);
    const gotKeys = Object.keys(got).map(Number).sort((a, b) => a - b);
    check(JSON.stringify(keys) === JSON.stringify(gotKeys), `row ${row.id} (${row.form}) indices`, { want: keys, got: gotKeys });
    keys.forEach(k => check(got[k] === want[k], `row ${row.id} (${row.form}) value at ${k}`, { want: want[k], got: got[k] }));
  }
  steps.push('query');

  const dot = (a, b) => Object.keys(a).reduce((s, k) => s + (b[k] !== undefined ? a[k] * b[k] : 0), 0);
  const oracle = (q, k) => dicts.map((m, i) => [i, dot(q, m)]).filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
  const queries = Array.from({ length: 4 }, (_, j) => encode(dicts[j * 37 + 3], forms[j]));
  const asDict = q => dicts[queries.indexOf(q) * 37 + 3];
  for (const params of [{ exact: true }, { drop_ratio_search: 0 }]) {
    for (const q of queries) {
      const res = await c.search({ collection_name: name, anns_field: 'sparse', data: [q], limit: 10, params, output_fields: ['form'] });
      ok(res, `search ${JSON.stringify(params)}`);
      const want = oracle(asDict(q), 10);
      check(res.results.length === want.length, `search ${JSON.stringify(params)} hit count`, res.results.length);
      res.results.forEach((hit, i) => {
        check(Math.abs(hit.score - want[i][1]) < 1e-4, `search hit ${i} score`, { got: hit.score, want: want[i][1] });
        check(Number(hit.id) === want[i][0] || Math.abs(want[i][1] - (want[i + 1] || [0, -1])[1]) < 1e-5, `search hit ${i} id`, { got: hit.id, want: want[i][0] });
      });
    }
  }
  steps.push('search');

  // A row the server must refuse: an index twice (CSR form sends the arrays as given).
  const bad = await c.insert({ collection_name: name, data: [{ id: 999, form: 'csr', sparse: { indices: [3, 3], values: [1, 2] } }] });
  check(bad.status.code === 1100 && /appears twice/.test(bad.status.reason), 'duplicate index refused with 1100', bad.status);
  steps.push('refusal');

  const http = httpClient();
  const q = queries[0];
  const res = await http.search({ collectionName: name, annsField: 'sparse', data: [asDict(q)], limit: 10, outputFields: ['form'] });
  check(res.code === 0, 'REST search', res);
  const want = oracle(asDict(q), 10);
  check(res.data.length === want.length, 'REST search hit count', res.data.length);
  res.data.forEach((hit, i) => check(Math.abs(hit.distance - want[i][1]) < 1e-4, `REST hit ${i} score`, { got: hit.distance, want: want[i][1] }));
  steps.push('rest');

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  return steps;
});
