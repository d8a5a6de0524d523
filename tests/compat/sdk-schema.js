// The Node SDK's own full test schema (genCollectionParams in the SDK repository's test/tools/collection.ts) and its
// row generator (generateInsertData in test/tools/data.ts), re-written here from what they produce (the npm package
// ships no test tools): every scalar type, nullable fields, defaults, arrays, GEOMETRY and TIMESTAMPTZ, and every vector
// type in one collection (FLOAT, FLOAT16, BFLOAT16, INT8, BINARY, SPARSE, and nullable ones). Rows are generated in
// every input form the SDK takes for each vector type (gRPC: number arrays the SDK converts, Uint8Array / Buffer bytes
// for FLOAT16 and BFLOAT16, Int8Array for INT8, the four sparse forms dict, CSR, COO and array; REST: number arrays,
// base64 bytes, the two sparse object forms), inserted, and read back equal over gRPC and REST; each vector field is
// searched over both transports, with and without a GEOMETRY filter, against a brute-force oracle computed here over
// the values sent; ST_INTERSECTS and ISO range filters are checked against an oracle.
//
// QUIVER_SDK_VECTORS lists the vector types of the schema, comma separated, as genCollectionParams' vectorType does
// (a trailing '?' makes the field nullable). The default is every type and four nullable ones: ten vector fields,
// the most Milvus allows in one collection (proxy.maxVectorFieldNum).
'use strict';
const { DataType, client, httpClient, check, ok, main } = require('./common');
const { f32ArrayToF16Bytes, f16BytesToF32Array, f32ArrayToBf16Bytes, bf16BytesToF32Array } = require('@zilliz/milvus2-sdk-node');

const MAX_LENGTH = 8;
const MAX_CAPACITY = 4;
const DEFAULT_NUM_VALUE = 100;
const DEFAULT_STRING_VALUE = 'd';
const DEFAULT_TIMESTAMPTZ_VALUE = '1984-04-14T15:00:00+08:00';
const DENSE_DIM = 8;
const BINARY_DIM = 32;
const SPARSE_DIM = 24;

// A seeded stand-in for Math.random so that a failure replays.
let seed = 20261205;
function random() { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 4294967296; }

const ALL_VECTORS = 'FloatVector,Float16Vector,BFloat16Vector,Int8Vector,BinaryVector,SparseFloatVector,FloatVector?,BFloat16Vector?,BinaryVector?,SparseFloatVector?';
const vectorSpecs = (process.env.QUIVER_SDK_VECTORS || ALL_VECTORS).split(',').map(t => t.trim()).map(t => {
  const type = DataType[t.replace(/\?$/, '')];
  check(type !== undefined, `QUIVER_SDK_VECTORS: no vector type ${t}`);
  return { type, nullable: t.endsWith('?') };
});
const typeOf = field => (typeof field.data_type === 'string' ? DataType[field.data_type] : field.data_type);
const isVector = field => [DataType.FloatVector, DataType.Float16Vector, DataType.BFloat16Vector, DataType.Int8Vector, DataType.BinaryVector, DataType.SparseFloatVector].includes(typeOf(field));

function collectionParams(name) {
  return {
    collection_name: name,
    consistency_level: 'Strong',
    fields: [
      ...vectorSpecs.map(({ type, nullable }, i) => ({
        name: i === 0 ? 'vector' : `vector${i}`, description: `vector type: ${type}`, data_type: type,
        ...(type === DataType.SparseFloatVector ? {} : { dim: type === DataType.BinaryVector ? BINARY_DIM : DENSE_DIM }),
        ...(nullable ? { nullable: true } : {}),
      })),
      { name: 'id', description: 'ID field', data_type: DataType.Int64, is_primary_key: true, autoID: true },
      { name: 'int64', description: 'int64 field', data_type: 'Int64' },
      { name: 'float', description: 'Float field', default_value: DEFAULT_NUM_VALUE, data_type: DataType.Float },
      { name: 'bool', description: 'bool field', nullable: true, data_type: DataType.Bool },
      { name: 'default_value', nullable: true, default_value: DEFAULT_NUM_VALUE, description: 'int32 field', data_type: 'Int32' },
      { name: 'varChar', description: 'VarChar field', data_type: DataType.VarChar, default_value: DEFAULT_STRING_VALUE, max_length: MAX_LENGTH, enable_analyzer: true },
      { name: 'json', description: 'JSON field', nullable: true, data_type: DataType.JSON },
      { name: 'int32_array', description: 'int array field', data_type: DataType.Array, nullable: true, element_type: 'Int32', max_capacity: MAX_CAPACITY },
      { name: 'float_array', description: 'int array field', data_type: DataType.Array, element_type: DataType.Float, max_capacity: MAX_CAPACITY },
      { name: 'varChar_array', description: 'varChar array field', data_type: DataType.Array, element_type: DataType.VarChar, max_capacity: MAX_CAPACITY, max_length: MAX_LENGTH },
      { name: 'geometry', description: 'geometry field', data_type: DataType.Geometry, nullable: false },
      { name: 'timestamptz', description: 'timestamptz field', data_type: DataType.Timestamptz, nullable: false, default_value: DEFAULT_TIMESTAMPTZ_VALUE },
    ],
    enable_dynamic_field: false,
  };
}

// The generators, value for value in kind and range as the SDK's test tools make them.
const characters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
function genVarChar(maxLength) {
  const chance = random();
  if (chance < 0.2) return 'apple';
  if (chance < 0.5) return 'orange';
  let s = '';
  const n = Math.ceil(random() * maxLength);
  for (let i = 0; i < n; i++) s += characters.charAt(Math.floor(random() * characters.length));
  return s;
}
const genInt = () => Math.floor(random() * 100000);
// genInt64 combines two 31-bit halves; its value is below 2^62, sent here as a decimal string to keep every digit.
const genInt64 = () => (BigInt(Math.floor(random() * 0x7fffffff)) * 4294967296n + BigInt(Math.floor(random() * 0x7fffffff))).toString();
const genJSON = () => (random() > 0.4
  ? { string: genVarChar(4), float: random(), number: genInt(), static: { string_key: 'apple', int: 1, float: 1.1 } }
  : {});
const regions = [
  { minLon: -74.0, maxLon: -73.7, minLat: 40.5, maxLat: 40.9 }, { minLon: -0.5, maxLon: 0.3, minLat: 51.3, maxLat: 51.7 },
  { minLon: 2.2, maxLon: 2.5, minLat: 48.8, maxLat: 49.0 }, { minLon: 139.6, maxLon: 139.9, minLat: 35.5, maxLat: 35.8 },
  { minLon: 121.4, maxLon: 121.6, minLat: 31.1, maxLat: 31.4 }, { minLon: -122.5, maxLon: -122.3, minLat: 37.7, maxLat: 37.9 },
];
function genGeometry() {
  const r = regions[Math.floor(random() * regions.length)];
  const lon = r.minLon + random() * (r.maxLon - r.minLon);
  const lat = r.minLat + random() * (r.maxLat - r.minLat);
  return `POINT (${lon.toFixed(6)} ${lat.toFixed(6)})`;
}
const now = Date.parse('2026-12-05T12:00:00Z');
const genTimestamptz = () => new Date(now - Math.floor(random() * 1000 * 60 * 60 * 24)).toISOString();
function genArray(elementType, maxLength) {
  if (random() > 0.5) return [];
  const gen = { Int32: genInt, Float: random, VarChar: () => genVarChar(maxLength) }[elementType];
  return Array.from({ length: MAX_CAPACITY }, gen);
}
function generate(field) {
  switch (typeOf(field)) {
    case DataType.Bool: return random() < 0.5;
    case DataType.Int32: return genInt();
    case DataType.Int64: return genInt64();
    case DataType.Float: return random();
    case DataType.VarChar: return genVarChar(field.max_length);
    case DataType.JSON: return genJSON();
    case DataType.Array: return genArray(typeof field.element_type === 'string' ? field.element_type : DataType[field.element_type], field.max_length);
    case DataType.Geometry: return genGeometry();
    case DataType.Timestamptz: return genTimestamptz();
    default: throw new Error(`sdk-schema.js generates no ${DataType[typeOf(field)]} values (field ${field.name})`);
  }
}

// A vector value: what is stored (canon: float32 components as the server holds them, byte values for BINARY, an
// {index: float32} map for SPARSE) and one of the input forms of the transport, chosen by the row's number so that every
// form is sent for every field. gRPC forms are what the SDK's insert takes; REST forms what REST v2 rows take.
const b64 = bytes => Buffer.from(bytes).toString('base64');
function genVector(field, n, rest) {
  const type = typeOf(field);
  const dim = Number(field.dim);
  const pick = forms => forms[n % forms.length];
  switch (type) {
    case DataType.FloatVector: {
      const v = Array.from({ length: dim }, random);
      return { canon: v.map(Math.fround), sent: v };
    }
    case DataType.Float16Vector:
    case DataType.BFloat16Vector: {
      // The SDK's generator gives float32 numbers in [0, 1); signs added so IP and L2 differ.
      const v = Array.from({ length: dim }, () => random() * 4 - 2);
      const bytes = type === DataType.Float16Vector ? f32ArrayToF16Bytes(v) : f32ArrayToBf16Bytes(v);
      const canon = type === DataType.Float16Vector ? f16BytesToF32Array(bytes) : bf16BytesToF32Array(bytes);
      // REST rounds numbers to the type itself, so its number form sends values the type holds exactly.
      return { canon, sent: rest ? pick([canon, b64(bytes)]) : pick([v, new Uint8Array(bytes), Buffer.from(bytes)]) };
    }
    case DataType.Int8Vector: {
      const v = Array.from({ length: dim }, () => Math.floor(random() * 256) - 128);
      return { canon: v, sent: rest ? v : pick([v, Int8Array.from(v)]) };
    }
    case DataType.BinaryVector: {
      const v = Array.from({ length: dim / 8 }, () => Math.floor(random() * 256));
      return { canon: v, sent: rest ? pick([v, b64(v)]) : v };
    }
    case DataType.SparseFloatVector: {
      // Distinct indices below SPARSE_DIM, as genSparseVector draws them, with values that are not zero.
      const m = {};
      const count = 1 + Math.floor(random() * (SPARSE_DIM - 1));
      while (Object.keys(m).length < count) m[Math.floor(random() * SPARSE_DIM)] = Math.fround(0.05 + random());
      const indices = Object.keys(m).map(Number).sort((a, b) => a - b);
      const values = indices.map(i => m[i]);
      const forms = rest
        ? [m, { indices, values }]
        : [m, { indices, values }, indices.map((index, j) => ({ index, value: values[j] })), (() => { const a = []; indices.forEach((i, j) => { a[i] = values[j]; }); return a; })()];
      return { canon: m, sent: pick(forms) };
    }
    default: throw new Error(`not a vector field: ${field.name}`);
  }
}

let rowNumber = 0;
// Rows as sent (each vector in the form its row's number picks) and the values they hold (canon) beside them.
function generateInsertData(fields, count, rest = false) {
  const rows = [];
  const canon = [];
  for (let n = 0; n < count; n++, rowNumber++) {
    const row = {};
    const held = {};
    for (const field of fields) {
      if (field.autoID) continue;
      if (field.nullable && random() < 0.3) {
        // A nullable field left out or given null, in turn.
        if (rowNumber % 2 === 0) row[field.name] = null;
        held[field.name] = null;
        continue;
      }
      if (field.default_value && random() < 0.5) continue;
      if (isVector(field)) {
        const { canon: c, sent } = genVector(field, rowNumber, rest);
        row[field.name] = sent;
        held[field.name] = c;
      } else {
        row[field.name] = generate(field);
        held[field.name] = row[field.name];
      }
    }
    rows.push(row);
    canon.push(held);
  }
  return { rows, canon };
}

// What a row reads back as: defaults for what was left out or null, float32 rounding, instants compared as instants.
function expected(fields, row) {
  const out = {};
  for (const f of fields) {
    if (f.autoID) continue;
    let v = row[f.name];
    if ((v === undefined || v === null) && f.default_value !== undefined) v = f.default_value;
    out[f.name] = v === undefined ? null : v;
  }
  return out;
}
const fround32 = x => Math.fround(x);
function sameWkt(got, want) {
  const words = t => t.replace(/[-+0-9.eE]+/g, ' # ').replace(/\s+/g, ' ').trim().toUpperCase();
  const numbers = t => (t.match(/[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?/g) || []).map(Number);
  const a = numbers(got);
  const b = numbers(want);
  return typeof got === 'string' && words(got) === words(want) && a.length === b.length && a.every((x, i) => x === b[i]);
}
function same(field, got, want) {
  const type = typeOf(field);
  if (want === null) return got === null || got === undefined;
  switch (type) {
    case DataType.Float: return fround32(got) === fround32(want);
    case DataType.Int64: return String(got) === String(want);
    case DataType.Timestamptz: return new Date(got).getTime() === new Date(want).getTime();
    case DataType.FloatVector: return got.length === want.length && got.every((x, i) => fround32(x) === fround32(want[i]));
    // gRPC answers give FLOAT16 / BFLOAT16 as numbers (the SDK decodes the bytes), REST as base64 of the bytes; the
    // stored values must come back bit for bit.
    case DataType.Float16Vector:
    case DataType.BFloat16Vector: {
      const decode = type === DataType.Float16Vector ? f16BytesToF32Array : bf16BytesToF32Array;
      const values = typeof got === 'string' ? decode(Buffer.from(got, 'base64')) : Array.from(got);
      return values.length === want.length && values.every((x, i) => Object.is(x, want[i]));
    }
    case DataType.Int8Vector: return Array.from(got).length === want.length && Array.from(got).every((x, i) => x === want[i]);
    case DataType.BinaryVector: {
      const bytes = typeof got === 'string' ? Array.from(Buffer.from(got, 'base64')) : Array.from(got);
      return bytes.length === want.length && bytes.every((x, i) => x === want[i]);
    }
    case DataType.SparseFloatVector: {
      const keys = o => Object.keys(o).map(Number).sort((a, b) => a - b);
      return got !== null && typeof got === 'object' && JSON.stringify(keys(got)) === JSON.stringify(keys(want))
        && keys(want).every(k => fround32(got[k]) === want[k]);
    }
    case DataType.Array:
      return Array.isArray(got) && got.length === want.length
        && got.every((x, i) => (field.element_type === DataType.Float ? fround32(x) === fround32(want[i]) : x === want[i]));
    case DataType.JSON: return JSON.stringify(typeof got === 'string' ? JSON.parse(got) : got) === JSON.stringify(want);
    // Milvus writes WKT back in its own spelling (GEOS's: no trailing zeros), so the geometry is compared, not the text.
    case DataType.Geometry: return sameWkt(got, want);
    default: return got === want;
  }
}
// gotRows against the values held (canon) by the rows sent with ids.
function compareRows(fields, gotRows, sent, ids, what) {
  check(gotRows.length === sent.length, `${what}: every row is read back`, { got: gotRows.length, want: sent.length });
  const byId = new Map(gotRows.map(r => [String(r.id), r]));
  sent.forEach((row, i) => {
    const got = byId.get(String(ids[i]));
    check(got !== undefined, `${what}: row ${ids[i]} is read back`);
    const want = expected(fields, row);
    for (const f of fields) {
      if (f.autoID) continue;
      check(same(f, got[f.name], want[f.name]), `${what}: row ${ids[i]} field ${f.name}`, { got: got[f.name], want: want[f.name] });
    }
  });
}

// The index each vector field gets, its metric and search parameters: a spread of Milvus's index types per vector type,
// each searched so that its answer is exact (AUTOINDEX is FLAT at this size; IVF probes every list; HNSW's ef is above
// the row count).
function indexOf(field) {
  const key = `${DataType[typeOf(field)]}${field.nullable ? '?' : ''}`;
  const hnsw = metric => ({ index_type: 'HNSW', metric_type: metric, params: { M: 16, efConstruction: 100 }, search: { ef: 400 } });
  const table = {
    FloatVector: { index_type: 'AUTOINDEX', metric_type: 'L2', params: {}, search: {} },
    'FloatVector?': { index_type: 'FLAT', metric_type: 'COSINE', params: {}, search: {} },
    Float16Vector: hnsw('L2'),
    'Float16Vector?': { index_type: 'IVF_FLAT', metric_type: 'COSINE', params: { nlist: 4 }, search: { nprobe: 4 } },
    BFloat16Vector: { index_type: 'IVF_FLAT', metric_type: 'IP', params: { nlist: 4 }, search: { nprobe: 4 } },
    'BFloat16Vector?': { index_type: 'FLAT', metric_type: 'L2', params: {}, search: {} },
    Int8Vector: hnsw('COSINE'),
    'Int8Vector?': { index_type: 'FLAT', metric_type: 'IP', params: {}, search: {} },
    BinaryVector: { index_type: 'BIN_IVF_FLAT', metric_type: 'HAMMING', params: { nlist: 4 }, search: { nprobe: 4 } },
    'BinaryVector?': { index_type: 'BIN_FLAT', metric_type: 'JACCARD', params: {}, search: {} },
    SparseFloatVector: { index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'IP', params: { inverted_index_algo: 'DAAT_MAXSCORE' }, search: { drop_ratio_search: 0 } },
    'SparseFloatVector?': { index_type: 'SPARSE_WAND', metric_type: 'IP', params: {}, search: { drop_ratio_search: 0 } },
  };
  return table[key];
}

// Brute-force scores, written here from the metrics' definitions; `order` sorts best first.
const popcount = x => { let n = 0; for (; x; x &= x - 1) n++; return n; };
const dot = (a, b) => (Array.isArray(a)
  ? a.reduce((s, x, j) => s + x * b[j], 0)
  : Object.keys(a).reduce((s, key) => s + (b[key] !== undefined ? a[key] * b[key] : 0), 0));
function metricOf(metric) {
  const ascending = (x, y) => x - y;
  const descending = (x, y) => y - x;
  switch (metric) {
    case 'L2': return { of: (a, b) => a.reduce((s, x, j) => s + (x - b[j]) ** 2, 0), order: ascending };
    case 'IP': return { of: dot, order: descending };
    case 'COSINE': return { of: (a, b) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b)), order: descending };
    case 'HAMMING': return { of: (a, b) => a.reduce((s, x, j) => s + popcount(x ^ b[j]), 0), order: ascending };
    case 'JACCARD': return {
      of: (a, b) => {
        const and = a.reduce((s, x, j) => s + popcount(x & b[j]), 0);
        const or = a.reduce((s, x, j) => s + popcount(x | b[j]), 0);
        return or === 0 ? 0 : 1 - and / or;
      },
      order: ascending,
    };
    default: throw new Error(`no oracle for ${metric}`);
  }
}
const near = (got, want) => Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want));

// A query vector for a field, as values the type holds exactly: the SDK converts number arrays to FLOAT16 / BFLOAT16
// / INT8 bytes itself and REST rounds them to the type, so both send these values unchanged.
function queryVector(field, r) {
  const dim = Number(field.dim);
  switch (typeOf(field)) {
    case DataType.FloatVector: return { canon: Array.from({ length: dim }, () => Math.fround(r())) };
    case DataType.Float16Vector: return { canon: f16BytesToF32Array(f32ArrayToF16Bytes(Array.from({ length: dim }, () => r() * 4 - 2))) };
    case DataType.BFloat16Vector: return { canon: bf16BytesToF32Array(f32ArrayToBf16Bytes(Array.from({ length: dim }, () => r() * 4 - 2))) };
    case DataType.Int8Vector: return { canon: Array.from({ length: dim }, () => Math.floor(r() * 256) - 128) };
    case DataType.BinaryVector: return { canon: Array.from({ length: dim / 8 }, () => Math.floor(r() * 256)) };
    case DataType.SparseFloatVector: return { canon: Object.fromEntries(Array.from({ length: SPARSE_DIM }, (_, i) => [i, Math.fround(0.1 + r())])) };
    default: throw new Error(`not a vector field: ${field.name}`);
  }
}

main('sdk-schema', async () => {
  const c = client();
  const steps = [];
  const name = `sdk_schema_${process.pid}`;
  const params = collectionParams(name);
  const fields = params.fields;
  const outputFields = fields.filter(f => !f.autoID).map(f => f.name);

  ok(await c.createCollection(params), 'createCollection with the SDK test schema');
  const described = await c.describeCollection({ collection_name: name });
  ok(described, 'describeCollection');
  const byName = new Map(described.schema.fields.map(f => [f.name, f]));
  check(byName.get('geometry').data_type === 'Geometry', 'geometry is described as Geometry', byName.get('geometry'));
  check(byName.get('timestamptz').data_type === 'Timestamptz', 'timestamptz is described as Timestamptz', byName.get('timestamptz'));
  check(new Date(byName.get('timestamptz').default_value).getTime() === new Date(DEFAULT_TIMESTAMPTZ_VALUE).getTime(),
    'the timestamptz default is described as the instant given', byName.get('timestamptz').default_value);
  check(byName.get('default_value').nullable === true && Number(byName.get('default_value').default_value) === DEFAULT_NUM_VALUE,
    'a nullable Int32 with a default is described so', byName.get('default_value'));
  steps.push('create');

  const { rows, canon } = generateInsertData(fields, 200);
  const inserted = await c.insert({ collection_name: name, data: rows });
  ok(inserted, 'insert generated rows');
  check(inserted.succ_index.length === rows.length, 'every row acknowledged', inserted.succ_index.length);
  const ids = inserted.IDs.int_id.data.map(String);
  steps.push('insert');
  ok(await c.flushSync({ collection_names: [name] }), 'flush');
  const vectorFields = fields.filter(isVector);
  for (const f of vectorFields) {
    const { index_type, metric_type, params: indexParams } = indexOf(f);
    ok(await c.createIndex({ collection_name: name, field_name: f.name, index_type, metric_type, params: indexParams }), `createIndex ${f.name} ${index_type}`);
  }
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');

  const all = await c.query({ collection_name: name, filter: 'id > 0', output_fields: outputFields, limit: 1000 });
  ok(all, 'query every row');
  compareRows(fields, all.data, canon, ids, 'gRPC query');
  steps.push('query');

  // ST_INTERSECTS against the New York box, and an ISO range, each checked against the rows sent.
  const box = 'POLYGON ((-74 40.5, -73.7 40.5, -73.7 40.9, -74 40.9, -74 40.5))';
  const inBox = row => { const [lon, lat] = row.geometry.slice(7, -1).split(' ').map(Number); return lon >= -74 && lon <= -73.7 && lat >= 40.5 && lat <= 40.9; };
  const cut = new Date(now - 12 * 3600 * 1000);
  const tszOf = row => new Date(row.timestamptz ?? DEFAULT_TIMESTAMPTZ_VALUE).getTime();
  for (const [filter, pred] of [
    [`ST_INTERSECTS(geometry, '${box}')`, inBox],
    [`st_intersects(geometry, '${box}') and timestamptz >= ISO '${cut.toISOString()}'`, r => inBox(r) && tszOf(r) >= cut.getTime()],
    [`timestamptz < ISO '${cut.toISOString().replace('Z', '+00:00')}'`, r => tszOf(r) < cut.getTime()],
    [`timestamptz == ISO '${DEFAULT_TIMESTAMPTZ_VALUE}'`, r => tszOf(r) === new Date(DEFAULT_TIMESTAMPTZ_VALUE).getTime()],
  ]) {
    const res = await c.query({ collection_name: name, filter, output_fields: ['id'], limit: 1000 });
    ok(res, `query ${filter}`);
    const want = ids.filter((id, i) => pred(rows[i])).sort();
    const got = res.data.map(r => String(r.id)).sort();
    check(want.length > 0 && JSON.stringify(got) === JSON.stringify(want), `query ${filter}`, { got: got.length, want: want.length });
  }
  steps.push('filters');

  // REST v2: generated rows in REST's forms in and out (sent after the flush: these rows are growing ones); a JSON
  // field comes back as its text there, and byte vectors as base64, as Milvus's REST does.
  const h = httpClient();
  const { rows: restRows, canon: restCanon } = generateInsertData(fields, 30, true);
  const restInsert = await h.insert({ collectionName: name, data: restRows });
  check(restInsert.code === 0, 'REST insert of generated rows', restInsert);
  const restIds = restInsert.data.insertIds.map(String);
  const restQuery = await h.query({ collectionName: name, filter: `id in [${restIds.join(',')}]`, outputFields: outputFields, limit: 100 });
  check(restQuery.code === 0, 'REST query', restQuery);
  compareRows(fields, restQuery.data, restCanon, restIds, 'REST query');
  // The gRPC-inserted rows read through REST, and the REST-inserted ones through gRPC.
  const back = await h.query({ collectionName: name, filter: `id in [${ids.slice(0, 40).join(',')}]`, outputFields: outputFields, limit: 100 });
  check(back.code === 0, 'REST query of gRPC rows', back);
  compareRows(fields, back.data, canon.slice(0, 40), ids.slice(0, 40), 'REST query of gRPC rows');
  const across = await c.query({ collection_name: name, filter: `id in [${restIds.join(',')}]`, output_fields: outputFields, limit: 100 });
  ok(across, 'gRPC query of REST rows');
  compareRows(fields, across.data, restCanon, restIds, 'gRPC query of REST rows');
  steps.push('rest');

  // Each vector field searched over both transports with three query vectors in one request (nq 3: the SDK packs
  // them in one placeholder, REST answers one flat list with per-query counts), unfiltered and under the geometry
  // filter, over every row (sealed gRPC rows and growing REST ones): the hits' scores are the oracle's k best and each
  // is its own row's score.
  const held = new Map([...ids.map((id, i) => [id, canon[i]]), ...restIds.map((id, i) => [id, restCanon[i]])]);
  const k = 10;
  const nq = 3;
  const qr = (() => { let s2 = 7; return () => { s2 = (s2 * 1664525 + 1013904223) >>> 0; return s2 / 4294967296; }; })();
  for (const f of vectorFields) {
    const { metric_type, search: searchParams } = indexOf(f);
    const score = metricOf(metric_type);
    const queries = Array.from({ length: nq }, () => queryVector(f, qr).canon);
    // REST takes the queries of a byte type as base64 of their bytes too (all of a request's queries in one form, as
    // Milvus's REST decides the form by the first): the filtered searches send them so.
    const restForm = (q, filtered) => {
      if (!filtered) return q;
      switch (typeOf(f)) {
        case DataType.Float16Vector: return b64(f32ArrayToF16Bytes(q));
        case DataType.BFloat16Vector: return b64(f32ArrayToBf16Bytes(q));
        case DataType.BinaryVector: return b64(q);
        default: return q;
      }
    };
    for (const filter of ['', `ST_INTERSECTS(geometry, '${box}')`]) {
      const viaGrpc = await c.search({ collection_name: name, anns_field: f.name, data: queries, limit: k, filter, metric_type, params: searchParams, output_fields: ['id'] });
      ok(viaGrpc, `gRPC search ${f.name}`);
      const viaRest = await h.search({ collectionName: name, annsField: f.name, data: queries.map(q => restForm(q, filter !== '')), limit: k, filter, searchParams: { metricType: metric_type, params: searchParams }, outputFields: ['id'] });
      check(viaRest.code === 0, `REST search ${f.name}`, viaRest);
      // The server answers one flat list and topks; the HttpClient splits it into a list per query by topks.
      const restLists = viaRest.data;
      check(Array.isArray(viaRest.topks) && viaRest.topks.length === nq && restLists.length === nq && restLists.every((l, j) => l.length === viaRest.topks[j]), `REST search ${f.name}: a list per query`, viaRest.topks);
      check(viaGrpc.results.length === nq, `gRPC search ${f.name}: one list per query`, viaGrpc.results.length);
      queries.forEach((q, j) => {
        const candidates = [...held.entries()].filter(([, r]) => r[f.name] !== null && r[f.name] !== undefined && (filter === '' || inBox(r)))
          .map(([, r]) => score.of(q, r[f.name])).filter(d => typeOf(f) !== DataType.SparseFloatVector || d > 0);
        const truth = candidates.sort(score.order).slice(0, k);
        check(truth.length >= Math.min(k, 5), `${f.name}: the oracle has hits under '${filter}'`, truth.length);
        for (const [via, hits] of [['gRPC', viaGrpc.results[j].map(x => [String(x.id), x.score])], ['REST', restLists[j].map(x => [String(x.id), x.distance])]]) {
          const what = `${via} search ${f.name} (${DataType[typeOf(f)]}${f.nullable ? ', nullable' : ''}, ${metric_type}) query ${j}${filter ? ' filtered' : ''}`;
          check(hits.length === truth.length, `${what}: hit count`, { got: hits.length, want: truth.length });
          check(new Set(hits.map(([id]) => id)).size === hits.length, `${what}: distinct ids`, hits);
          hits.forEach(([id, d], n) => {
            const row = held.get(id);
            check(row !== undefined && row[f.name] !== null && row[f.name] !== undefined, `${what}: hit ${n} is a row with a vector`, { id, row });
            check(filter === '' || inBox(row), `${what}: hit ${n} passes the filter`, row.geometry);
            const own = score.of(q, row[f.name]);
            check(near(d, own), `${what}: hit ${n} has its own row's score`, { id, got: d, own });
            check(near(d, truth[n]), `${what}: hit ${n} equals the oracle`, { got: hits.map(x => x[1]), want: truth });
          });
        }
      });
    }
  }
  steps.push('search');

  // A bad WKT and a bad timestamp are refused naming the problem, and nothing is written.
  const badGeo = await c.insert({ collection_name: name, data: [{ ...rows[1], geometry: 'POINT (1)' }] });
  check(badGeo.status.error_code !== 'Success' && /WKT at position 8/.test(badGeo.status.reason), 'bad WKT refused', badGeo.status);
  const badTime = await c.insert({ collection_name: name, data: [{ ...rows[1], timestamptz: '2025-13-01T00:00:00Z' }] });
  check(badTime.status.error_code !== 'Success' && /timestamptz/.test(badTime.status.reason), 'bad timestamp refused', badTime.status);
  const count = await c.count({ collection_name: name });
  check(Number(count.data) === rows.length + restRows.length, 'nothing written by refused inserts', count);
  steps.push('refusals');

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  await c.closeConnection();
  return steps;
});
