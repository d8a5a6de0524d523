// REST v2's alias and database endpoints on a 3-node Quiver cluster (QUIVER_ADDRESSES), every call also sent to a
// standalone Quiver server (QUIVER_ORACLE), the single-node oracle: the HTTP status and the body text must be equal,
// byte for byte, for every answer and every refusal:
// - databases: list, create (twice, a bad name, no name, with properties), describe, alter (no properties too), drop
//   (a database with collections of 1 and 3 shards, the default database, one that does not exist);
// - aliases on collections of 1 and 3 shards in the default database and in another (by dbName and by the DB-Name
//   header): create (twice, taken by another collection, named like a collection, missing parameters, a collection or
//   database that does not exist), describe, list (of a database, of a collection), alter (to another collection, of a
//   missing alias, to a missing collection), drop (twice); reads by alias through every node; the collection's
//   description listing its aliases; an alias made over REST seen over gRPC through the other nodes.
// Exits non-zero naming every failed part.
'use strict';
const { MilvusClient, check, main, rng, restComparer, describedAlike } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const dim = 4;

main('cluster-rest-catalog', () => run().catch(e => { throw e instanceof Error ? e : new Error(JSON.stringify(e)); }));

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  let turn = 0;
  let calls = 0;
  /** Each call through the next node and on the single server: the same HTTP status and body text. */
  const { same, succeeds, refused } = restComparer(oracleAddress, () => { calls++; return addresses[turn++ % 3]; });
  const r = rng(2417);
  const vec = () => Array.from({ length: dim }, () => Math.round((r() * 2 - 1) * 1000) / 1000);
  let nextId = 1;
  const rows = count => Array.from({ length: count }, () => ({ id: nextId++, vector: vec() }));
  const collection = (name, shards, extra) => ({ collectionName: name, dimension: dim, params: { shardsNum: shards }, ...(extra || {}) });

  const failures = [];
  const part = async (name, body) => {
    try {
      await body();
    } catch (e) {
      failures.push(`${name}: ${e instanceof Error ? e.message : JSON.stringify(e)}`);
    }
  };

  await part('databases', async () => {
    await succeeds('databases/list', {}, 'list the databases');
    await succeeds('databases/create', { dbName: 'shop' }, 'create database shop');
    await refused('databases/create', { dbName: 'shop' }, 'create database shop again');
    await refused('databases/create', {}, 'create a database without dbName');
    await refused('databases/create', { dbName: 'no such-name' }, 'create a database with a bad name');
    await refused('databases/create', { dbName: 7 }, 'create a database named by a number');
    await succeeds('databases/create', { dbName: 'props', properties: { 'database.max.collections': '5' } }, 'create a database with properties');
    await succeeds('databases/list', {}, 'list the databases after the creates');
    await succeeds('databases/describe', { dbName: 'shop' }, 'describe shop');
    await succeeds('databases/describe', { dbName: 'props' }, 'describe props');
    await succeeds('databases/describe', { dbName: 'default' }, 'describe default');
    await refused('databases/describe', { dbName: 'nope' }, 'describe a database that does not exist');
    await refused('databases/describe', {}, 'describe without dbName');
    await succeeds('databases/alter', { dbName: 'shop', properties: { 'database.max.collections': '9' } }, 'alter shop');
    await succeeds('databases/describe', { dbName: 'shop' }, 'describe shop after the alter');
    await refused('databases/alter', { dbName: 'shop' }, 'alter without properties');
    await refused('databases/alter', { dbName: 'nope', properties: { 'database.max.collections': '9' } }, 'alter a database that does not exist');
    await succeeds('collections/create', collection('one', 1, { dbName: 'shop' }), 'create shop.one (1 shard)');
    await succeeds('collections/create', collection('three', 3), 'create shop.three (3 shards) by the DB-Name header', { 'DB-Name': 'shop' });
    await refused('databases/drop', { dbName: 'shop' }, 'drop a database with collections');
    await succeeds('collections/drop', { dbName: 'shop', collectionName: 'one' }, 'drop shop.one');
    await refused('databases/drop', { dbName: 'shop' }, 'drop a database with a collection of 3 shards');
    await succeeds('collections/drop', { dbName: 'shop', collectionName: 'three' }, 'drop shop.three');
    await succeeds('databases/drop', { dbName: 'shop' }, 'drop shop');
    await refused('databases/drop', { dbName: 'default' }, 'drop the default database');
    await same('databases/drop', { dbName: 'nope' }, 'drop a database that does not exist');
    await refused('databases/drop', {}, 'drop without dbName');
    await succeeds('databases/drop', { dbName: 'props' }, 'drop props');
    await succeeds('databases/list', {}, 'list the databases after the drops');
    await refused('databases/create', '{"dbName":"twice","dbName":"twice"}', 'a body with a key twice');
    await refused('databases/list', 'not json', 'a body that is not JSON');
  });

  await part('aliases', async () => {
    await succeeds('collections/create', collection('al_one', 1), 'create al_one (1 shard)');
    await succeeds('collections/create', collection('al_three', 3), 'create al_three (3 shards)');
    for (const name of ['al_one', 'al_three']) {
      await succeeds('entities/insert', { collectionName: name, data: rows(20) }, `insert into ${name}`);
    }
    await succeeds('aliases/list', {}, 'list the aliases of a database with none');
    await succeeds('aliases/create', { collectionName: 'al_one', aliasName: 'a1' }, 'create a1 on al_one');
    await succeeds('aliases/create', { collectionName: 'al_three', aliasName: 'a3' }, 'create a3 on al_three');
    await same('aliases/create', { collectionName: 'al_one', aliasName: 'a1' }, 'create a1 on al_one again');
    await refused('aliases/create', { collectionName: 'al_three', aliasName: 'a1' }, 'create a1 on another collection');
    await refused('aliases/create', { collectionName: 'al_one', aliasName: 'al_three' }, 'an alias named like a collection of 3 shards');
    await refused('aliases/create', { collectionName: 'al_three', aliasName: 'al_one' }, 'an alias named like a collection of 1 shard');
    await refused('aliases/create', { collectionName: 'nope', aliasName: 'a9' }, 'an alias of a collection that does not exist');
    await refused('aliases/create', { collectionName: 'al_one' }, 'create without aliasName');
    await refused('aliases/create', { aliasName: 'a9' }, 'create without collectionName');
    await refused('aliases/create', { collectionName: 'al_one', aliasName: 'bad alias!' }, 'an alias with a bad name');
    await refused('aliases/create', { dbName: 'nope', collectionName: 'al_one', aliasName: 'a9' }, 'an alias in a database that does not exist');
    for (const alias of ['a1', 'a3']) {
      await succeeds('aliases/describe', { aliasName: alias }, `describe ${alias}`);
    }
    await refused('aliases/describe', { aliasName: 'nope' }, 'describe an alias that does not exist');
    await refused('aliases/describe', {}, 'describe without aliasName');
    await refused('aliases/describe', { dbName: 'nope', aliasName: 'a1' }, 'describe in a database that does not exist');
    await succeeds('aliases/list', {}, 'list the aliases of the default database');
    await succeeds('aliases/list', { collectionName: 'al_one' }, 'list the aliases of al_one');
    await succeeds('aliases/list', { collectionName: 'al_three' }, 'list the aliases of al_three');
    await refused('aliases/list', { collectionName: 'nope' }, 'list the aliases of a collection that does not exist');
    for (const name of ['al_one', 'al_three']) {
      // The collection's id is each engine's own counter, and a node reports the cluster's shard count (a single node
      // keeps one): the rest of the description must be equal.
      const described = await describedAlike(addresses[turn++ % 3], oracleAddress, name, 'listing its aliases');
      check(described.data.shardsNum === (name === 'al_three' ? 3 : 1) && described.data.aliases.length > 0, `describe ${name} reports its shards and aliases`, described.data);
      calls++;
    }
    // Reads by alias through every node.
    for (let i = 0; i < 3; i++) {
      await succeeds('entities/query', { collectionName: 'a1', filter: 'id > 0', outputFields: ['id'], limit: 100, consistencyLevel: 'Strong' }, `query by a1 (${i})`);
      await succeeds('entities/query', { collectionName: 'a3', filter: '', outputFields: ['count(*)'], consistencyLevel: 'Strong' }, `count(*) by a3 (${i})`);
    }
    // An alias made over REST is seen over gRPC through every node.
    for (const address of addresses) {
      const described = await new MilvusClient({ address, timeout: 180000 }).describeAlias({ alias: 'a3', collection_name: 'al_three' });
      check(described.status.code === 0 && described.collection === 'al_three', `describeAlias over gRPC through ${address} sees the REST alias`, described);
    }
    await succeeds('aliases/alter', { collectionName: 'al_three', aliasName: 'a1' }, 'move a1 to al_three');
    await succeeds('aliases/describe', { aliasName: 'a1' }, 'describe a1 after the move');
    await succeeds('aliases/list', { collectionName: 'al_one' }, 'list the aliases of al_one after the move');
    await succeeds('aliases/list', { collectionName: 'al_three' }, 'list the aliases of al_three after the move');
    await succeeds('entities/query', { collectionName: 'a1', filter: '', outputFields: ['count(*)'], consistencyLevel: 'Strong' }, 'count(*) by the moved a1');
    await succeeds('aliases/alter', { collectionName: 'al_one', aliasName: 'a1' }, 'move a1 back to al_one');
    await same('aliases/alter', { collectionName: 'al_one', aliasName: 'a1' }, 'move a1 to the collection it names');
    await refused('aliases/alter', { collectionName: 'al_one', aliasName: 'nope' }, 'alter an alias that does not exist');
    await refused('aliases/alter', { collectionName: 'nope', aliasName: 'a1' }, 'alter an alias to a collection that does not exist');
    await refused('aliases/alter', { collectionName: 'al_three', aliasName: 'al_one' }, 'alter an alias named like a collection');
    await refused('aliases/alter', { aliasName: 'a1' }, 'alter without collectionName');
    await succeeds('aliases/drop', { aliasName: 'a1' }, 'drop a1');
    await same('aliases/drop', { aliasName: 'a1' }, 'drop a1 again');
    await refused('aliases/describe', { aliasName: 'a1' }, 'describe the dropped a1');
    await refused('aliases/drop', {}, 'drop without aliasName');
    await succeeds('aliases/list', {}, 'list the aliases after the drop');

    // Another database, named by dbName and by the DB-Name header.
    await succeeds('databases/create', { dbName: 'aliased' }, 'create database aliased');
    await succeeds('collections/create', collection('inner', 3, { dbName: 'aliased' }), 'create aliased.inner (3 shards)');
    await succeeds('aliases/create', { dbName: 'aliased', collectionName: 'inner', aliasName: 'in1' }, 'create in1 by dbName');
    await succeeds('aliases/create', { collectionName: 'inner', aliasName: 'in2' }, 'create in2 by the header', { 'DB-Name': 'aliased' });
    await succeeds('aliases/create', { collectionName: 'al_three', aliasName: 'in1' }, 'the same alias name in the default database');
    await succeeds('aliases/list', {}, 'list the aliases of aliased by the header', { 'DB-Name': 'aliased' });
    await succeeds('aliases/list', { dbName: 'aliased', collectionName: 'inner' }, 'list the aliases of aliased.inner');
    await succeeds('aliases/list', {}, 'list the aliases of the default database beside another');
    await succeeds('aliases/describe', { dbName: 'aliased', aliasName: 'in1' }, 'describe aliased.in1');
    await succeeds('aliases/describe', { aliasName: 'in1' }, 'describe default.in1');
    await succeeds('aliases/describe', { aliasName: 'in2' }, 'describe in2 by the header', { 'DB-Name': 'aliased' });
    await refused('aliases/describe', { aliasName: 'in2' }, 'describe in2 in the default database');
    await succeeds('entities/insert', { dbName: 'aliased', collectionName: 'in2', data: rows(12) }, 'insert by alias in2');
    await succeeds('entities/query', { dbName: 'aliased', collectionName: 'in1', filter: '', outputFields: ['count(*)'], consistencyLevel: 'Strong' }, 'count(*) by aliased.in1');
    for (const alias of ['in1', 'in2']) {
      await succeeds('aliases/drop', { dbName: 'aliased', aliasName: alias }, `drop aliased.${alias}`);
    }
    await succeeds('aliases/drop', { aliasName: 'in1' }, 'drop default.in1');
    await succeeds('aliases/drop', { aliasName: 'a3' }, 'drop a3');
    await succeeds('collections/drop', { dbName: 'aliased', collectionName: 'inner' }, 'drop aliased.inner');
    await succeeds('databases/drop', { dbName: 'aliased' }, 'drop database aliased');
    await succeeds('aliases/list', {}, 'list the aliases at the end');
  });

  check(failures.length === 0, `${failures.length} part(s) failed`, failures);
  return calls;
}
