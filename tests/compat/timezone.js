// Milvus's `timezone` through the official Node.js SDK and REST v2 (tests/Quiver.Server.Tests/Compat/NodeSdkTests.Timezone.cs).
// A collection created with properties { timezone: 'Asia/Shanghai' } reads TIMESTAMPTZ text without an offset in that
// zone (inserts over gRPC and REST, ISO literals in filters) and writes values back in it; a query's or search's own
// `timezone` overrides it for literals and output; a database's timezone is copied into collections created in it
// afterwards (and reads their inserts); names that are no IANA zone are refused with 1100 and Milvus's message. The oracle is the instant each
// naive local time names in the zone (fixed offsets: Shanghai +08:00 has no DST, New York is -05:00 in January).
'use strict';
const { DataType, client, check, ok, milvusError, main, restPost } = require('./common');

const H = 3600 * 1000;
async function drop(c, name, db) {
  if ((await c.hasCollection({ collection_name: name, db_name: db })).value) await c.dropCollection({ collection_name: name, db_name: db });
}
const pad = n => String(n).padStart(2, '0');
// Row i's naive local time: January 2025 (no DST anywhere involved), i hours after midnight of the 1st.
const naive = i => `2025-01-${pad(1 + Math.floor(i / 24))} ${pad(i % 24)}:30:00`;
const instant = (i, offsetHours) => Date.UTC(2025, 0, 1 + Math.floor(i / 24), i % 24, 30, 0) - offsetHours * H;
function inZone(ms, offsetHours) {
  const t = new Date(ms + offsetHours * H);
  const body = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}T${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
  return offsetHours === 0 ? `${body}Z` : `${body}${offsetHours > 0 ? '+' : '-'}${pad(Math.abs(offsetHours))}:00`;
}
const fields = [
  { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
  { name: 'tsz', data_type: DataType.Timestamptz, nullable: true },
  { name: 'v', data_type: DataType.FloatVector, dim: 2 },
];

main('timezone', async () => {
  const c = client();
  const steps = [];
  const name = `compat_tz_${process.pid}`;
  await drop(c, name);
  ok(await c.createCollection({ collection_name: name, fields, properties: { timezone: 'Asia/Shanghai' } }), 'create with timezone');
  const props = (await c.describeCollection({ collection_name: name })).properties;
  check(props.some(p => p.key === 'timezone' && p.value === 'Asia/Shanghai'), 'timezone described', props);

  // gRPC rows 0..59, REST rows 60..99, all naive text.
  const rows = Array.from({ length: 100 }, (_, i) => ({ id: i, tsz: naive(i), v: [i, 0] }));
  ok(await c.insert({ collection_name: name, data: rows.slice(0, 60) }), 'insert naive text over gRPC');
  const restInsert = await restPost('entities/insert', { collectionName: name, data: rows.slice(60) });
  check(restInsert.code === 0 && restInsert.data.insertCount === 40, 'insert naive text over REST', restInsert);
  ok(await c.createIndex({ collection_name: name, field_name: 'v', index_type: 'FLAT', metric_type: 'L2' }), 'index');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');

  const all = await c.query({ collection_name: name, filter: 'id >= 0', output_fields: ['tsz'], limit: 1000 });
  check(all.data.length === 100, 'every row back', all.data.length);
  for (const r of all.data) {
    const i = Number(r.id);
    check(r.tsz === inZone(instant(i, 8), 8), `row ${i} read in Shanghai and written back in it`, r);
  }
  steps.push('naive inserts read in the collection zone (gRPC, REST), values written in it');

  // A naive literal is read in the collection's zone; the read's own zone overrides it.
  const pivot = 37;
  const after = await c.query({ collection_name: name, filter: `tsz > ISO '${naive(pivot)}'`, output_fields: ['id'], limit: 1000 });
  check(JSON.stringify(after.data.map(r => Number(r.id)).sort((a, b) => a - b)) === JSON.stringify(rows.filter(r => r.id > pivot).map(r => r.id)),
    'a naive ISO literal is read in the collection zone', after.data.length);
  const ny = await c.query({ collection_name: name, filter: `tsz <= ISO '${naive(pivot)}'`, output_fields: ['tsz'], limit: 1000, params: { timezone: 'America/New_York' } });
  const nyIds = rows.filter(r => instant(r.id, 8) <= instant(pivot, -5)).map(r => r.id);
  check(JSON.stringify(ny.data.map(r => Number(r.id)).sort((a, b) => a - b)) === JSON.stringify(nyIds), 'query timezone reads the literal', ny.data.length);
  check(ny.data.every(r => r.tsz === inZone(instant(Number(r.id), 8), -5)), 'query timezone writes the values', ny.data.slice(0, 3));
  steps.push('ISO literals in the collection zone and in the query timezone');

  const hits = await c.search({ collection_name: name, data: [[50, 0]], limit: 3, output_fields: ['tsz'], params: { timezone: 'UTC' } });
  ok(hits, 'search with a timezone');
  check(JSON.stringify(hits.results.map(h => Number(h.id))) === '[50,49,51]' || JSON.stringify(hits.results.map(h => Number(h.id))) === '[50,51,49]', 'search hits', hits.results);
  check(hits.results.every(h => h.tsz === inZone(instant(Number(h.id), 8), 0)), 'search timezone writes the values', hits.results);
  steps.push('search timezone');

  // REST reads: the collection zone, and a request's own.
  const restAll = await restPost('entities/query', { collectionName: name, filter: 'id < 5', outputFields: ['tsz'] });
  check(restAll.code === 0 && restAll.data.every(r => r.tsz === inZone(instant(Number(r.id), 8), 8)), 'REST query in the collection zone', restAll);
  const restNy = await restPost('entities/query', { collectionName: name, filter: `tsz < ISO '${naive(3)}'`, outputFields: ['tsz'], timezone: 'America/New_York' });
  const restNyIds = rows.filter(r => instant(r.id, 8) < instant(3, -5)).map(r => r.id);
  check(restNy.code === 0 && JSON.stringify(restNy.data.map(r => Number(r.id)).sort((a, b) => a - b)) === JSON.stringify(restNyIds)
    && restNy.data.every(r => r.tsz === inZone(instant(Number(r.id), 8), -5)), 'REST query timezone', restNy);
  const restSearch = await restPost('entities/search', { collectionName: name, data: [[10, 0]], limit: 1, outputFields: ['tsz'], timezone: 'UTC' });
  check(restSearch.code === 0 && restSearch.data[0].tsz === inZone(instant(10, 8), 0), 'REST search timezone', restSearch);
  steps.push('REST query and search timezone');

  // Refusals: 1100 with Milvus's message, nothing changed.
  const bad = milvusError(await c.alterCollectionProperties({ collection_name: name, properties: { timezone: 'Mars/Olympus_Mons' } }), 'alter to an unknown zone');
  check(bad.code === 1100 && bad.reason.includes('unknown or invalid IANA Time Zone ID: Mars/Olympus_Mons'), 'unknown zone refused', bad);
  const still = (await c.describeCollection({ collection_name: name })).properties;
  check(still.some(p => p.key === 'timezone' && p.value === 'Asia/Shanghai'), 'the zone is unchanged', still);
  const badQuery = milvusError(await c.query({ collection_name: name, filter: 'id > 0', limit: 1, params: { timezone: '+08:00' } }), 'query with an offset for a zone');
  check(badQuery.code === 1100 && badQuery.reason.includes('unknown or invalid IANA Time Zone ID: +08:00'), 'query zone refused', badQuery);
  const restBad = await restPost('entities/query', { collectionName: name, filter: 'id > 0', limit: 1, timezone: 'Nowhere/City' });
  check(restBad.code === 1100 && restBad.message.includes('unknown or invalid IANA Time Zone ID: Nowhere/City'), 'REST zone refused', restBad);
  steps.push('unknown zones refused');

  // A database's zone is copied into collections created in it; an unknown one creates no database.
  const db = `compat_tzdb_${process.pid}`;
  const badDb = milvusError(await c.createDatabase({ db_name: `${db}_bad`, properties: { timezone: 'Pacific Standard Time' } }), 'create a database with a Windows zone name');
  check(badDb.code === 1100, 'database zone refused', badDb);
  check(!(await c.listDatabases()).db_names.includes(`${db}_bad`), 'no database was created');
  if ((await c.listDatabases()).db_names.includes(db)) {
    await drop(c, name, db);
    ok(await c.dropDatabase({ db_name: db }), 'drop leftover database');
  }
  ok(await c.createDatabase({ db_name: db, properties: { timezone: 'America/New_York' } }), 'create a database with a zone');
  // (No default here: the SDK turns a TIMESTAMPTZ default_value into microseconds itself, with the client's clock zone.)
  ok(await c.createCollection({ db_name: db, collection_name: name, fields }), 'create in it');
  const dbProps = (await c.describeCollection({ db_name: db, collection_name: name })).properties;
  check(dbProps.some(p => p.key === 'timezone' && p.value === 'America/New_York'), 'the database zone is copied', dbProps);
  ok(await c.insert({ db_name: db, collection_name: name, data: [{ id: 1, tsz: naive(27), v: [0, 0] }, { id: 2, tsz: naive(5), v: [1, 0] }] }), 'insert in it');
  ok(await c.createIndex({ db_name: db, collection_name: name, field_name: 'v', index_type: 'FLAT', metric_type: 'L2' }), 'index in it');
  ok(await c.loadCollectionSync({ db_name: db, collection_name: name }), 'load in it');
  const inDb = await c.query({ db_name: db, collection_name: name, filter: 'id > 0', output_fields: ['tsz'], params: { timezone: 'UTC' } });
  const byId = Object.fromEntries(inDb.data.map(r => [Number(r.id), r.tsz]));
  check(byId[1] === inZone(instant(27, -5), 0) && byId[2] === inZone(instant(5, -5), 0), 'inserts read in the database zone', byId);
  await drop(c, name, db);
  ok(await c.dropDatabase({ db_name: db }), 'drop database');
  steps.push('database zone copied and applied');

  await drop(c, name);
  return steps;
});
