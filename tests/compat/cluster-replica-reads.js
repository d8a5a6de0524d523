// Replica reads on a 3-node Quiver cluster (QUIVER_ADDRESSES), through the official Milvus Node.js SDK and REST v2, a
// standalone Quiver server (QUIVER_ORACLE) as the single-node oracle:
// - a database's `timezone` is copied into collections created in it through the cluster (one shard and three, gRPC
//   and REST, another database and the default one), as the single node copies it;
// - REST v2 search, query and get on a collection loaded with 2 replicas equal the single node's (only REST reads touch
//   it, so the replicas' closing lines, checked by the test, show that REST reads reached them), a Strong REST read
//   through another node right after an insert sees it, and loads of what is loaded (gRPC and REST) and flushes in
//   between (read by the test in the same lines: one engine per replica);
// - Session reads of a collection with 3 shards and 2 replicas, by the client that wrote every row through the same node,
//   see all of its rows and equal the single node's (the test checks in the closing lines that none waited for the log's
//   end as a Strong read does).
// Exits non-zero naming the first failure.
'use strict';
const { MilvusClient, DataType, check, ok, main, rng, sameRows, restAt } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const dim = 4;

async function rest(address, path, body) {
  const { http, json } = await restAt(address, path, body);
  check(http === 200 && json !== undefined && json.code === 0, `REST ${path} through ${address}`, json);
  return json;
}

const zoneOf = props => (props.find(p => p.key === 'timezone') || {}).value;

main('cluster-replica-reads', () => run().catch(e => { throw e instanceof Error ? e : new Error(JSON.stringify(e)); }));

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 180000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 180000 });
  const r = rng(4242);
  const vec = () => Array.from({ length: dim }, () => r() * 2 - 1);
  const fields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
    { name: 'n', data_type: DataType.Int64 },
    { name: 'vector', data_type: DataType.FloatVector, dim },
  ];
  const steps = [];

  // ---- A database's timezone, copied into its collections as the single node copies it.
  for (const c of [nodes[0], single]) {
    ok(await c.createDatabase({ db_name: 'zoned', properties: { timezone: 'Asia/Shanghai' } }), 'create a database with a zone');
  }
  ok(await nodes[1].createCollection({ db_name: 'zoned', collection_name: 'one', fields }), 'create a 1-shard collection in it');
  ok(await nodes[2].createCollection({ db_name: 'zoned', collection_name: 'three', fields, shards_num: 3 }), 'create a 3-shard collection in it');
  ok(await single.createCollection({ db_name: 'zoned', collection_name: 'one', fields }), 'create on the single node');
  const restCreate = { dbName: 'zoned', collectionName: 'by_rest', dimension: dim };
  await rest(addresses[0], 'collections/create', restCreate);
  await rest(oracleAddress, 'collections/create', restCreate);
  const want = zoneOf((await single.describeCollection({ db_name: 'zoned', collection_name: 'one' })).properties);
  check(want === 'Asia/Shanghai', 'the single node copies the database zone', want);
  for (const [i, collection] of [[0, 'one'], [1, 'three'], [2, 'by_rest']]) {
    const got = zoneOf((await nodes[i].describeCollection({ db_name: 'zoned', collection_name: collection })).properties);
    check(got === want, `collection ${collection} created through the cluster has the database's zone`, got);
  }
  const restDescribed = await rest(addresses[1], 'collections/describe', { dbName: 'zoned', collectionName: 'by_rest' });
  const restWant = await rest(oracleAddress, 'collections/describe', { dbName: 'zoned', collectionName: 'by_rest' });
  check(JSON.stringify(restDescribed.data.properties) === JSON.stringify(restWant.data.properties), 'REST describes the same properties', { cluster: restDescribed.data.properties, single: restWant.data.properties });
  // The default database's zone (kept by the cluster's catalog shard), then a collection created in it.
  for (const c of [nodes[1], single]) {
    ok(await c.alterDatabase({ db_name: 'default', properties: { timezone: 'America/New_York' } }), 'alter the default database\'s zone');
  }
  ok(await nodes[0].createCollection({ collection_name: 'zoned_default', fields, shards_num: 2 }), 'create in the default database');
  const defaultZone = zoneOf((await nodes[2].describeCollection({ collection_name: 'zoned_default' })).properties);
  check(defaultZone === 'America/New_York', 'a collection of the default database has its zone', defaultZone);
  for (const c of [nodes[1], single]) {
    ok(await c.alterDatabase({ db_name: 'default', properties: { timezone: 'UTC' } }), 'the default database back to UTC');
  }
  steps.push('database zones copied');

  // ---- REST reads on replicas of a one-shard collection (no gRPC read touches it).
  const rr = 'rest_replicas';
  let nextId = 1;
  const batch = count => Array.from({ length: count }, () => { const id = nextId++; return { id, n: id % 17, vector: vec() }; });
  for (const c of [nodes[0], single]) ok(await c.createCollection({ collection_name: rr, fields }), 'create');
  for (let b = 0; b < 2; b++) {
    const data = batch(120);
    ok(await nodes[b].insert({ collection_name: rr, data }), 'insert');
    ok(await single.insert({ collection_name: rr, data }), 'insert on the single node');
  }
  ok(await nodes[2].flushSync({ collection_names: [rr] }), 'flush');
  {
    const data = batch(60);
    ok(await nodes[1].insert({ collection_name: rr, data }), 'insert growing rows');
    ok(await single.insert({ collection_name: rr, data }), 'insert growing rows on the single node');
  }
  for (const c of [nodes[2], single]) ok(await c.createIndex({ collection_name: rr, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), 'index');
  ok(await nodes[0].loadCollectionSync({ collection_name: rr, replica_number: 2 }), 'load with 2 replicas');
  ok(await single.loadCollectionSync({ collection_name: rr }), 'load on the single node');

  const byId = rows => [...rows].sort((a, b) => Number(a.id) - Number(b.id));
  const queryBody = level => ({ collectionName: rr, filter: 'id >= 0', outputFields: ['id', 'n'], limit: 16384, ...(level ? { consistencyLevel: level } : {}) });
  const checkRest = async (round, level) => {
    const wantRows = byId((await rest(oracleAddress, 'entities/query', queryBody(level))).data);
    for (let i = 0; i < 3; i++) {
      const got = byId((await rest(addresses[i], 'entities/query', queryBody(level))).data);
      sameRows(got, wantRows, `${round}: REST query through node ${i}`);
      const q = vec();
      const search = { collectionName: rr, data: [q], limit: 10, outputFields: ['n'], ...(level ? { consistencyLevel: level } : {}) };
      const gotHits = (await rest(addresses[i], 'entities/search', search)).data;
      const wantHits = (await rest(oracleAddress, 'entities/search', search)).data;
      sameRows(gotHits, wantHits, `${round}: REST search through node ${i}`);
      const ids = [1, 7, 130, 299, 100000];
      const gotGet = byId((await rest(addresses[i], 'entities/get', { collectionName: rr, id: ids, outputFields: ['n'] })).data);
      const wantGet = byId((await rest(oracleAddress, 'entities/get', { collectionName: rr, id: ids, outputFields: ['n'] })).data);
      sameRows(gotGet, wantGet, `${round}: REST get through node ${i}`);
    }
  };
  await checkRest('loaded', 'Strong');
  // A Strong read through another node right after each acknowledged insert sees it.
  for (let k = 0; k < 3; k++) {
    const data = batch(5);
    ok(await nodes[k].insert({ collection_name: rr, data }), 'insert');
    ok(await single.insert({ collection_name: rr, data }), 'insert on the single node');
    const seen = (await rest(addresses[(k + 1) % 3], 'entities/query', { collectionName: rr, filter: `id in [${data.map(d => d.id).join(',')}]`, outputFields: ['id'], consistencyLevel: 'Strong' })).data;
    check(seen.length === 5, `a Strong REST read through node ${(k + 1) % 3} sees the 5 rows just inserted through node ${k}`, seen);
  }
  // Loads of what is loaded (gRPC with no number and with the same number, REST) and a flush between them.
  ok(await nodes[1].loadCollectionSync({ collection_name: rr }), 'load again without a number');
  ok(await nodes[2].flushSync({ collection_names: [rr] }), 'flush');
  await rest(addresses[0], 'collections/load', { collectionName: rr });
  ok(await nodes[2].loadCollectionSync({ collection_name: rr, replica_number: 2 }), 'load again with the same number');
  await checkRest('reloaded', 'Strong');
  await checkRest('reloaded, the collection\'s level', null);
  ok(await nodes[0].releaseCollection({ collection_name: rr }), 'release');
  steps.push('REST reads on replicas');

  // ---- Session reads on 3 shards by the client that wrote the rows.
  const ss = 'session_shards';
  ok(await nodes[0].createCollection({ collection_name: ss, fields, shards_num: 3 }), 'create with 3 shards');
  ok(await single.createCollection({ collection_name: ss, fields }), 'create on the single node');
  const rows = batch(90);
  ok(await nodes[0].insert({ collection_name: ss, data: rows.slice(0, 60) }), 'insert');
  ok(await single.insert({ collection_name: ss, data: rows.slice(0, 60) }), 'insert on the single node');
  for (const c of [nodes[0], single]) ok(await c.createIndex({ collection_name: ss, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), 'index');
  ok(await nodes[0].loadCollectionSync({ collection_name: ss, replica_number: 2 }), 'load with 2 replicas');
  ok(await single.loadCollectionSync({ collection_name: ss }), 'load on the single node');
  for (let k = 0; k < 3; k++) {
    const data = rows.slice(60 + k * 10, 70 + k * 10);
    ok(await nodes[0].insert({ collection_name: ss, data }), 'insert');
    ok(await single.insert({ collection_name: ss, data }), 'insert on the single node');
    const count = await nodes[0].query({ collection_name: ss, filter: '', output_fields: ['count(*)'], consistency_level: 'Session' });
    check(Number(count.data[0]['count(*)']) === 70 + k * 10, `a Session count through the writer's node sees its ${70 + k * 10} rows`, count.data);
    const got = await nodes[0].query({ collection_name: ss, filter: 'id >= 0', output_fields: ['id', 'n'], limit: 1000, consistency_level: 'Session' });
    const wantRows = await single.query({ collection_name: ss, filter: 'id >= 0', output_fields: ['id', 'n'], limit: 1000, consistency_level: 'Strong' });
    sameRows(byId(got.data), byId(wantRows.data), `Session query ${k}`);
    const q = vec();
    const gotHits = await nodes[0].search({ collection_name: ss, data: [q], limit: 10, output_fields: ['n'], consistency_level: 'Session' });
    const wantHits = await single.search({ collection_name: ss, data: [q], limit: 10, output_fields: ['n'], consistency_level: 'Strong' });
    sameRows(gotHits.results, wantHits.results, `Session search ${k}`);
  }
  ok(await nodes[0].releaseCollection({ collection_name: ss }), 'release');
  steps.push('Session reads on 3 shards');
  return steps;
}
