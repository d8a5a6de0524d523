// The SDK's `transformers` option through the official Milvus Node.js SDK over gRPC
// (tests/Quiver.Server.Tests/Compat/NodeSdkTests.Transformers.cs). What the SDK does with it (dist/milvus/utils/Data.js):
// on insert and upsert, `transformers[DataType.BFloat16Vector | Float16Vector]` replaces its own f32 -> bytes encoder
// for number-array rows, and the bytes it returns are sent as they are (Buffer.concat of the rows); on query, get and
// search (and the group-by values), `transformers[DataType.BFloat16Vector | Float16Vector]` receives each row's raw
// bytes and `transformers[DataType.Int8Vector]` each row's Int8Array, in place of the SDK's own decoders. So the server
// must store exactly the bytes a custom encoder produced and answer them exactly. Here the encoders differ from the
// SDK's on purpose (BFLOAT16 rounded to nearest instead of truncated, FLOAT16 with the lowest mantissa bit flipped),
// the decoders answer the raw bytes as hex, and every row, hit and search score is checked against what was sent:
// inserted and upserted rows (a nullable BFLOAT16 field too), query and get with and without output transformers,
// search hits' vectors and their L2 scores against a brute-force oracle over the decoded sent bytes, and an encoder
// that returns too few bytes refused with nothing written.
'use strict';
const { DataType, client, check, ok, milvusError, main, rng } = require('./common');
const { f32ArrayToF16Bytes, f16BytesToF32Array, bf16BytesToF32Array } = require('@zilliz/milvus2-sdk-node');

/** BFLOAT16 rounded to nearest, ties to even (the SDK's own encoder truncates: it keeps the top 16 bits). */
function bf16Round(values) {
  const f = Float32Array.from(values);
  const u = new Uint16Array(f.length);
  const bits = new Uint32Array(f.buffer);
  for (let i = 0; i < f.length; i++) u[i] = ((bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) >>> 16) & 0xffff;
  return new Uint8Array(u.buffer);
}
/** FLOAT16 as the SDK encodes it, then the lowest mantissa bit of each value flipped: bytes no default encoder makes. */
function f16Flipped(values) {
  const bytes = Uint8Array.from(f32ArrayToF16Bytes(values));
  for (let i = 0; i < bytes.length; i += 2) bytes[i] ^= 1;
  return Buffer.from(bytes);
}
const hex = bytes => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const output = {
  [DataType.BFloat16Vector]: bytes => `bf16:${hex(bytes)}`,
  [DataType.Float16Vector]: bytes => `f16:${hex(bytes)}`,
  [DataType.Int8Vector]: int8 => `i8:${hex(int8)}`,
};
const input = { [DataType.BFloat16Vector]: bf16Round, [DataType.Float16Vector]: f16Flipped };

main('transformers', async () => {
  const c = client();
  const name = `compat_transformers_${process.pid}`;
  const steps = [];
  const dim = 8;
  const n = 90;
  if ((await c.hasCollection({ collection_name: name })).value) await c.dropCollection({ collection_name: name });
  ok(await c.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
      { name: 'bf16', data_type: DataType.BFloat16Vector, dim },
      { name: 'f16', data_type: DataType.Float16Vector, dim },
      { name: 'i8', data_type: DataType.Int8Vector, dim },
      { name: 'nbf', data_type: DataType.BFloat16Vector, dim, nullable: true },
    ],
  }), 'createCollection');

  for (const [field, index_type, params] of [['bf16', 'FLAT', {}], ['f16', 'HNSW', { M: 16, efConstruction: 200 }], ['i8', 'FLAT', {}], ['nbf', 'FLAT', {}]]) {
    ok(await c.createIndex({ collection_name: name, field_name: field, index_type, metric_type: 'L2', params }), `createIndex ${field}`);
  }
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');

  const r = rng(14);
  const numbers = () => Array.from({ length: dim }, () => r() * 6 - 3);
  const sent = new Map();
  const rowOf = id => {
    const bf16 = numbers(), f16 = numbers(), nbf = id % 3 === 0 ? null : numbers();
    const i8 = Array.from({ length: dim }, () => Math.floor(r() * 256) - 128);
    sent.set(id, { bf16: hex(bf16Round(bf16)), f16: hex(f16Flipped(f16)), i8: hex(Int8Array.from(i8)), nbf: nbf === null ? null : hex(bf16Round(nbf)) });
    return { id, bf16, f16, i8, nbf };
  };
  const rows = Array.from({ length: n }, (_, id) => rowOf(id));
  // The encoders differ from the SDK's for these values (else the test would not tell them apart).
  check(rows.some(x => hex(bf16Round(x.bf16)) !== hex(require('@zilliz/milvus2-sdk-node').f32ArrayToBf16Bytes(x.bf16))), 'rounding differs from the SDK truncation');
  const inserted = await c.insert({ collection_name: name, data: rows, transformers: input });
  ok(inserted, 'insert with transformers');
  check(Number(inserted.insert_cnt) === n, 'insert_cnt', inserted.insert_cnt);
  steps.push('insert');

  // Upsert a third of the rows with new values through the same encoders.
  const upserts = Array.from({ length: 30 }, (_, i) => rowOf(i * 3 + 1));
  ok(await c.upsert({ collection_name: name, data: upserts, transformers: input }), 'upsert with transformers');
  steps.push('upsert');

  const asSent = (row, what) => {
    const e = sent.get(Number(row.id));
    check(row.bf16 === `bf16:${e.bf16}` && row.f16 === `f16:${e.f16}` && row.i8 === `i8:${e.i8}`, `${what}: row ${row.id} answers the bytes the encoders sent`, { got: row, sent: e });
    check(e.nbf === null ? row.nbf === null : row.nbf === `bf16:${e.nbf}`, `${what}: row ${row.id} nullable field as sent`, { got: row.nbf, sent: e.nbf });
  };
  const all = ['id', 'bf16', 'f16', 'i8', 'nbf'];
  const checkQuery = async what => {
    const got = await c.query({ collection_name: name, filter: 'id >= 0', output_fields: all, limit: n, transformers: output });
    ok(got, `${what}: query`);
    check(got.data.length === n, `${what}: query returns every row`, got.data.length);
    got.data.forEach(row => asSent(row, `${what}: query`));
    // Without output transformers the SDK decodes the same bytes itself.
    const plain = await c.query({ collection_name: name, filter: 'id in [1, 2, 3]', output_fields: all });
    ok(plain, `${what}: plain query`);
    for (const row of plain.data) {
      const e = sent.get(Number(row.id));
      const same = (a, b) => a.length === b.length && a.every((x, j) => Object.is(x, b[j]));
      check(same(Array.from(row.bf16), Array.from(bf16BytesToF32Array(Buffer.from(e.bf16, 'hex')))), `${what}: row ${row.id} bf16 decoded by the SDK`, row.bf16);
      check(same(Array.from(row.f16), Array.from(f16BytesToF32Array(Buffer.from(e.f16, 'hex')))), `${what}: row ${row.id} f16 decoded by the SDK`, row.f16);
    }
    const got2 = await c.get({ collection_name: name, ids: [0, 1, 2, 88], output_fields: all, transformers: output });
    ok(got2, `${what}: get`);
    check(got2.data.length === 4, `${what}: get answers four rows`, got2.data.length);
    got2.data.forEach(row => asSent(row, `${what}: get`));
  };
  await checkQuery('growing');
  steps.push('query growing');

  ok(await c.flushSync({ collection_names: [name] }), 'flush');
  await checkQuery('sealed');
  steps.push('query sealed');

  // Search each field; the oracle decodes the bytes that were sent. Queries are exactly representable in the field's
  // type, so the SDK's own encoding of them loses nothing.
  const decode = { bf16: h => Array.from(bf16BytesToF32Array(Buffer.from(h, 'hex'))), nbf: h => Array.from(bf16BytesToF32Array(Buffer.from(h, 'hex'))), f16: h => Array.from(f16BytesToF32Array(Buffer.from(h, 'hex'))), i8: h => Array.from(new Int8Array(Buffer.from(h, 'hex'))) };
  const l2 = (a, b) => a.reduce((s, x, j) => s + (x - b[j]) ** 2, 0);
  const k = 7;
  for (const field of ['bf16', 'f16', 'i8', 'nbf']) {
    const source = sent.get(5)[field] ?? sent.get(4)[field];
    const q = decode[field](source).map((x, j) => (field === 'i8' ? Math.max(-128, Math.min(127, x + (j % 3) - 1)) : x));
    const res = await c.search({ collection_name: name, anns_field: field, data: [q], limit: k, output_fields: all, params: field === 'f16' ? { ef: 200 } : {}, transformers: output });
    ok(res, `search ${field}`);
    const truth = [...sent.entries()].filter(([, e]) => e[field] !== null).map(([id, e]) => [id, l2(q, decode[field](e[field]))]).sort((a, b) => a[1] - b[1]).slice(0, k);
    check(res.results.length === k, `search ${field}: ${k} hits`, res.results);
    res.results.forEach((hit, j) => {
      asSent(hit, `search ${field}`);
      const own = l2(q, decode[field](sent.get(Number(hit.id))[field]));
      check(Math.abs(own - hit.score) <= 1e-3 * Math.max(1, own), `search ${field}: hit ${j} scores its own sent vector`, { own, got: hit.score });
      check(Math.abs(truth[j][1] - hit.score) <= 1e-3 * Math.max(1, truth[j][1]), `search ${field}: hit ${j} equals the oracle`, { truth, got: res.results.map(h => [h.id, h.score]) });
    });
  }
  steps.push('search');

  // An encoder that answers 3 bytes for a FLOAT16 row of 8 dimensions: refused, nothing written.
  const before = await c.query({ collection_name: name, filter: 'id >= 0', output_fields: ['count(*)'] });
  const shortRows = [{ id: 500, bf16: numbers(), f16: numbers(), i8: Array(dim).fill(1), nbf: null }];
  const short = milvusError(await c.insert({ collection_name: name, data: shortRows, transformers: { [DataType.Float16Vector]: () => new Uint8Array(3) } }), 'insert with a short encoder');
  check(short.code === 1100 && /f16/.test(short.reason), 'a short FLOAT16 row is refused naming the field', short);
  const after = await c.query({ collection_name: name, filter: 'id >= 0', output_fields: ['count(*)'] });
  check(Number(after.data[0]['count(*)']) === Number(before.data[0]['count(*)']) && Number(after.data[0]['count(*)']) === n, 'nothing written', { before: before.data, after: after.data });
  steps.push('short encoder refused');

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  await c.closeConnection();
  return steps;
});
