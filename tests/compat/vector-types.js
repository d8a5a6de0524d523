// FLOAT16, BFLOAT16, INT8 and BINARY vector fields (beside a FLOAT one) through the official Milvus Node.js SDK over
// gRPC: rows inserted in the SDK's input forms (number arrays it converts, and raw bytes: Buffer / Uint8Array for
// FLOAT16 and BFLOAT16, Int8Array for INT8, byte values for BINARY), queried back equal to what the SDK sent, and each
// field searched by anns_field against a brute-force oracle computed here over the values the SDK sent.
'use strict';
const { DataType, client, check, ok, main, rng } = require('./common');
const { f32ArrayToF16Bytes, f16BytesToF32Array, f32ArrayToBf16Bytes, bf16BytesToF32Array } = require('@zilliz/milvus2-sdk-node');

main('vector-types', async () => {
  const c = client();
  const name = `compat_vector_types_${process.pid}`;
  const steps = [];
  const dim = 8;
  const bits = 32;
  const n = 120;
  if ((await c.hasCollection({ collection_name: name })).value) await c.dropCollection({ collection_name: name });
  ok(await c.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true },
      { name: 'flt', data_type: DataType.FloatVector, dim: 4 },
      { name: 'f16', data_type: DataType.Float16Vector, dim },
      { name: 'bf16', data_type: DataType.BFloat16Vector, dim },
      { name: 'i8', data_type: DataType.Int8Vector, dim },
      { name: 'bin', data_type: DataType.BinaryVector, dim: bits },
    ],
  }), 'createCollection');
  const described = await c.describeCollection({ collection_name: name });
  ok(described, 'describeCollection');
  for (const [field, type, d] of [['f16', 'Float16Vector', dim], ['bf16', 'BFloat16Vector', dim], ['i8', 'Int8Vector', dim], ['bin', 'BinaryVector', bits]]) {
    const f = described.schema.fields.find(x => x.name === field);
    check(f && f.data_type === type && String(f.dim) === String(d), `describe ${field}`, f);
  }
  steps.push('create');

  // Every other row in the raw form, the others as numbers the SDK converts.
  const r = rng(5);
  const expected = [];
  const rows = [];
  for (let i = 0; i < n; i++) {
    const f16 = Array.from({ length: dim }, () => r() * 4 - 2);
    const bf16 = Array.from({ length: dim }, () => r() * 4 - 2);
    const i8 = Array.from({ length: dim }, () => Math.floor(r() * 256) - 128);
    const bin = Array.from({ length: bits / 8 }, () => Math.floor(r() * 256));
    const flt = Array.from({ length: 4 }, () => r());
    const f16Bytes = f32ArrayToF16Bytes(f16);
    const bf16Bytes = f32ArrayToBf16Bytes(bf16);
    expected.push({ id: i, flt, f16: f16BytesToF32Array(f16Bytes), bf16: bf16BytesToF32Array(bf16Bytes), i8, bin });
    rows.push(i % 2 === 0
      ? { id: i, flt, f16, bf16, i8, bin }
      : { id: i, flt, f16: new Uint8Array(f16Bytes), bf16: Buffer.from(bf16Bytes), i8: Int8Array.from(i8), bin });
  }
  const inserted = await c.insert({ collection_name: name, data: rows });
  ok(inserted, 'insert');
  check(Number(inserted.insert_cnt) === n, 'insert_cnt', inserted.insert_cnt);
  steps.push('insert');
  ok(await c.flushSync({ collection_names: [name] }), 'flush');

  const refused = await c.createIndex({ collection_name: name, field_name: 'bin', index_type: 'HNSW', metric_type: 'HAMMING', params: {} });
  check(refused.error_code !== 'Success' && /not valid for BinaryVector/.test(refused.reason), 'HNSW on a binary field is refused', refused);
  for (const [field, index_type, metric_type, params] of [
    ['flt', 'FLAT', 'L2', {}], ['f16', 'HNSW', 'L2', { M: 16, efConstruction: 100 }], ['bf16', 'IVF_FLAT', 'IP', { nlist: 4 }],
    ['i8', 'HNSW', 'COSINE', { M: 16, efConstruction: 100 }], ['bin', 'BIN_IVF_FLAT', 'HAMMING', { nlist: 4 }],
  ]) {
    ok(await c.createIndex({ collection_name: name, field_name: field, index_type, metric_type, params }), `createIndex ${field}`);
  }
  steps.push('index');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');

  const got = await c.query({ collection_name: name, filter: 'id >= 0', output_fields: ['id', 'flt', 'f16', 'bf16', 'i8', 'bin'], limit: n });
  ok(got, 'query');
  check(got.data.length === n, 'query returns every row', got.data.length);
  const same = (a, b) => a.length === b.length && a.every((x, j) => x === b[j]);
  for (const row of got.data) {
    const e = expected[Number(row.id)];
    for (const field of ['f16', 'bf16', 'i8', 'bin']) {
      check(same(Array.from(row[field]), e[field]), `row ${row.id} ${field} comes back as sent`, { got: Array.from(row[field]), sent: e[field] });
    }
    check(same(row.flt.map(x => Math.fround(x)), e.flt.map(x => Math.fround(x))), `row ${row.id} flt comes back as sent`, row.flt);
  }
  steps.push('query');

  // Oracles over the values the SDK sent.
  const l2 = (a, b) => a.reduce((s, x, j) => s + (x - b[j]) ** 2, 0);
  const ip = (a, b) => a.reduce((s, x, j) => s + x * b[j], 0);
  const cosine = (a, b) => ip(a, b) / Math.sqrt(ip(a, a) * ip(b, b));
  const popcount = x => { let c2 = 0; for (; x; x &= x - 1) c2++; return c2; };
  const hamming = (a, b) => a.reduce((s, x, j) => s + popcount(x ^ b[j]), 0);
  const k = 5;
  const qr = rng(99);
  const queries = {
    flt: [Array.from({ length: 4 }, () => qr())],
    f16: [f16BytesToF32Array(f32ArrayToF16Bytes(Array.from({ length: dim }, () => qr() * 4 - 2)))],
    bf16: [bf16BytesToF32Array(f32ArrayToBf16Bytes(Array.from({ length: dim }, () => qr() * 4 - 2)))],
    i8: [Array.from({ length: dim }, () => Math.floor(qr() * 256) - 128)],
    bin: [Array.from({ length: bits / 8 }, () => Math.floor(qr() * 256))],
  };
  for (const [field, metric, score, better, params] of [
    ['flt', 'L2', l2, (a, b) => a - b, {}],
    ['f16', 'L2', l2, (a, b) => a - b, { ef: 200 }],
    ['bf16', 'IP', ip, (a, b) => b - a, { nprobe: 4 }],
    ['i8', 'COSINE', cosine, (a, b) => b - a, { ef: 200 }],
    ['bin', 'HAMMING', hamming, (a, b) => a - b, { nprobe: 4 }],
  ]) {
    const q = queries[field][0];
    const res = await c.search({ collection_name: name, anns_field: field, data: [q], limit: k, metric_type: metric, params, output_fields: ['id'] });
    ok(res, `search ${field}`);
    const truth = expected.map(e => score(q, e[field])).sort(better).slice(0, k);
    const scores = res.results.map(h => h.score);
    check(scores.length === k, `search ${field} returns ${k} hits`, res.results);
    for (let j = 0; j < k; j++) {
      const own = score(q, expected[Number(res.results[j].id)][field]);
      check(Math.abs(own - scores[j]) <= 1e-3 * Math.max(1, Math.abs(own)), `search ${field}: hit ${j} scores its own row`, { own, got: scores[j] });
      check(Math.abs(truth[j] - scores[j]) <= 1e-3 * Math.max(1, Math.abs(truth[j])), `search ${field}: hit ${j} equals the oracle`, { truth, scores });
    }
  }
  steps.push('search');

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  steps.push('drop');
  return steps;
});
