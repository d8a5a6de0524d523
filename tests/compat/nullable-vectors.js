// Nullable vector fields (Milvus 2.6) through the official Milvus Node.js SDK over gRPC and REST: one nullable field of
// each vector type (FLOAT, FLOAT16, INT8, BINARY, SPARSE) beside a non-nullable FLOAT one; rows that omit a vector or give
// null insert (the SDK sends valid_data and the valid rows' vectors only); a query returns null for them and the sent
// values for the others; a search of each field with a limit above its rows returns exactly the rows that have a vector,
// each with the score of a brute-force oracle computed here.
'use strict';
const { DataType, client, httpClient, check, ok, main, freshCollection, rng } = require('./common');
const { f32ArrayToF16Bytes, f16BytesToF32Array } = require('@zilliz/milvus2-sdk-node');

main('nullable-vectors', async () => {
  const c = client();
  const name = `compat_nullable_vectors_${process.pid}`;
  const steps = [];
  const dim = 8;
  const bits = 16;
  const n = 90;
  await freshCollection(c, name, [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'base', data_type: DataType.FloatVector, dim: 2 },
    { name: 'flt', data_type: DataType.FloatVector, dim, nullable: true },
    { name: 'f16', data_type: DataType.Float16Vector, dim, nullable: true },
    { name: 'i8', data_type: DataType.Int8Vector, dim, nullable: true },
    { name: 'bin', data_type: DataType.BinaryVector, dim: bits, nullable: true },
    { name: 'sp', data_type: DataType.SparseFloatVector, nullable: true },
  ]);
  const described = await c.describeCollection({ collection_name: name });
  for (const f of ['flt', 'f16', 'i8', 'bin', 'sp']) {
    check(described.schema.fields.find(x => x.name === f).nullable === true, `describe: ${f} is nullable`, described.schema.fields);
  }
  steps.push('create');

  // Each field is null on its own rows (row i: null in field j when (i + j) % 3 === 0), by omission or by null in turn.
  const fields = ['flt', 'f16', 'i8', 'bin', 'sp'];
  const r = rng(17);
  const expected = [];
  const rows = [];
  for (let i = 0; i < n; i++) {
    const e = { id: i, base: [r(), r()] };
    e.flt = Array.from({ length: dim }, () => r() * 2 - 1);
    e.f16 = f16BytesToF32Array(f32ArrayToF16Bytes(Array.from({ length: dim }, () => r() * 4 - 2)));
    e.i8 = Array.from({ length: dim }, () => Math.floor(r() * 256) - 128);
    e.bin = Array.from({ length: bits / 8 }, () => Math.floor(r() * 256));
    e.sp = { [Math.floor(r() * 20)]: r() + 0.1, [20 + Math.floor(r() * 20)]: r() + 0.1 };
    const row = { id: i, base: e.base };
    fields.forEach((f, j) => {
      if ((i + j) % 3 === 0) {
        e[f] = null;
        if (i % 2 === 0) row[f] = null;
      } else {
        row[f] = e[f];
      }
    });
    expected.push(e);
    rows.push(row);
  }
  const inserted = await c.insert({ collection_name: name, data: rows });
  ok(inserted, 'insert');
  check(Number(inserted.insert_cnt) === n, 'insert_cnt', inserted.insert_cnt);
  steps.push('insert');

  ok(await c.flushSync({ collection_names: [name] }), 'flush');
  ok(await c.createIndex({ collection_name: name, field_name: 'base', index_type: 'FLAT', metric_type: 'L2', params: {} }), 'index base');
  for (const [field, index_type, metric_type] of [['flt', 'HNSW', 'COSINE'], ['f16', 'FLAT', 'L2'], ['i8', 'HNSW', 'L2'], ['bin', 'BIN_FLAT', 'HAMMING'], ['sp', 'SPARSE_INVERTED_INDEX', 'IP']]) {
    ok(await c.createIndex({ collection_name: name, field_name: field, index_type, metric_type, params: index_type === 'HNSW' ? { M: 8, efConstruction: 64 } : {} }), `index ${field}`);
  }
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');

  const same = (a, b) => a.length === b.length && a.every((x, j) => Math.abs(x - b[j]) <= 1e-6 * Math.max(1, Math.abs(b[j])));
  const sameSparse = (a, b) => Object.keys(b).length === Object.keys(a).length && Object.keys(b).every(k => Math.abs(a[k] - b[k]) <= 1e-6);
  const got = await c.query({ collection_name: name, filter: 'id >= 0', output_fields: ['id', ...fields], limit: n });
  ok(got, 'query');
  check(got.data.length === n, 'query returns every row', got.data.length);
  for (const row of got.data) {
    const e = expected[Number(row.id)];
    for (const f of fields) {
      if (e[f] === null) {
        check(row[f] === null, `row ${row.id} ${f} is null`, row[f]);
      } else if (f === 'sp') {
        check(sameSparse(row[f], e[f]), `row ${row.id} sp comes back as sent`, { got: row[f], sent: e[f] });
      } else {
        check(same(Array.from(row[f]), e[f]), `row ${row.id} ${f} comes back as sent`, { got: Array.from(row[f]), sent: e[f] });
      }
    }
  }
  steps.push('query');

  const l2 = (a, b) => a.reduce((s, x, j) => s + (x - b[j]) ** 2, 0);
  const ip = (a, b) => a.reduce((s, x, j) => s + x * b[j], 0);
  const cosine = (a, b) => ip(a, b) / Math.sqrt(ip(a, a) * ip(b, b));
  const popcount = x => { let k = 0; for (; x; x &= x - 1) k++; return k; };
  const hamming = (a, b) => a.reduce((s, x, j) => s + popcount(x ^ b[j]), 0);
  const sparseIp = (a, b) => Object.keys(a).reduce((s, k) => s + (b[k] ? a[k] * b[k] : 0), 0);
  const qr = rng(23);
  const queries = {
    flt: Array.from({ length: dim }, () => qr() * 2 - 1),
    f16: f16BytesToF32Array(f32ArrayToF16Bytes(Array.from({ length: dim }, () => qr() * 4 - 2))),
    i8: Array.from({ length: dim }, () => Math.floor(qr() * 256) - 128),
    bin: Array.from({ length: bits / 8 }, () => Math.floor(qr() * 256)),
    sp: Object.fromEntries(Array.from({ length: 40 }, (_, k) => [k, 1])),
  };
  for (const [field, metric, score, params] of [
    ['flt', 'COSINE', cosine, { ef: 200 }], ['f16', 'L2', l2, {}], ['i8', 'L2', l2, { ef: 200 }], ['bin', 'HAMMING', hamming, {}], ['sp', 'IP', sparseIp, {}],
  ]) {
    const have = expected.filter(e => e[field] !== null);
    const res = await c.search({ collection_name: name, anns_field: field, data: [queries[field]], limit: n, metric_type: metric, params, output_fields: ['id'] });
    ok(res, `search ${field}`);
    const ids = res.results.map(h => Number(h.id)).sort((a, b) => a - b);
    check(same(ids, have.map(e => e.id)), `search ${field} returns exactly the rows with a vector`, { got: ids.length, want: have.length });
    for (const hit of res.results) {
      const own = score(queries[field], expected[Number(hit.id)][field]);
      check(Math.abs(own - hit.score) <= 1e-3 * Math.max(1, Math.abs(own)), `search ${field}: hit ${hit.id} has the oracle's score`, { own, got: hit.score });
    }
  }
  steps.push('search');

  // REST: a row with a null vector inserts; query answers null for it.
  const h = httpClient();
  const restInsert = await h.insert({ collectionName: name, data: [{ id: 1000, base: [0.5, 0.5], flt: null, i8: Array.from({ length: dim }, (_, j) => j) }] });
  check(restInsert.code === 0, 'REST insert with null vectors', restInsert);
  const restRows = await h.query({ collectionName: name, filter: 'id == 1000', outputFields: ['flt', 'i8', 'sp'] });
  check(restRows.code === 0 && restRows.data.length === 1, 'REST query', restRows);
  check(restRows.data[0].flt === null && restRows.data[0].sp === null && same(restRows.data[0].i8, Array.from({ length: dim }, (_, j) => j)), 'REST nulls and values', restRows.data[0]);
  steps.push('rest');

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  steps.push('drop');
  return steps;
});
