// Replicas and consistency levels on a 3-node Quiver cluster (QUIVER_ADDRESSES: the nodes' host:port; QUIVER_PIDS: their
// process ids in the same order), driven through the official Milvus Node.js SDK, with a standalone Quiver server holding
// the same rows as the oracle (QUIVER_ORACLE). Steps: more replicas than nodes refused with Milvus's code and message;
// loadCollection with replica_number 2 places two replicas on distinct nodes (getReplicas); searches and queries through
// every node equal the standalone server's; Strong reads through another node right after each acknowledged insert see
// it, Session reads through the same node see the caller's own insert, Eventually and Bounded reads never show a row
// that was not sent; SIGKILL of a replica's node during searches: every search answered and exact, then getReplicas
// shows both replicas again on distinct live nodes; release leaves no replica. Exits non-zero naming the first failure.
'use strict';
const { MilvusClient, DataType, check, ok, main, rng, sameRows } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const pids = (process.env.QUIVER_PIDS || '').split(',').filter(a => a.length > 0).map(Number);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const dim = 8;
const name = 'replicated';

/** Polls `probe` until it returns a truthy value; the deadline is only a safety net for a loaded machine. */
async function until(what, probe, seconds = 180) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last && last.done) return last;
    await new Promise(r => setTimeout(r, 250));
  }
  throw new Error(`${what} did not happen within ${seconds} s: ${JSON.stringify(last)}`);
}

main('cluster-replicas', () => run().catch(e => {
  throw e instanceof Error ? e : new Error(JSON.stringify(e));
}));

async function run() {
  check(addresses.length === 3 && pids.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES and QUIVER_PIDS name three nodes and QUIVER_ORACLE one server', { addresses, pids, oracleAddress });
  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 180000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 180000 });
  const r = rng(1731);
  const vec = () => Array.from({ length: dim }, () => r() * 2 - 1);
  const fields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
    { name: 'n', data_type: DataType.Int64 },
    { name: 'vector', data_type: DataType.FloatVector, dim },
  ];
  const both = async (i, call) => [await call(nodes[i % 3]), await call(single)];
  let nextId = 1;
  const sent = new Set();
  const batch = count => Array.from({ length: count }, () => {
    const id = nextId++;
    sent.add(id);
    return { id, n: id * 7 % 1000, vector: vec() };
  });

  // Bounded by default, as Milvus creates collections.
  ok((await both(0, c => c.createCollection({ collection_name: name, fields, consistency_level: 'Bounded' })))[0], 'createCollection');
  // Sealed rows in the object store (flushed) and growing rows only in the log: a replica serves both.
  for (let b = 0; b < 2; b++) {
    const data = batch(150);
    const [a] = await both(b, c => c.insert({ collection_name: name, data }));
    ok(a, `insert batch ${b}`);
  }
  ok(await nodes[1].flushSync({ collection_names: [name] }), 'flush');
  {
    const data = batch(100);
    ok((await both(2, c => c.insert({ collection_name: name, data })))[0], 'insert after the flush');
  }
  ok((await both(1, c => c.createIndex({ collection_name: name, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' })))[0], 'createIndex');

  // More replicas than nodes: Milvus's query coordinator refuses with code 304.
  const refused = await nodes[0].loadCollectionAsync({ collection_name: name, replica_number: 4 });
  check(refused.code === 304 && refused.reason === 'resource group node not enough[rg=__default_resource_group][currentNodeNum=3][expectedNodeNum=4]',
    'replica_number 4 on 3 nodes is refused with code 304', refused);

  ok(await nodes[1].loadCollectionSync({ collection_name: name, replica_number: 2 }), 'load with 2 replicas');
  ok(await single.loadCollectionSync({ collection_name: name }), 'load on the single node');
  const described = await nodes[2].describeCollection({ collection_name: name });
  ok(described, 'describeCollection');
  check(described.consistency_level === 'Bounded', 'the collection\'s default level is Bounded', described.consistency_level);
  const replicasOf = async i => {
    const res = await nodes[i].getReplicas({ collectionID: described.collectionID, collection_name: name, with_shard_nodes: true });
    ok(res, 'getReplicas');
    return res.replicas;
  };
  const placed = await replicasOf(0);
  check(placed.length === 2, 'getReplicas reports 2 replicas', placed);
  const nodeIds = placed.map(p => p.node_ids[0]);
  const leaders = placed.map(p => p.shard_replicas[0].leader_addr);
  check(new Set(nodeIds).size === 2 && new Set(leaders).size === 2, 'the 2 replicas are on distinct nodes', placed);
  check(leaders.every(a => addresses.includes(a)), 'each replica\'s shard leader is a node\'s Milvus endpoint', { leaders, addresses });
  check(new Set(placed.map(p => p.replicaID)).size === 2, 'replica ids are distinct', placed);
  placed.forEach(p => {
    check(p.collectionID === described.collectionID && p.shard_replicas.length === 1 && p.shard_replicas[0].node_ids[0] === p.node_ids[0] && p.shard_replicas[0].dm_channel_name.length > 0, 'replica info names the collection, its one shard and its node', p);
  });
  check(JSON.stringify(await replicasOf(2)) === JSON.stringify(placed), 'every node reports the same replicas');

  const queries = Array.from({ length: 4 }, vec);
  const compare = async (label, through) => {
    for (let k = 0; k < 4; k++) {
      const [a, s] = await Promise.all([
        nodes[through[k % through.length]].search({ collection_name: name, data: queries, limit: 10, output_fields: ['n'], consistency_level: 'Strong' }),
        single.search({ collection_name: name, data: queries, limit: 10, output_fields: ['n'] }),
      ]);
      ok(a, `${label}: search ${k}`);
      a.results.forEach((hits, q) => sameRows(hits, s.results[q], `${label}: search ${k} query ${q}`));
    }
    const [a, s] = await Promise.all([
      nodes[through[0]].query({ collection_name: name, filter: 'n < 200', output_fields: ['n'], consistency_level: 'Strong' }),
      single.query({ collection_name: name, filter: 'n < 200', output_fields: ['n'] }),
    ]);
    ok(a, `${label}: query`);
    const byId = rows => [...rows].sort((x, y) => Number(x.id) - Number(y.id));
    sameRows(byId(a.data), byId(s.data), `${label}: query`);
  };
  // Consecutive reads through one node go to the replicas in turn: each replica answers exactly.
  await compare('replicas', [0, 0, 1, 1, 2, 2]);

  // Strong through another node sees every acknowledged insert; Session through the same node sees the caller's own.
  let strongSeen = 0;
  let sessionSeen = 0;
  for (let k = 0; k < 12; k++) {
    const row = batch(1);
    const [a] = await both(k, c => c.insert({ collection_name: name, data: row }));
    ok(a, `insert ${row[0].id}`);
    const strong = await nodes[(k + 1) % 3].query({ collection_name: name, filter: `id == ${row[0].id}`, output_fields: ['n'], consistency_level: 'Strong' });
    ok(strong, 'Strong query');
    check(strong.data.length === 1 && Number(strong.data[0].id) === row[0].id, `Strong read through another node sees acknowledged insert ${row[0].id}`, strong.data);
    strongSeen++;
    // Its own insert for the Session read: after the Strong read above the replicas may have caught up anyway.
    const own = batch(1);
    ok((await both(k, c => c.insert({ collection_name: name, data: own })))[0], `insert ${own[0].id}`);
    const session = await nodes[k % 3].query({ collection_name: name, filter: `id == ${own[0].id}`, output_fields: ['n'], consistency_level: 'Session' });
    ok(session, 'Session query');
    check(session.data.length === 1 && Number(session.data[0].id) === own[0].id, `Session read through the writer's node sees its insert ${own[0].id}`, session.data);
    sessionSeen++;
  }
  // Eventually and Bounded (the collection's default, which the SDK sends) never show a row that was not sent, even
  // while inserts are in flight.
  let weakReads = 0;
  const writer = (async () => {
    for (let k = 0; k < 6; k++) {
      const data = batch(20);
      ok((await both(k, c => c.insert({ collection_name: name, data })))[0], 'insert in flight');
    }
  })();
  for (let k = 0; k < 12; k++) {
    const level = k % 2 ? 'Eventually' : undefined;
    const res = await nodes[k % 3].query({ collection_name: name, filter: 'id > 0', output_fields: ['n'], limit: 16384, ...(level ? { consistency_level: level } : {}) });
    ok(res, `${level || 'default (Bounded)'} query`);
    res.data.forEach(row => check(sent.has(Number(row.id)), `${level || 'Bounded'} read shows only rows that were sent`, row));
    weakReads++;
  }
  await writer;
  await compare('after the writes', [1, 2]);

  // SIGKILL of the node of replica 0 while searches run through the other two nodes: every search is answered exactly.
  const victimAddress = placed[0].shard_replicas[0].leader_addr;
  const victim = addresses.indexOf(victimAddress);
  const survivors = [0, 1, 2].filter(i => i !== victim);
  const expected = await single.search({ collection_name: name, data: queries, limit: 10, output_fields: ['n'] });
  let answered = 0;
  const searchers = survivors.map(i => (async () => {
    for (let k = 0; k < 8; k++) {
      const level = ['Strong', 'Eventually', 'Bounded', 'Session'][k % 4];
      const a = await nodes[i].search({ collection_name: name, data: queries, limit: 10, output_fields: ['n'], consistency_level: level });
      ok(a, `search ${k} (${level}) through node ${i} across the kill`);
      a.results.forEach((hits, q) => sameRows(hits, expected.results[q], `search ${k} (${level}) through node ${i} across the kill, query ${q}`));
      answered++;
      if (k === 1 && i === survivors[0]) process.kill(pids[victim], 'SIGKILL');
    }
  })());
  await Promise.all(searchers);

  // Then the killed node's replica is placed again on a live node, apart from the other one.
  const replaced = await until('replica re-placed on a live node', async () => {
    const now = await replicasOf(survivors[1]);
    const at = now.map(p => p.shard_replicas[0].leader_addr);
    return { done: now.length === 2 && new Set(at).size === 2 && !at.includes(victimAddress), at };
  });

  ok(await nodes[survivors[0]].releaseCollection({ collection_name: name }), 'release');
  check((await replicasOf(survivors[1])).length === 0, 'no replica after release');
  return { replicas: leaders, strongSeen, sessionSeen, weakReads, killed: victimAddress, answered, replaced: replaced.at };
}
