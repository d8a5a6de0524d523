// The Node SDK's own full test schema (genCollectionParams in the SDK repository's test/tools/collection.ts) and its
// row generator (generateInsertData in test/tools/data.ts), re-written here from what they produce (the npm package
// ships no test tools): every scalar type, nullable fields, defaults, arrays, GEOMETRY and TIMESTAMPTZ. Created,
// filled and read back equal over gRPC and REST; ST_INTERSECTS and ISO range filters checked against an oracle.
//
// QUIVER_SDK_VECTORS (default "FloatVector") lists the vector types of the schema, comma separated, as
// genCollectionParams' vectorType does; the other vector types arrive with other branches of this session.
'use strict';
const { DataType, client, httpClient, check, ok, main } = require('./common');

const MAX_LENGTH = 8;
const MAX_CAPACITY = 4;
const DEFAULT_NUM_VALUE = 100;
const DEFAULT_STRING_VALUE = 'd';
const DEFAULT_TIMESTAMPTZ_VALUE = '1984-04-14T15:00:00+08:00';

// A seeded stand-in for Math.random so that a failure replays.
let seed = 20261205;
function random() { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 4294967296; }

const vectorTypes = (process.env.QUIVER_SDK_VECTORS || 'FloatVector').split(',').map(t => DataType[t.trim()]);

function collectionParams(name) {
  return {
    collection_name: name,
    consistency_level: 'Strong',
    fields: [
      ...vectorTypes.map((type, i) => ({
        name: i === 0 ? 'vector' : `vector${i}`, description: `vector type: ${type}`, data_type: type,
        ...(type === DataType.SparseFloatVector ? {} : { dim: 8 }),
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
  const type = typeof field.data_type === 'string' ? DataType[field.data_type] : field.data_type;
  switch (type) {
    case DataType.Bool: return random() < 0.5;
    case DataType.Int32: return genInt();
    case DataType.Int64: return genInt64();
    case DataType.Float: return random();
    case DataType.VarChar: return genVarChar(field.max_length);
    case DataType.JSON: return genJSON();
    case DataType.Array: return genArray(typeof field.element_type === 'string' ? field.element_type : DataType[field.element_type], field.max_length);
    case DataType.Geometry: return genGeometry();
    case DataType.Timestamptz: return genTimestamptz();
    case DataType.FloatVector: return Array.from({ length: field.dim }, random);
    default: throw new Error(`sdk-schema.js generates no ${DataType[type]} values yet (field ${field.name})`);
  }
}
function generateInsertData(fields, count) {
  const rows = [];
  for (let n = 0; n < count; n++) {
    const row = {};
    for (const field of fields) {
      if (field.autoID) continue;
      if (field.nullable && random() < 0.5) { row[field.name] = null; continue; }
      if (field.default_value && random() < 0.5) continue;
      row[field.name] = generate(field);
    }
    rows.push(row);
  }
  return rows;
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
  const type = typeof field.data_type === 'string' ? DataType[field.data_type] : field.data_type;
  if (want === null) return got === null || got === undefined;
  switch (type) {
    case DataType.Float: return fround32(got) === fround32(want);
    case DataType.Int64: return String(got) === String(want);
    case DataType.Timestamptz: return new Date(got).getTime() === new Date(want).getTime();
    case DataType.FloatVector: return got.length === want.length && got.every((x, i) => fround32(x) === fround32(want[i]));
    case DataType.Array:
      return Array.isArray(got) && got.length === want.length
        && got.every((x, i) => (field.element_type === DataType.Float ? fround32(x) === fround32(want[i]) : x === want[i]));
    case DataType.JSON: return JSON.stringify(typeof got === 'string' ? JSON.parse(got) : got) === JSON.stringify(want);
    // Milvus writes WKT back in its own spelling (GEOS's: no trailing zeros), so the geometry is compared, not the text.
    case DataType.Geometry: return sameWkt(got, want);
    default: return got === want;
  }
}
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

  const rows = generateInsertData(fields, 200);
  const inserted = await c.insert({ collection_name: name, data: rows });
  ok(inserted, 'insert generated rows');
  check(inserted.succ_index.length === rows.length, 'every row acknowledged', inserted.succ_index.length);
  const ids = inserted.IDs.int_id.data.map(String);
  steps.push('insert');
  ok(await c.flushSync({ collection_names: [name] }), 'flush');
  ok(await c.createIndex({ collection_name: name, field_name: 'vector', index_type: 'AUTOINDEX', metric_type: 'L2' }), 'createIndex');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');

  const all = await c.query({ collection_name: name, filter: 'id > 0', output_fields: outputFields, limit: 1000 });
  ok(all, 'query every row');
  compareRows(fields, all.data, rows, ids, 'gRPC query');
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

  // Search with the new types as output fields and in the filter: the exact L2 top 5 of the matching rows.
  const q = rows[0].vector;
  const l2 = v => v.reduce((s, x, j) => s + (fround32(x) - fround32(q[j])) ** 2, 0);
  const search = await c.search({ collection_name: name, data: [q], limit: 5, filter: `ST_INTERSECTS(geometry, '${box}')`, output_fields: ['geometry', 'timestamptz'] });
  ok(search, 'search with a geometry filter');
  const top = ids.map((id, i) => [id, l2(rows[i].vector), rows[i]]).filter(([, , r]) => inBox(r)).sort((a, b) => a[1] - b[1]).slice(0, 5);
  check(search.results.length === top.length, 'search hit count', search.results.length);
  search.results.forEach((hit, i) => {
    check(String(hit.id) === top[i][0], `search hit ${i}`, { got: hit.id, want: top[i][0] });
    check(sameWkt(hit.geometry, top[i][2].geometry) && new Date(hit.timestamptz).getTime() === tszOf(top[i][2]), `search hit ${i} output fields`, hit);
  });
  steps.push('search');

  // REST v2: the same generated rows in and out; a JSON field comes back as its text there, as Milvus's REST does.
  const h = httpClient();
  const restRows = generateInsertData(fields, 30);
  const restInsert = await h.insert({ collectionName: name, data: restRows });
  check(restInsert.code === 0, 'REST insert of generated rows', restInsert);
  const restIds = restInsert.data.insertIds.map(String);
  const restQuery = await h.query({ collectionName: name, filter: `id in [${restIds.join(',')}]`, outputFields: outputFields, limit: 100 });
  check(restQuery.code === 0, 'REST query', restQuery);
  compareRows(fields, restQuery.data, restRows, restIds, 'REST query');
  // And the gRPC-inserted rows read through REST.
  const back = await h.query({ collectionName: name, filter: `id in [${ids.slice(0, 20).join(',')}]`, outputFields: outputFields, limit: 100 });
  check(back.code === 0, 'REST query of gRPC rows', back);
  compareRows(fields, back.data, rows.slice(0, 20), ids.slice(0, 20), 'REST query of gRPC rows');
  steps.push('rest');

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
