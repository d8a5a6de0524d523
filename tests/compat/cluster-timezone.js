// TIMESTAMPTZ and `timezone` on a collection with several shards (shards_num 3) on a 3-node Quiver cluster
// (QUIVER_ADDRESSES), through the official Milvus Node.js SDK, a standalone Quiver server (QUIVER_ORACLE) as the
// single-node oracle, and the instants themselves as a second oracle (Shanghai is +08:00 all year; New York -05:00 in
// January, -04:00 in July, so one zone's answers carry two offsets):
// - naive text inserted and upserted through the nodes (rows routed to every shard) is read in the collection's zone,
//   also after the zone is altered, and an upsert's rows in the zone at that time;
// - query and search answers (merged from the shards) write values in the collection's zone, or in a read's own
//   `timezone`; naive ISO literals in filters are read in it;
// - every answer equals the single node's.
// Exits non-zero naming the first difference.
'use strict';
const { MilvusClient, DataType, check, ok, main, sameRows } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const H = 3600 * 1000;
const pad = n => String(n).padStart(2, '0');
// Row i's naive wall-clock time: in January for i < 60, in July for the rest (New York's two offsets).
const month = i => (i < 60 ? 0 : 6);
const naive = i => `2025-${pad(month(i) + 1)}-${pad(1 + Math.floor(i / 24) % 28)} ${pad(i % 24)}:15:00`;
const wall = i => Date.UTC(2025, month(i), 1 + Math.floor(i / 24) % 28, i % 24, 15, 0);
const offsets = { 'Asia/Shanghai': () => 8, 'America/New_York': ms => (new Date(ms).getUTCMonth() >= 2 && new Date(ms).getUTCMonth() <= 9 ? -4 : -5), UTC: () => 0 };
// The instant naive text names in a zone (no row is near a DST change), and that instant as RFC 3339 text in a zone.
const instant = (i, zone) => wall(i) - offsets[zone](wall(i)) * H;
function inZone(ms, zone) {
  const offset = offsets[zone](ms);
  const t = new Date(ms + offset * H);
  const body = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}T${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
  return offset === 0 ? `${body}Z` : `${body}${offset > 0 ? '+' : '-'}${pad(Math.abs(offset))}:00`;
}
const fields = [
  { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
  { name: 'tsz', data_type: DataType.Timestamptz, nullable: true },
  { name: 'v', data_type: DataType.FloatVector, dim: 2 },
];
const byId = rows => rows.map(r => ({ id: Number(r.id), tsz: r.tsz })).sort((a, b) => a.id - b.id);

main('cluster-timezone', () => run().catch(e => { throw e instanceof Error ? e : new Error(JSON.stringify(e)); }));

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 120000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 120000 });
  const name = 'tz_shards';
  const steps = [];
  ok(await nodes[0].createCollection({ collection_name: name, fields, shards_num: 3, properties: { timezone: 'Asia/Shanghai' } }), 'create with 3 shards in Shanghai');
  ok(await single.createCollection({ collection_name: name, fields, properties: { timezone: 'Asia/Shanghai' } }), 'create on the single node');
  const props = (await nodes[1].describeCollection({ collection_name: name })).properties;
  check(props.some(p => p.key === 'timezone' && p.value === 'Asia/Shanghai'), 'the cluster describes the zone', props);

  // Rows 0..119 as naive text, each batch through another node; a third of them null.
  const rows = Array.from({ length: 120 }, (_, i) => ({ id: i, tsz: i % 3 === 2 ? null : naive(i), v: [i, 0] }));
  for (let b = 0; b < 3; b++) {
    const data = rows.slice(b * 40, b * 40 + 40);
    ok(await nodes[b].insert({ collection_name: name, data }), `insert naive text through node ${b}`);
    ok(await single.insert({ collection_name: name, data }), `insert ${b} on the single node`);
  }
  for (const c of [nodes[2], single]) {
    ok(await c.createIndex({ collection_name: name, field_name: 'v', index_type: 'FLAT', metric_type: 'L2' }), 'index');
    ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  }

  const expectRow = (i, writtenIn, readIn) => ({ id: i, tsz: i % 3 === 2 ? null : inZone(instant(i, writtenIn), readIn) });
  const all = async (c, params) => byId((await c.query({ collection_name: name, filter: 'id >= 0', output_fields: ['tsz'], limit: 1000, ...(params ? { params } : {}) })).data);
  let cluster = await all(nodes[1]);
  sameRows(cluster, rows.map(r => expectRow(r.id, 'Asia/Shanghai', 'Asia/Shanghai')), 'naive inserts read in Shanghai, values written in it');
  sameRows(cluster, await all(single), 'query in the collection zone');
  cluster = await all(nodes[2], { timezone: 'America/New_York' });
  sameRows(cluster, rows.map(r => expectRow(r.id, 'Asia/Shanghai', 'America/New_York')), 'a query timezone writes the values (two offsets)');
  sameRows(cluster, await all(single, { timezone: 'America/New_York' }), 'query in a read zone');
  steps.push('naive inserts on every shard read in the collection zone; query answers in the collection and read zones');

  // A naive literal in the read's zone; a window over the merged shards.
  const literal = async (c, params) => byId((await c.query({ collection_name: name, filter: `tsz >= ISO '${naive(70)}'`, output_fields: ['tsz'], limit: 20, offset: 5, ...(params ? { params } : {}) })).data);
  const nyIds = rows.filter(r => r.tsz !== null && instant(r.id, 'Asia/Shanghai') >= instant(70, 'America/New_York')).map(r => r.id).slice(5, 25);
  cluster = await literal(nodes[0], { timezone: 'America/New_York' });
  sameRows(cluster, nyIds.map(i => expectRow(i, 'Asia/Shanghai', 'America/New_York')), 'a naive ISO literal read in the query zone');
  sameRows(cluster, await literal(single, { timezone: 'America/New_York' }), 'literal query');
  steps.push('ISO literals in the read zone, windowed over the shards');

  // Searches merged from the shards: in a read zone and in the collection's.
  for (const [params, readIn] of [[{ timezone: 'America/New_York' }, 'America/New_York'], [undefined, 'Asia/Shanghai']]) {
    const search = async c => (await c.search({ collection_name: name, data: [[80.2, 0]], limit: 6, output_fields: ['tsz'], ...(params ? { params } : {}) })).results
      .map(h => ({ id: Number(h.id), tsz: h.tsz }));
    const got = await search(nodes[1]);
    sameRows(got, [80, 81, 79, 82, 78, 83].map(i => expectRow(i, 'Asia/Shanghai', readIn)), `search hits written in ${readIn}`);
    sameRows(got, await search(single), `search in ${readIn}`);
  }
  steps.push('search answers in the read and collection zones');

  // The zone altered: new naive text (an upsert over every shard) is read in the new zone; old rows keep their instants.
  for (const c of [nodes[0], single]) {
    ok(await c.alterCollectionProperties({ collection_name: name, properties: { timezone: 'America/New_York' } }), 'alter the zone');
  }
  const upserts = Array.from({ length: 30 }, (_, k) => ({ id: 4 * k, tsz: naive(4 * k + 1), v: [4 * k, 0] }));
  ok(await nodes[2].upsert({ collection_name: name, data: upserts }), 'upsert naive text through a node');
  ok(await single.upsert({ collection_name: name, data: upserts }), 'upsert on the single node');
  const now = new Map(rows.map(r => [r.id, r.tsz === null ? null : inZone(instant(r.id, 'Asia/Shanghai'), 'UTC')]));
  for (const u of upserts) now.set(u.id, inZone(instant(u.id + 1, 'America/New_York'), 'UTC'));
  cluster = await all(nodes[1], { timezone: 'UTC' });
  sameRows(cluster, [...now.entries()].map(([id, tsz]) => ({ id, tsz })).sort((a, b) => a.id - b.id), 'upserted naive text read in the altered zone');
  sameRows(cluster, await all(single, { timezone: 'UTC' }), 'after the upsert');
  steps.push('an upsert after the zone changed is read in the new zone');

  for (const c of [nodes[0], single]) ok(await c.dropCollection({ collection_name: name }), 'drop');
  return steps;
}
