// A collection with several shards (shards_num 3) on a 3-node Quiver cluster (QUIVER_ADDRESSES: the nodes' host:port),
// driven through the official Milvus Node.js SDK, every answer compared with a standalone Quiver server holding the same
// rows (QUIVER_ORACLE: its host:port), the single-node oracle: search hits (ids, scores, fields) with offsets and filters
// under L2 and IP, queries with windows, count(*), get, statistics, delete by keys and by filter, upsert. Each step goes
// through another node. Then the refusals a node sends for a sharded collection. Exits non-zero naming the first
// difference.
'use strict';
const { MilvusClient, DataType, check, ok, main, restAt, answer, statusOf } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const dim = 8;

function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296; };
}

/** The parts of an answer that must be equal: hits or rows with every field, in order. */
function sameRows(got, want, what) {
  const norm = rows => JSON.stringify(rows.map(r => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))));
  check(norm(got) === norm(want), `${what}: the cluster's answer differs from the single node's`, { cluster: got.slice(0, 4), single: want.slice(0, 4), clusterCount: got.length, singleCount: want.length });
}

main('cluster-shards', () => run().catch(e => {
  // The SDK rejects some calls with plain objects: name them.
  throw e instanceof Error ? e : new Error(JSON.stringify(e));
}));

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  // Shards activate on first use (each opens its engine over JetStream): generous deadlines for a loaded machine.
  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 120000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 120000 });
  const r = rng(1717);
  const vec = () => Array.from({ length: dim }, () => r() * 2 - 1);
  const fields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
    { name: 'tag', data_type: DataType.VarChar, max_length: 32 },
    { name: 'n', data_type: DataType.Int64 },
    { name: 'price', data_type: DataType.Double, nullable: true },
    { name: 'vector', data_type: DataType.FloatVector, dim },
  ];
  // Both collections get the same calls; the node's answers must be the single server's.
  let nextId = 1;
  const batch = count => Array.from({ length: count }, () => {
    const id = nextId++;
    return { id, tag: `t${id % 7}`, n: id * 3 % 1000, price: id % 5 === 0 ? null : id / 4, vector: vec(), color: id % 2 ? 'red' : 'blue' };
  });
  const both = async (i, call) => [await call(nodes[i % 3]), await call(single)];
  for (const [name, metric] of [['sharded_l2', 'L2'], ['sharded_ip', 'IP']]) {
    const [created, createdSingle] = await both(0, c => c.createCollection({ collection_name: name, fields, shards_num: 3, enable_dynamic_field: true }));
    ok(created, `createCollection ${name} with 3 shards`);
    ok(createdSingle, `createCollection ${name} on the single node`);
    const described = await nodes[1].describeCollection({ collection_name: name });
    ok(described, 'describeCollection');
    check(Number(described.shards_num) === 3, 'describeCollection reports 3 shards', described.shards_num);

    nextId = 1;
    for (let b = 0; b < 3; b++) {
      const data = batch(200);
      const [a, s] = await both(b, c => c.insert({ collection_name: name, data }));
      ok(a, `insert batch ${b}`);
      check(Number(a.insert_cnt) === 200, 'insert_cnt', a.insert_cnt);
      check(JSON.stringify(a.IDs) === JSON.stringify(s.IDs), 'insert answers the keys in the rows\' order', { cluster: a.IDs, single: s.IDs });
    }
    const [ix] = await both(1, c => c.createIndex({ collection_name: name, field_name: 'vector', index_type: 'FLAT', metric_type: metric }));
    ok(ix, 'createIndex');
    const [loaded] = await both(2, c => c.loadCollectionSync({ collection_name: name }));
    ok(loaded, 'load');
    const state = await nodes[0].getLoadState({ collection_name: name });
    check(state.state === 'LoadStateLoaded', 'every shard loaded', state);

    const compare = async label => {
      const queries = [vec(), vec(), vec()];
      for (const [i, params] of [
        { limit: 10 },
        { limit: 7, offset: 5 },
        { limit: 12, filter: 'n > 300 and tag != "t3"' },
        { limit: 5, filter: 'color == "red"', output_fields: ['*'] },
      ].entries()) {
        const request = { collection_name: name, data: queries, output_fields: ['tag', 'n', 'price'], ...params };
        const [a, s] = await both(i, c => c.search(request));
        ok(a, `${label}: search ${JSON.stringify(params)}`);
        ok(s, `${label}: single-node search`);
        check(a.results.length === 3, 'one hit list per query', a.results.length);
        a.results.forEach((hits, q) => sameRows(hits, s.results[q], `${label}: search ${JSON.stringify(params)} query ${q}`));
      }
      for (const [i, params] of [
        { filter: 'n < 120', output_fields: ['*'] },
        { filter: '', limit: 20, offset: 30, output_fields: ['tag', 'price'] },
        { filter: 'tag in ["t1", "t2"]', limit: 15, output_fields: ['n', 'color'] },
        { filter: 'id in [3, 77, 401, 599, 1000]', output_fields: ['tag'] },
      ].entries()) {
        const [a, s] = await both(i + 1, c => c.query({ collection_name: name, ...params }));
        ok(a, `${label}: query ${JSON.stringify(params)}`);
        sameRows(a.data, s.data, `${label}: query ${JSON.stringify(params)}`);
      }
      // Grouped searches: exact over the shards in two rounds (a chosen group's members may lie on shards that did not
      // rank it among their first groups).
      for (const [i, params] of [
        { limit: 3, group_by_field: 'tag', group_size: 2 },
        { limit: 2, offset: 1, group_by_field: 'tag', group_size: 4, filter: 'n > 200' },
        { limit: 4, group_by_field: 'n', group_size: 1 },
      ].entries()) {
        const request = { collection_name: name, data: queries, anns_field: 'vector', output_fields: ['tag', 'n'], ...params };
        const [a, s] = await both(i, c => c.search(request));
        ok(a, `${label}: grouped search ${JSON.stringify(params)}`);
        ok(s, `${label}: single-node grouped search`);
        check(a.results.length === 3, 'one hit list per query of a grouped search', a.results.length);
        a.results.forEach((hits, q) => sameRows(hits, s.results[q], `${label}: grouped search ${JSON.stringify(params)} query ${q}`));
      }
      const [count, countSingle] = await both(2, c => c.query({ collection_name: name, filter: 'n >= 0', output_fields: ['count(*)'] }));
      ok(count, `${label}: count(*)`);
      check(Number(count.data[0]['count(*)']) === Number(countSingle.data[0]['count(*)']), `${label}: count(*) equals the single node's`, { cluster: count.data, single: countSingle.data });
      const [got, gotSingle] = await both(0, c => c.get({ collection_name: name, ids: [5, 6, 7, 250, 9999], output_fields: ['tag', 'vector'] }));
      ok(got, `${label}: get`);
      sameRows(got.data, gotSingle.data, `${label}: get`);
      return Number(count.data[0]['count(*)']);
    };

    check(await compare('after insert') === 600, 'all 600 rows are counted');
    const [del] = await both(1, c => c.delete({ collection_name: name, ids: [1, 2, 3, 100, 555] }));
    ok(del, 'delete by keys');
    check(Number(del.delete_cnt) === 5, 'delete_cnt by keys', del.delete_cnt);
    const [delFilter, delFilterSingle] = await both(2, c => c.delete({ collection_name: name, filter: 'n >= 990' }));
    ok(delFilter, 'delete by filter');
    check(Number(delFilter.delete_cnt) === Number(delFilterSingle.delete_cnt), 'delete_cnt by filter equals the single node\'s', { cluster: delFilter.delete_cnt, single: delFilterSingle.delete_cnt });
    const changed = Array.from({ length: 20 }, (_, i) => ({ id: 10 + i * 25, tag: 'up', n: 5, price: 1.5, vector: vec() }));
    const [up] = await both(0, c => c.upsert({ collection_name: name, data: changed }));
    ok(up, 'upsert');
    await compare('after delete and upsert');
    const [stats, statsSingle] = await both(1, c => c.getCollectionStatistics({ collection_name: name }));
    ok(stats, 'getCollectionStatistics');
    check(stats.data.row_count === statsSingle.data.row_count, 'row_count equals the single node\'s', { cluster: stats.data, single: statsSingle.data });
  }

  // What a node refuses on a collection with several shards (docs/errors.md, cluster section). The SDK rejects some
  // refused calls with their status and answers others with it: both are the answer.
  const tooMany = await answer(nodes[1].createCollection({ collection_name: 'sharded_many', shards_num: 17, fields }));
  check(tooMany.code === 1100 && tooMany.reason.includes('limited to 16'), 'shards_num 17 is refused with code 1100', tooMany);

  // Aliases and databases are the cluster's catalog's: a call by alias works through every node, and every answer
  // (refusals included) is the single node's.
  const sameStatus = (a, b, what) => {
    const [x, y] = [statusOf(a), statusOf(b)];
    check(x.code === y.code && x.reason === y.reason, `${what}: the cluster's status differs from the single node's`, { cluster: x, single: y });
    return x;
  };
  const both2 = async (i, call) => [await answer(call(nodes[i % 3])), await answer(call(single))];
  ok((await both2(0, c => c.createAlias({ collection_name: 'sharded_l2', alias: 'catalog' })))[0], 'createAlias');
  const probe = vec();
  for (let i = 0; i < 3; i++) {
    const [a, s] = await both2(i, c => c.search({ collection_name: 'catalog', data: [probe], limit: 5, output_fields: ['tag'] }));
    ok(a, `search by alias through node ${i}`);
    sameRows(a.results, s.results, `search by alias through node ${i}`);
  }
  const [described, describedSingle] = await both2(1, c => c.describeAlias({ collection_name: 'sharded_l2', alias: 'catalog' }));
  ok(described, 'describeAlias');
  check(described.collection === 'sharded_l2' && describedSingle.collection === 'sharded_l2', 'describeAlias names the collection', described);
  const [listed] = await both2(2, c => c.listAliases({ collection_name: 'sharded_l2' }));
  check(listed.aliases.includes('catalog'), 'listAliases of the collection', listed);
  let [x, y] = await both2(1, c => c.createAlias({ collection_name: 'sharded_ip', alias: 'catalog' }));
  check(sameStatus(x, y, 'an alias taken by another collection').code !== 0, 'an alias taken by another collection is refused', x);
  [x, y] = await both2(2, c => c.createAlias({ collection_name: 'sharded_ip', alias: 'sharded_l2' }));
  check(sameStatus(x, y, 'an alias equal to a collection name').code !== 0, 'an alias equal to a collection name is refused', x);
  ok((await both2(0, c => c.alterAlias({ collection_name: 'sharded_ip', alias: 'catalog' })))[0], 'alterAlias');
  for (let i = 0; i < 3; i++) {
    const [a, s] = await both2(i, c => c.query({ collection_name: 'catalog', filter: 'id < 40', output_fields: ['n'] }));
    ok(a, `query by the moved alias through node ${i}`);
    sameRows(a.data, s.data, `query by the moved alias through node ${i}`);
  }
  ok((await both2(1, c => c.dropAlias({ alias: 'catalog' })))[0], 'dropAlias');
  [x, y] = await both2(2, c => c.describeAlias({ collection_name: 'sharded_l2', alias: 'catalog' }));
  check(sameStatus(x, y, 'describeAlias of a dropped alias').code !== 0, 'a dropped alias is not described', x);

  ok((await both2(0, c => c.createDatabase({ db_name: 'shop' })))[0], 'createDatabase');
  const [dbs, dbsSingle] = await both2(1, c => c.listDatabases());
  check(JSON.stringify(dbs.db_names) === JSON.stringify(dbsSingle.db_names), 'listDatabases equals the single node\'s', { cluster: dbs.db_names, single: dbsSingle.db_names });
  ok((await both2(2, c => c.createCollection({ db_name: 'shop', collection_name: 'items', fields, shards_num: 2, enable_dynamic_field: true })))[0], 'createCollection in database shop');
  nextId = 1;
  const shopRows = batch(120);
  ok((await both2(0, c => c.insert({ db_name: 'shop', collection_name: 'items', data: shopRows })))[0], 'insert in database shop');
  ok((await both2(1, c => c.createIndex({ db_name: 'shop', collection_name: 'items', field_name: 'vector', index_type: 'FLAT', metric_type: 'COSINE' })))[0], 'createIndex in database shop');
  ok((await both2(2, c => c.loadCollectionSync({ db_name: 'shop', collection_name: 'items' })))[0], 'load in database shop');
  for (let i = 0; i < 3; i++) {
    const [a, s] = await both2(i, c => c.search({ db_name: 'shop', collection_name: 'items', data: [probe], limit: 8, output_fields: ['tag', 'price'] }));
    ok(a, `search in database shop through node ${i}`);
    sameRows(a.results, s.results, `search in database shop through node ${i}`);
  }
  const [shopList] = await both2(1, c => c.listCollections({ db_name: 'shop' }));
  check(shopList.data.map(d => d.name).join() === 'items', 'listCollections of database shop', shopList.data);
  const [defaultList] = await both2(2, c => c.listCollections({ db_name: 'default' }));
  check(!defaultList.data.some(d => d.name === 'items'), 'the default database does not list shop\'s collection', defaultList.data);
  [x, y] = await both2(0, c => c.dropDatabase({ db_name: 'shop' }));
  check(sameStatus(x, y, 'dropDatabase of a database with collections').code !== 0, 'a database with collections is not dropped', x);
  [x, y] = await both2(1, c => c.createCollection({ db_name: 'nowhere', collection_name: 'items', fields, shards_num: 2 }));
  check(sameStatus(x, y, 'createCollection in a database that does not exist').code !== 0, 'no collection in a database that does not exist', x);
  const restCreate = async address => (await restAt(address, 'collections/create', { dbName: 'nowhere', collectionName: 'items', dimension: dim })).json;
  const [restMissing, restMissingSingle] = [await restCreate(addresses[2]), await restCreate(oracleAddress)];
  check(restMissing.code !== 0 && restMissing.code === restMissingSingle.code && restMissing.message === restMissingSingle.message,
    'a REST create in a database that does not exist is refused as the single node refuses it', { cluster: restMissing, single: restMissingSingle });
  ok((await both2(2, c => c.dropCollection({ db_name: 'shop', collection_name: 'items' })))[0], 'drop the collection of database shop');
  ok((await both2(0, c => c.dropDatabase({ db_name: 'shop' })))[0], 'dropDatabase');
  const [after] = await both2(1, c => c.listDatabases());
  check(JSON.stringify(after.db_names) === '["default"]', 'only the default database is left', after.db_names);

  for (const name of ['sharded_l2', 'sharded_ip']) {
    ok(await nodes[2].dropCollection({ collection_name: name }), `drop ${name}`);
    check((await nodes[0].hasCollection({ collection_name: name })).value === false, `${name} is gone`);
  }
  return { shards: 3, compared: ['L2', 'IP'] };
}
