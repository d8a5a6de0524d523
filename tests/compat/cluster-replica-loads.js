// Replicas on collections of several shards, LoadPartitions and REST loads with replicas, and racing loads, on a
// 3-node Quiver cluster (QUIVER_ADDRESSES: the nodes' host:port) through the official Milvus Node.js SDK and REST v2,
// with a standalone Quiver server holding the same rows as the oracle (QUIVER_ORACLE). Steps:
//  1. a collection of 3 shards loaded with replica_number 2: getReplicas reports 2 replicas of 3 shard replicas each, on
//     disjoint sets of nodes, the same from every node; searches and queries through every node (each replica in turn)
//     equal the standalone server's; a Strong read through another node sees each acknowledged insert; a load naming no
//     replica number keeps the 2 replicas; release leaves none;
//  2. loads of it racing through the 3 nodes at once (replica numbers 3, 2, 3; then 2, 2, 2): afterwards every node
//     reports the same replicas, as many as the count one of the loads asked for, on disjoint nodes, and reads are exact;
//  3. LoadPartitions with replica_number 2 on a one-shard collection: 2 replicas on distinct nodes; a partition search
//     equals the standalone's; another replica number is refused with Milvus's code 1100 and message; loading a further
//     partition with no number keeps the replicas, and a search right after it sees that partition's rows;
//  4. REST v2: a load keeps the replicas a gRPC load placed, a release closes them.
// Exits non-zero naming the first failure.
'use strict';
const { MilvusClient, DataType, check, ok, main, rng, sameRows, restAt } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const dim = 8;

async function rest(address, path, body) {
  const { http, json } = await restAt(address, path, body);
  check(http === 200, `REST ${path}: HTTP 200`, json);
  return json;
}

main('cluster-replica-loads', () => run().catch(e => {
  throw e instanceof Error ? e : new Error(JSON.stringify(e));
}));

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 180000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 180000 });
  const r = rng(2718);
  const vec = () => Array.from({ length: dim }, () => r() * 2 - 1);
  const fields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
    { name: 'n', data_type: DataType.Int64 },
    { name: 'vector', data_type: DataType.FloatVector, dim },
  ];
  let nextId = 1;
  const batch = count => Array.from({ length: count }, () => {
    const id = nextId++;
    return { id, n: id * 7 % 1000, vector: vec() };
  });
  const queries = Array.from({ length: 3 }, vec);
  const byId = rows => [...rows].sort((x, y) => Number(x.id) - Number(y.id));

  const replicasOf = async (i, name) => {
    const described = await nodes[i].describeCollection({ collection_name: name });
    ok(described, 'describeCollection');
    const res = await nodes[i].getReplicas({ collectionID: described.collectionID, collection_name: name, with_shard_nodes: true });
    ok(res, 'getReplicas');
    return res.replicas;
  };
  // Replicas on disjoint node sets, each with one shard replica per shard, the same from every node.
  const checkReplicas = async (name, shards, counts) => {
    const placed = await replicasOf(0, name);
    check(counts.includes(placed.length), `${name}: getReplicas reports one of ${JSON.stringify(counts)} replicas`, placed);
    const seen = new Set();
    placed.forEach(p => {
      check(p.shard_replicas.length === shards, `${name}: each replica has ${shards} shard replicas`, p);
      check(new Set(p.shard_replicas.map(s => s.dm_channel_name)).size === shards, `${name}: a replica's shard replicas are distinct shards`, p);
      p.shard_replicas.forEach(s => check(addresses.includes(s.leader_addr), `${name}: each shard replica is on a node`, s));
      p.node_ids.forEach(id => {
        check(!seen.has(id), `${name}: replicas are on disjoint sets of nodes`, placed);
        seen.add(id);
      });
    });
    for (const i of [1, 2]) {
      check(JSON.stringify(await replicasOf(i, name)) === JSON.stringify(placed), `${name}: node ${i} reports the same replicas`, placed);
    }
    return placed;
  };
  const compare = async (label, name, extra = {}) => {
    for (let k = 0; k < 6; k++) {
      const [a, s] = await Promise.all([
        nodes[k % 3].search({ collection_name: name, data: queries, limit: 10, output_fields: ['n'], consistency_level: 'Strong', ...extra }),
        single.search({ collection_name: name, data: queries, limit: 10, output_fields: ['n'], ...extra }),
      ]);
      ok(a, `${label}: search ${k}`);
      a.results.forEach((hits, q) => sameRows(hits, s.results[q], `${label}: search ${k} query ${q}`));
    }
    const [a, s] = await Promise.all([
      nodes[1].query({ collection_name: name, filter: 'n < 300', output_fields: ['n'], consistency_level: 'Strong', ...extra }),
      single.query({ collection_name: name, filter: 'n < 300', output_fields: ['n'], ...extra }),
    ]);
    ok(a, `${label}: query`);
    sameRows(byId(a.data), byId(s.data), `${label}: query`);
  };

  // 1. Three shards, two replicas.
  const sharded = 'sharded_replicas';
  ok(await nodes[0].createCollection({ collection_name: sharded, fields, shards_num: 3 }), 'create sharded');
  ok(await single.createCollection({ collection_name: sharded, fields }), 'create on the single node');
  for (let b = 0; b < 2; b++) {
    const data = batch(200);
    ok(await nodes[b].insert({ collection_name: sharded, data }), `insert ${b}`);
    ok(await single.insert({ collection_name: sharded, data }), `single insert ${b}`);
  }
  ok(await nodes[1].flushSync({ collection_names: [sharded] }), 'flush');
  {
    const data = batch(100);
    ok(await nodes[2].insert({ collection_name: sharded, data }), 'insert after the flush');
    ok(await single.insert({ collection_name: sharded, data }), 'single insert after the flush');
  }
  for (const c of [nodes[0], single]) {
    ok(await c.createIndex({ collection_name: sharded, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), 'createIndex');
  }
  ok(await single.loadCollectionSync({ collection_name: sharded }), 'single load');
  ok(await nodes[1].loadCollectionSync({ collection_name: sharded, replica_number: 2 }), 'load 3 shards with 2 replicas');
  const placed = await checkReplicas(sharded, 3, [2]);
  await compare('3 shards, 2 replicas', sharded);
  let strongSeen = 0;
  for (let k = 0; k < 3; k++) {
    const row = batch(1);
    ok(await nodes[k].insert({ collection_name: sharded, data: row }), 'insert one');
    ok(await single.insert({ collection_name: sharded, data: row }), 'single insert one');
    const strong = await nodes[(k + 1) % 3].query({ collection_name: sharded, filter: `id == ${row[0].id}`, output_fields: ['n'], consistency_level: 'Strong' });
    ok(strong, 'Strong query');
    check(strong.data.length === 1 && Number(strong.data[0].id) === row[0].id, `Strong read through another node sees acknowledged insert ${row[0].id}`, strong.data);
    strongSeen++;
  }
  await compare('3 shards, 2 replicas, after inserts', sharded);
  ok(await nodes[2].loadCollectionSync({ collection_name: sharded }), 'load naming no replica number');
  check((await replicasOf(0, sharded)).length === 2, 'a load naming no replica number keeps the 2 replicas');
  ok(await nodes[0].releaseCollection({ collection_name: sharded }), 'release');
  check((await replicasOf(1, sharded)).length === 0, 'no replica after release');

  // 2. Loads racing through the three nodes.
  const rounds = [];
  for (const asked of [[3, 2, 3], [2, 2, 2]]) {
    const answers = await Promise.all(asked.map((n, i) => nodes[i].loadCollectionSync({ collection_name: sharded, replica_number: n })));
    answers.forEach((a, i) => ok(a, `racing load ${i} (replica_number ${asked[i]})`));
    const now = await checkReplicas(sharded, 3, [...new Set(asked)]);
    await compare(`after racing loads ${JSON.stringify(asked)}`, sharded);
    rounds.push(now.map(p => p.node_ids));
    ok(await nodes[1].releaseCollection({ collection_name: sharded }), 'release after racing loads');
  }

  // 3. LoadPartitions with replicas on a one-shard collection.
  const parted = 'partition_replicas';
  for (const c of [nodes[0], single]) {
    ok(await c.createCollection({ collection_name: parted, fields }), 'create parted');
    ok(await c.createPartition({ collection_name: parted, partition_name: 'p1' }), 'create partition');
  }
  for (const partition of ['p1', '_default']) {
    const data = batch(150);
    ok(await nodes[1].insert({ collection_name: parted, partition_name: partition, data }), `insert into ${partition}`);
    ok(await single.insert({ collection_name: parted, partition_name: partition, data }), `single insert into ${partition}`);
  }
  for (const c of [nodes[2], single]) {
    ok(await c.createIndex({ collection_name: parted, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), 'createIndex parted');
  }
  ok(await nodes[0].loadPartitionsSync({ collection_name: parted, partition_names: ['p1'], replica_number: 2 }), 'loadPartitions with 2 replicas');
  ok(await single.loadPartitionsSync({ collection_name: parted, partition_names: ['p1'] }), 'single loadPartitions');
  await checkReplicas(parted, 1, [2]);
  await compare('partition p1 on 2 replicas', parted, { partition_names: ['p1'] });
  const refused = await nodes[2].loadPartitions({ collection_name: parted, partition_names: ['_default'], replica_number: 3 });
  check(refused.code === 1100 && refused.reason === "can't change the replica number for loaded partitions: invalid parameter[expected=2][actual=3]",
    'another replica number for loaded partitions is refused with code 1100', refused);
  check((await replicasOf(1, parted)).length === 2, 'the refused load left the 2 replicas');
  ok(await nodes[1].loadPartitionsSync({ collection_name: parted, partition_names: ['_default'] }), 'loadPartitions naming no replica number');
  ok(await single.loadPartitionsSync({ collection_name: parted, partition_names: ['_default'] }), 'single loadPartitions _default');
  check((await replicasOf(0, parted)).length === 2, 'a partition load naming no replica number keeps the 2 replicas');
  await compare('both partitions on 2 replicas', parted);

  // 4. REST v2 loads and releases.
  const restLoad = await rest(addresses[2], 'collections/load', { collectionName: parted });
  check(restLoad.code === 0, 'REST load', restLoad);
  check((await replicasOf(1, parted)).length === 2, 'a REST load keeps the replicas a gRPC load placed');
  await compare('after a REST load', parted);
  const restRelease = await rest(addresses[0], 'collections/release', { collectionName: parted });
  check(restRelease.code === 0, 'REST release', restRelease);
  check((await replicasOf(2, parted)).length === 0, 'a REST release closes the replicas');

  return { shards: placed.map(p => p.shard_replicas.map(s => s.leader_addr)), strongSeen, rounds };
}
