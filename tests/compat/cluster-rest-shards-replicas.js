// REST v2 on a 3-node Quiver cluster (QUIVER_ADDRESSES) beyond the body's own names, every answer compared with a
// standalone Quiver server's (QUIVER_ORACLE), the single-node oracle:
// - reads of a collection of 3 shards loaded with 2 replicas (search, query, get, count(*), at Strong) through every
//   node, with and without `Accept-Type-Allow-Int64` (Int64 values as numbers or strings): equal to the single node's
//   (the test checks in the replicas' closing lines that every replica served reads);
// - the `DB-Name` header naming the database when the body names none: create (1 and 3 shards), insert, query, search,
//   describe and has, equal to the single node's, and nothing created in the default database;
// - REST create of a name taken by an alias (1 and 3 shards) refused in the single node's words;
// - bodies every endpoint refuses (a key twice, not JSON, not an object, empty) on a 3-shard collection and a path the
//   server does not serve: the same HTTP status and body as the single node's;
// - Session reads over REST by the client that wrote every row through the same node, on a 1-shard and a 3-shard
//   collection with 2 replicas whose replicas apply the log late (the nodes run with QUIVER_REPLICA_APPLY_DELAY_MS):
//   each sees all of its rows at once (the test checks in the closing lines that none waited for the log's end).
// Exits non-zero naming the first failure.
'use strict';
const { MilvusClient, check, ok, main, rng, restAt } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const dim = 4;

main('cluster-rest-shards-replicas', () => run().catch(e => { throw e instanceof Error ? e : new Error(JSON.stringify(e)); }));

/** POSTs `body` to `path` on `address` (restAt), which must answer JSON. */
async function post(address, path, body, headers) {
  const answer = await restAt(address, path, body, headers);
  check(answer.json !== undefined, `REST ${path} through ${address} answered JSON`, answer);
  return answer;
}

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 180000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 180000 });
  let turn = 0;
  /** The call through the next node (or `through`) and on the single server: both answers, same HTTP status and code. */
  const both = async (path, body, what, headers, through) => {
    const a = await post(through || addresses[turn++ % 3], path, body, headers);
    const s = await post(oracleAddress, path, body, headers);
    check(a.http === s.http && a.json.code === s.json.code, `${what}: status and code equal the single node's`, { cluster: a.json, single: s.json });
    return [a.json, s.json];
  };
  const succeeded = (a, what) => check(a.code === 0, `${what} succeeded`, a);
  const same = (a, s, what) => check(JSON.stringify(a) === JSON.stringify(s), `${what}: the answer equals the single node's`, { cluster: a, single: s });
  const r = rng(1717);
  const vec = () => Array.from({ length: dim }, () => Math.round((r() * 2 - 1) * 1000) / 1000);
  const schema = {
    fields: [
      { fieldName: 'id', dataType: 'Int64', isPrimary: true },
      { fieldName: 'n', dataType: 'Int64' },
      { fieldName: 'vector', dataType: 'FloatVector', elementTypeParams: { dim } },
    ],
  };
  const indexParams = [{ fieldName: 'vector', indexName: 'vector', indexType: 'FLAT', metricType: 'L2' }];
  let nextId = 1;
  // `n` above 2^32, below 2^53: a JSON number JavaScript reads exactly, which Milvus sends as a string unless asked.
  const rows = count => Array.from({ length: count }, () => { const id = nextId++; return { id, n: id * 1000000007 + 5000000000, vector: vec() }; });
  const queries = Array.from({ length: 3 }, vec);

  const failures = [];
  /** Runs one part; a failure is kept and the next part runs (the test reads every replica's closing line). */
  const part = async (name, body) => {
    try {
      await body();
    } catch (e) {
      failures.push(`${name}: ${e instanceof Error ? e.message : JSON.stringify(e)}`);
    }
  };
  const rs = 'rest_shards_replicas';

  // ---- Reads of 3 shards on 2 replicas, with and without Accept-Type-Allow-Int64.
  await part('reads of several shards on replicas', async () => {
    succeeded((await both('collections/create', { collectionName: rs, schema, indexParams, params: { shardsNum: 3 } }, 'create 3 shards'))[0], 'create 3 shards');
    for (let b = 0; b < 3; b++) {
      succeeded((await both('entities/insert', { collectionName: rs, data: rows(40) }, `insert batch ${b}`))[0], `insert batch ${b}`);
    }
    ok(await nodes[0].loadCollectionSync({ collection_name: rs, replica_number: 2 }), 'load with 2 replicas');
    for (const [allow, headers] of [[false, {}], [true, { 'Accept-Type-Allow-Int64': 'true' }]]) {
      for (let k = 0; k < 6; k++) {
        const [searched, searchedSingle] = await both('entities/search', { collectionName: rs, data: queries, annsField: 'vector', limit: 7, offset: k % 2, outputFields: ['id', 'n'], consistencyLevel: 'Strong' }, `search ${k}`, headers);
        succeeded(searched, `search ${k}`);
        same(searched, searchedSingle, `search ${k} (Int64 as numbers: ${allow})`);
        const [queried, queriedSingle] = await both('entities/query', { collectionName: rs, filter: `id > ${k * 10}`, outputFields: ['id', 'n'], limit: 15, offset: k, consistencyLevel: 'Strong' }, `query ${k}`, headers);
        succeeded(queried, `query ${k}`);
        same(queried, queriedSingle, `query ${k} (Int64 as numbers: ${allow})`);
        check(typeof queried.data[0].n === (allow ? 'number' : 'string'), `query ${k}: an Int64 value is a ${allow ? 'number' : 'string'}`, queried.data[0]);
        const [got, gotSingle] = await both('entities/get', { collectionName: rs, id: [k + 1, k + 50, k + 100], outputFields: ['n'], consistencyLevel: 'Strong' }, `get ${k}`, headers);
        same(got, gotSingle, `get ${k} (Int64 as numbers: ${allow})`);
      }
      const [counted, countedSingle] = await both('entities/query', { collectionName: rs, filter: '', outputFields: ['count(*)'], consistencyLevel: 'Strong' }, 'count(*)', headers);
      same(counted, countedSingle, `count(*) (Int64 as numbers: ${allow})`);
    }
  });

  // ---- Bodies every endpoint refuses, and a path the server does not serve, on the 3-shard collection.
  await part('refused bodies and unknown paths', async () => {  const hostile = [
      ['entities/search', `{"collectionName":"${rs}","collectionName":"${rs}","data":[[0,0,0,0]],"limit":3}`, 'a key twice'],
      ['entities/query', `{"collectionName":"${rs}","filter":"id > 0",`, 'not JSON'],
      ['entities/insert', `[{"collectionName":"${rs}"}]`, 'not an object'],
      ['entities/get', '', 'empty'],
      ['entities/nope', `{"collectionName":"${rs}"}`, 'an unknown path naming the collection'],
      ['nope', '{}', 'an unknown path'],
    ];
    for (const [path, text, what] of hostile) {
      const a = await restAt(addresses[turn++ % 3], path, text);
      const s = await restAt(oracleAddress, path, text);
      check(a.http === s.http && a.text === s.text, `${path} with ${what}: the single node's HTTP status and body`, { cluster: a, single: s });
    }
  });

  // ---- The DB-Name header names the database.
  await part('the DB-Name header', async () => {  for (const c of [nodes[0], single]) {
      ok(await c.createDatabase({ db_name: 'by_header' }), 'create a database');
    }
    const inDb = { 'DB-Name': 'by_header' };
    for (const [name, shards] of [['header_one', 1], ['header_three', 3]]) {
      succeeded((await both('collections/create', { collectionName: name, schema, indexParams, params: { shardsNum: shards } }, `create ${name} by the header`, inDb))[0], `create ${name}`);
      const [inserted, insertedSingle] = await both('entities/insert', { collectionName: name, data: rows(30) }, `insert into ${name} by the header`, inDb);
      same(inserted, insertedSingle, `insert into ${name} by the header`);
      const [described, describedSingle] = await both('collections/describe', { collectionName: name }, `describe ${name} by the header`, inDb);
      check(described.data.dbName === describedSingle.data.dbName && JSON.stringify(described.data.fields) === JSON.stringify(describedSingle.data.fields), `describe ${name} by the header`, { cluster: described.data, single: describedSingle.data });
      const [queried, queriedSingle] = await both('entities/query', { collectionName: name, filter: 'id > 0', outputFields: ['id', 'n'], limit: 50, consistencyLevel: 'Strong' }, `query ${name} by the header`, inDb);
      succeeded(queried, `query ${name} by the header`);
      same(queried, queriedSingle, `query ${name} by the header`);
      const [searched, searchedSingle] = await both('entities/search', { collectionName: name, data: queries, limit: 5, outputFields: ['n'], consistencyLevel: 'Strong' }, `search ${name} by the header`, inDb);
      same(searched, searchedSingle, `search ${name} by the header`);
      const [has, hasSingle] = await both('collections/has', { collectionName: name }, `has ${name} without the header`);
      same(has, hasSingle, `has ${name} in the default database`);
      check(has.data.has === false, `${name} is not in the default database`, has);
      const [listed, listedSingle] = await both('collections/list', {}, 'list by the header', inDb);
      same(listed, listedSingle, 'list by the header');
    }
  });

  // ---- A create naming an alias.
  await part('a create naming an alias', async () => {  succeeded((await both('collections/create', { collectionName: 'aliased', dimension: dim }, 'create aliased'))[0], 'create aliased');
    // REST alias calls are not served by a node yet (cluster-not-served): the alias is made over gRPC.
    for (const c of [nodes[1], single]) {
      ok(await c.createAlias({ collection_name: 'aliased', alias: 'taken' }), 'create alias taken');
    }
    for (const shards of [1, 3]) {
      const [refused, refusedSingle] = await both('collections/create', { collectionName: 'taken', dimension: dim, params: { shardsNum: shards } }, `create a collection named like an alias (${shards} shards)`);
      check(refused.code !== 0, `create named like an alias (${shards} shards) refused`, refused);
      same(refused, refusedSingle, `create named like an alias (${shards} shards)`);
    }
  });

  // ---- Session reads over REST by the writer, through the node it wrote through, on replicas applying the log late.
  await part('Session reads over REST', async () => {
    for (const [name, shards] of [['session_one', 1], ['session_three', 3]]) {
      const writer = addresses[shards === 1 ? 1 : 2];
      succeeded((await both('collections/create', { collectionName: name, schema, indexParams, params: { shardsNum: shards } }, `create ${name}`, {}, writer))[0], `create ${name}`);
      succeeded((await both('entities/insert', { collectionName: name, data: rows(40) }, `insert into ${name}`, {}, writer))[0], `insert into ${name}`);
      ok(await nodes[0].loadCollectionSync({ collection_name: name, replica_number: 2 }), `load ${name} with 2 replicas`);
      let total = 40;
      for (let k = 0; k < 4; k++) {
        const batch = rows(10);
        const write = k % 2 === 0 ? 'entities/insert' : 'entities/upsert';
        succeeded((await both(write, { collectionName: name, data: batch }, `${write} ${k} into ${name}`, {}, writer))[0], `${write} ${k}`);
        total += 10;
        const [counted, countedSingle] = await both('entities/query', { collectionName: name, filter: '', outputFields: ['count(*)'], consistencyLevel: 'Session' }, `Session count(*) of ${name}`, {}, writer);
        same(counted, countedSingle, `a Session count(*) of ${name} through the writer's node right after its write ${k} (${total} rows)`);
        const [queried, queriedSingle] = await both('entities/query', { collectionName: name, filter: `id >= ${batch[0].id}`, outputFields: ['id', 'n'], limit: 100, consistencyLevel: 'Session' }, `Session query of ${name}`, {}, writer);
        same(queried, queriedSingle, `a Session query of ${name} right after write ${k}`);
        const [searched, searchedSingle] = await both('entities/search', { collectionName: name, data: queries, limit: 5, outputFields: ['n'], consistencyLevel: 'Session' }, `Session search of ${name}`, {}, writer);
        same(searched, searchedSingle, `a Session search of ${name} right after write ${k}`);
      }
      const deleted = { collectionName: name, filter: `id in [${batchIds(nextId - 10, 3)}]` };
      succeeded((await both('entities/delete', deleted, `delete from ${name}`, {}, writer))[0], `delete from ${name}`);
      const [after, afterSingle] = await both('entities/query', { collectionName: name, filter: '', outputFields: ['count(*)'], consistencyLevel: 'Session' }, `Session count(*) of ${name} after a delete`, {}, writer);
      same(after, afterSingle, `a Session count(*) of ${name} right after a delete`);
    }
  });

  // Released whatever failed before: each replica closes and logs what it served (read by the test).
  for (const name of [rs, 'session_one', 'session_three']) {
    const released = await post(addresses[0], 'collections/release', { collectionName: name });
    if (released.json.code !== 0) failures.push(`release ${name}: ${released.text}`);
  }
  check(failures.length === 0, `${failures.length} part(s) failed`, failures);
}

function batchIds(first, count) {
  return Array.from({ length: count }, (_, i) => first + i).join(', ');
}
