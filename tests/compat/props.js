// Collection TTL, partition keys and AlterIndex through the official Node.js SDK (tests/Quiver.Server.Tests/Compat,
// NodeSdkTests.Props.cs). Partition keys: the SDK's is_partition_key and num_partitions create the hidden partitions,
// rows are read back and searched equal to a brute-force oracle under filters that pin the key, and the partition APIs
// are refused with Milvus's messages. TTL: collection.ttl.seconds altered down to 1 s (over REST v2) makes the rows
// disappear from count, query, get and search over gRPC and REST (polled until they do, at most 60 s: a server in
// another process has no clock the test
// can move; the engine's TtlTests move an injected clock instead). AlterIndex: mmap.enabled set, described, dropped
// (over gRPC, then over REST v2);
// a build parameter refused.
'use strict';
const { DataType, client, httpClient, check, ok, milvusError, main, freshCollection } = require('./common');

function l2(a, b) { return a.reduce((s, x, i) => s + (x - b[i]) * (x - b[i]), 0); }

main('props', async () => {
  const c = client();
  const steps = [];

  // ---- partition keys ----
  const keyed = `compat_pkey_${process.pid}`;
  if ((await c.hasCollection({ collection_name: keyed })).value) await c.dropCollection({ collection_name: keyed });
  ok(await c.createCollection({
    collection_name: keyed,
    num_partitions: 8,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
      { name: 'tenant', data_type: DataType.VarChar, max_length: 16, is_partition_key: true },
      { name: 'v', data_type: DataType.FloatVector, dim: 3 },
    ],
  }), 'create partition-key collection');
  const described = await c.describeCollection({ collection_name: keyed });
  ok(described, 'describe');
  check(described.schema.fields.find(f => f.name === 'tenant').is_partition_key === true, 'tenant described as the partition key', described.schema.fields);
  check(Number(described.num_partitions) === 8, 'num_partitions 8', described.num_partitions);
  const partitions = await c.listPartitions({ collection_name: keyed });
  check(JSON.stringify(partitions.data.map(p => p.name)) === JSON.stringify([0, 1, 2, 3, 4, 5, 6, 7].map(i => `_default_${i}`)), 'the 8 hidden partitions', partitions.data);

  const rows = [];
  for (let i = 0; i < 200; i++) {
    rows.push({ id: i, tenant: `t${(i * 7) % 20}`, v: [Math.sin(i), Math.cos(i * 0.5), (i % 13) / 13] });
  }
  ok(await c.insert({ collection_name: keyed, data: rows }), 'insert');
  ok(await c.createIndex({ collection_name: keyed, field_name: 'v', index_type: 'FLAT', metric_type: 'L2' }), 'index');
  ok(await c.loadCollectionSync({ collection_name: keyed }), 'load');

  const pinned = await c.query({ collection_name: keyed, filter: 'tenant == "t3"', output_fields: ['tenant'] });
  ok(pinned, 'query pinned to one tenant');
  const expect3 = rows.filter(r => r.tenant === 't3').map(r => r.id).sort((a, b) => a - b);
  check(JSON.stringify(pinned.data.map(r => Number(r.id)).sort((a, b) => a - b)) === JSON.stringify(expect3), 'query rows of t3', pinned.data);
  const q = [0.2, 0.4, 0.6];
  const found = await c.search({ collection_name: keyed, data: [q], filter: 'tenant in ["t1", "t2"]', limit: 100, output_fields: ['tenant'] });
  ok(found, 'search pinned to two tenants');
  const oracle = rows.filter(r => r.tenant === 't1' || r.tenant === 't2').sort((a, b) => l2(a.v, q) - l2(b.v, q)).map(r => r.id);
  check(JSON.stringify(found.results.map(h => Number(h.id))) === JSON.stringify(oracle), 'search equals the brute-force oracle', found.results);
  steps.push('partition-key reads');

  const named = milvusError(await c.insert({ collection_name: keyed, partition_name: '_default_1', data: [rows[0]] }), 'insert naming a partition');
  check(named.code === 1100 && /partition key mode/.test(named.reason), 'partition names refused with 1100', named);
  const created = milvusError(await c.createPartition({ collection_name: keyed, partition_name: 'p1' }), 'create partition');
  check(created.code === 1100 && /disable create partition/.test(created.reason), 'create partition refused', created);
  const dropped = milvusError(await c.dropPartition({ collection_name: keyed, partition_name: '_default_1' }), 'drop partition');
  check(dropped.code === 1100 && /disable drop partition/.test(dropped.reason), 'drop partition refused', dropped);
  const loaded = milvusError(await c.loadPartitions({ collection_name: keyed, partition_names: ['_default_1'] }), 'load partitions');
  check(loaded.code === 1100 && /disable load partitions/.test(loaded.reason), 'load partitions refused', loaded);
  steps.push('partition-key refusals');

  // ---- AlterIndex ----
  const indexName = (await c.describeIndex({ collection_name: keyed, field_name: 'v' })).index_descriptions[0].index_name;
  ok(await c.alterIndexProperties({ collection_name: keyed, index_name: indexName, params: { 'mmap.enabled': true } }), 'alter mmap.enabled');
  let index = (await c.describeIndex({ collection_name: keyed, index_name: indexName })).index_descriptions[0];
  check(index.params.some(p => p.key === 'mmap.enabled' && p.value === 'true'), 'mmap.enabled described', index.params);
  const build = milvusError(await c.alterIndexProperties({ collection_name: keyed, index_name: indexName, params: { nlist: 32 } }), 'alter a build parameter');
  check(build.code === 1100 && /nlist is not a configable index proptery/.test(build.reason), 'build parameter refused', build);
  ok(await c.dropIndexProperties({ collection_name: keyed, index_name: indexName, properties: ['mmap.enabled'] }), 'drop mmap.enabled');
  index = (await c.describeIndex({ collection_name: keyed, index_name: indexName })).index_descriptions[0];
  check(!index.params.some(p => p.key === 'mmap.enabled'), 'mmap.enabled gone', index.params);
  // The same over REST v2 (indexes/alter_properties, indexes/drop_properties through the SDK's HttpClient), read back
  // through gRPC's describe (REST's describe lists no index properties, as Milvus's).
  const http = httpClient();
  const restAlter = await http.alterIndexProperties({ collectionName: keyed, indexName, properties: { 'mmap.enabled': true } });
  check(restAlter.code === 0, 'REST alter mmap.enabled', restAlter);
  index = (await c.describeIndex({ collection_name: keyed, index_name: indexName })).index_descriptions[0];
  check(index.params.some(p => p.key === 'mmap.enabled' && p.value === 'true'), 'REST mmap.enabled described', index.params);
  const restBuild = await http.alterIndexProperties({ collectionName: keyed, indexName, properties: { nlist: 32 } });
  check(restBuild.code === 1100 && /nlist is not a configable index proptery/.test(restBuild.message), 'REST build parameter refused', restBuild);
  const restDrop = await http.dropIndexProperties({ collectionName: keyed, indexName, propertyKeys: ['mmap.enabled'] });
  check(restDrop.code === 0, 'REST drop mmap.enabled', restDrop);
  index = (await c.describeIndex({ collection_name: keyed, index_name: indexName })).index_descriptions[0];
  check(!index.params.some(p => p.key === 'mmap.enabled'), 'REST mmap.enabled gone', index.params);
  steps.push('alter index');
  ok(await c.dropCollection({ collection_name: keyed }), 'drop');

  // ---- TTL ----
  const ttl = `compat_ttl_${process.pid}`;
  await freshCollection(c, ttl, [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
    { name: 'v', data_type: DataType.FloatVector, dim: 2 },
  ]);
  ok(await c.createIndex({ collection_name: ttl, field_name: 'v', index_type: 'FLAT', metric_type: 'L2' }), 'ttl index');
  ok(await c.loadCollectionSync({ collection_name: ttl }), 'ttl load');
  ok(await c.alterCollectionProperties({ collection_name: ttl, properties: { 'collection.ttl.seconds': 3600 } }), 'ttl 3600');
  ok(await c.insert({ collection_name: ttl, data: [1, 2, 3, 4, 5].map(id => ({ id, v: [id, 1] })) }), 'ttl insert');
  const count = async () => Number((await c.query({ collection_name: ttl, filter: '', output_fields: ['count(*)'] })).data[0]['count(*)']);
  check(await count() === 5, 'five rows within the TTL');

  const bad = milvusError(await c.alterCollectionProperties({ collection_name: ttl, properties: { 'collection.ttl.seconds': 'a day' } }), 'ttl not an integer');
  check(bad.code === 1100 && /not a valid positive integer/.test(bad.reason), 'bad TTL refused with 1100', bad);

  // Lowered to 1 s through REST v2 (collections/alter_properties), as the SDK's HttpClient sends it.
  const h = httpClient();
  const lowered = await h.alterCollectionProperties({ collectionName: ttl, properties: { 'collection.ttl.seconds': 1 } });
  check(lowered.code === 0, 'REST alter_properties ttl 1', lowered);
  const props = (await c.describeCollection({ collection_name: ttl })).properties;
  check(props.some(p => p.key === 'collection.ttl.seconds' && p.value === '1'), 'ttl described', props);
  const deadline = Date.now() + 60000;
  while (await count() !== 0) {
    check(Date.now() < deadline, 'rows expired within 60 s of a 1 s TTL');
    await new Promise(r => setTimeout(r, 200));
  }
  const got = await c.get({ collection_name: ttl, ids: [1, 2, 3], output_fields: ['id'] });
  ok(got, 'get expired');
  check(got.data.length === 0, 'get returns no expired row', got.data);
  const searched = await c.search({ collection_name: ttl, data: [[1, 1]], limit: 5 });
  ok(searched, 'search expired');
  check(searched.results.length === 0, 'search returns no expired row', searched.results);
  const restCount = await h.query({ collectionName: ttl, filter: '', outputFields: ['count(*)'] });
  check(restCount.code === 0 && Number(restCount.data[0]['count(*)']) === 0, 'REST count of expired rows is 0', restCount);
  const restGet = await h.get({ collectionName: ttl, id: [1, 2, 3], outputFields: ['id'] });
  check(restGet.code === 0 && restGet.data.length === 0, 'REST get returns no expired row', restGet);
  const restSearch = await h.search({ collectionName: ttl, data: [[1, 1]], limit: 5 });
  check(restSearch.code === 0 && restSearch.data.length === 0, 'REST search returns no expired row', restSearch);
  steps.push('ttl expiry');

  ok(await c.dropCollectionProperties({ collection_name: ttl, properties: ['collection.ttl.seconds'] }), 'drop ttl');
  ok(await c.upsert({ collection_name: ttl, data: [{ id: 9, v: [9, 1] }] }), 'insert without TTL');
  check((await c.get({ collection_name: ttl, ids: [9], output_fields: ['id'] })).data.length === 1, 'a row written without a TTL stays');
  steps.push('ttl dropped');
  ok(await c.dropCollection({ collection_name: ttl }), 'drop ttl collection');
  c.closeConnection();
  return steps;
});
