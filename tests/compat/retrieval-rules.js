// Partition-key isolation, ttl_field and the `*` output rule for a BM25 output field, through the official Node.js SDK
// (gRPC, and REST v2 through its HttpClient for isolated searches and the `*` rule)
// (tests/Quiver.Server.Tests/Compat/NodeSdkTests.RetrievalRules.cs). Isolation: a collection created with
// partitionkey.isolation serves a search whose filter pins the tenant with == (equal to a brute-force oracle over that
// tenant's rows) and refuses IN, OR and a filter without the key with Milvus's messages; changing the property while
// the vector field has an index is refused with 702 (as Milvus's proxy), allowed once the index is dropped, and a search
// without the key is served once isolation is off. ttl_field: refused when created with it and when altered to it,
// naming collection.ttl.seconds instead, over gRPC and REST v2 (a create param and alter_properties). `*`: a query or search with output_fields ['*'] returns every field but the
// BM25 function's output, and naming that field is refused as Milvus refuses it.
'use strict';
const { DataType, client, httpClient, check, ok, milvusError, main } = require('./common');
const { FunctionType } = require('@zilliz/milvus2-sdk-node');

function l2(a, b) { return a.reduce((s, x, i) => s + (x - b[i]) * (x - b[i]), 0); }

async function drop(c, name) {
  if ((await c.hasCollection({ collection_name: name })).value) await c.dropCollection({ collection_name: name });
}

main('retrieval-rules', async () => {
  const c = client();
  const steps = [];

  // ---- partitionkey.isolation ----
  const iso = `compat_iso_${process.pid}`;
  await drop(c, iso);
  ok(await c.createCollection({
    collection_name: iso,
    num_partitions: 4,
    properties: { 'partitionkey.isolation': 'true' },
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
      { name: 'tenant', data_type: DataType.VarChar, max_length: 16, is_partition_key: true },
      { name: 'n', data_type: DataType.Int64 },
      { name: 'v', data_type: DataType.FloatVector, dim: 3 },
    ],
  }), 'create an isolated partition-key collection');
  const props = (await c.describeCollection({ collection_name: iso })).properties;
  check(props.some(p => p.key === 'partitionkey.isolation' && p.value === 'true'), 'isolation described', props);
  const rows = [];
  for (let i = 0; i < 150; i++) {
    rows.push({ id: i, tenant: `t${i % 5}`, n: i, v: [Math.sin(i), Math.cos(i * 0.3), (i % 11) / 11] });
  }
  ok(await c.insert({ collection_name: iso, data: rows }), 'insert');
  ok(await c.createIndex({ collection_name: iso, field_name: 'v', index_type: 'FLAT', metric_type: 'L2' }), 'index');
  ok(await c.loadCollectionSync({ collection_name: iso }), 'load');

  const q = [0.1, 0.7, 0.4];
  const oracle = (keep) => rows.filter(keep).sort((a, b) => l2(a.v, q) - l2(b.v, q) || a.id - b.id).slice(0, 10).map(r => r.id);
  const pinned = await c.search({ collection_name: iso, data: [q], filter: 'tenant == "t2" and n > 20', limit: 10 });
  ok(pinned, 'search pinned to one tenant');
  check(JSON.stringify(pinned.results.map(h => Number(h.id))) === JSON.stringify(oracle(r => r.tenant === 't2' && r.n > 20)), 'pinned search equals the brute-force oracle', pinned.results);
  const refusals = [
    ['tenant in ["t1", "t2"]', /partition key isolation does not support IN/],
    ['tenant == "t1" or n > 2', /partition key isolation does not support OR/],
    ['n > 2', /partition key not found in expr/],
  ];
  for (const [filter, reason] of refusals) {
    const e = milvusError(await c.search({ collection_name: iso, data: [q], filter, limit: 3 }), `search '${filter}'`);
    check(e.code === 1100 && reason.test(e.reason), `'${filter}' refused with 1100 and Milvus's message`, e);
  }
  // The same through REST v2.
  const h = httpClient();
  const restPinned = await h.search({ collectionName: iso, data: [q], filter: 'tenant == "t2" and n > 20', limit: 10 });
  check(restPinned.code === 0 && JSON.stringify(restPinned.data.map(x => Number(x.id))) === JSON.stringify(oracle(r => r.tenant === 't2' && r.n > 20)), 'REST pinned search equals the brute-force oracle', restPinned);
  for (const [filter, reason] of refusals) {
    const e = await h.search({ collectionName: iso, data: [q], filter, limit: 3 });
    check(e.code === 1100 && reason.test(e.message), `REST '${filter}' refused with 1100 and Milvus's message`, e);
  }
  const unpinned = await c.query({ collection_name: iso, filter: 'n < 3', output_fields: ['id'] });
  ok(unpinned, 'a query is not held to isolation');
  check(unpinned.data.length === 3, 'query rows', unpinned.data);
  steps.push('isolated searches');

  // Changing the property while the vector field has an index: refused (702); the same value is no change.
  ok(await c.alterCollectionProperties({ collection_name: iso, properties: { 'partitionkey.isolation': 'true' } }), 'set the value it has');
  const changed = milvusError(await c.alterCollectionProperties({ collection_name: iso, properties: { 'partitionkey.isolation': 'false' } }), 'turn isolation off with an index');
  check(changed.code === 702 && /can not alter partition key isolation mode if the collection already has a vector index\. Please drop the index first/.test(changed.reason) && /index duplicates\[indexName=v\]/.test(changed.reason),
    'changing isolation with an index refused as Milvus', changed);
  const dropped = milvusError(await c.dropCollectionProperties({ collection_name: iso, properties: ['partitionkey.isolation'] }), 'drop the isolation property with an index');
  check(dropped.code === 702, 'dropping the property with an index refused', dropped);
  ok(await c.releaseCollection({ collection_name: iso }), 'release');
  ok(await c.dropIndex({ collection_name: iso, field_name: 'v' }), 'drop index');
  ok(await c.alterCollectionProperties({ collection_name: iso, properties: { 'partitionkey.isolation': 'false' } }), 'turn isolation off without an index');
  ok(await c.createIndex({ collection_name: iso, field_name: 'v', index_type: 'FLAT', metric_type: 'L2' }), 'index again');
  ok(await c.loadCollectionSync({ collection_name: iso }), 'load again');
  const free = await c.search({ collection_name: iso, data: [q], filter: 'tenant in ["t1", "t2"]', limit: 10 });
  ok(free, 'IN is served without isolation');
  check(JSON.stringify(free.results.map(h => Number(h.id))) === JSON.stringify(oracle(r => r.tenant === 't1' || r.tenant === 't2')), 'unisolated search equals the oracle', free.results);
  ok(await c.dropCollection({ collection_name: iso }), 'drop isolated');
  steps.push('isolation changes');

  // ---- ttl_field ----
  const ttl = `compat_ttlfield_${process.pid}`;
  await drop(c, ttl);
  const ttlFields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
    { name: 'expires_at', data_type: DataType.Timestamptz, nullable: true },
    { name: 'v', data_type: DataType.FloatVector, dim: 2 },
  ];
  // createCollection rejects with the error status (the SDK checks the answer itself); other calls resolve with it.
  const createdWith = milvusError(await c.createCollection({ collection_name: ttl, fields: ttlFields, properties: { ttl_field: 'expires_at' } }).catch(e => e), 'create with ttl_field');
  check(createdWith.code === 1100 && /^ttl_field \(entity-level TTL\) is not supported/.test(createdWith.reason) && /collection\.ttl\.seconds/.test(createdWith.reason), 'ttl_field refused at create, naming the alternative', createdWith);
  check(!(await c.hasCollection({ collection_name: ttl })).value, 'nothing created');
  ok(await c.createCollection({ collection_name: ttl, fields: ttlFields }), 'create without ttl_field');
  const altered = milvusError(await c.alterCollectionProperties({ collection_name: ttl, properties: { ttl_field: 'expires_at' } }), 'alter to ttl_field');
  check(altered.code === 1100 && /^ttl_field \(entity-level TTL\) is not supported/.test(altered.reason), 'ttl_field refused at alter', altered);
  const ttlProps = (await c.describeCollection({ collection_name: ttl })).properties;
  check(!ttlProps.some(p => p.key === 'ttl_field'), 'ttl_field not stored', ttlProps);
  ok(await c.dropCollection({ collection_name: ttl }), 'drop ttl');
  steps.push('ttl_field');

  // The same through REST v2 (the SDK's HttpClient): as a create param (which Milvus v2.6.0's REST server would drop
  // silently) and through alter_properties; nothing created or stored either way.
  const restTtl = `compat_ttlrest_${process.pid}`;
  await drop(c, restTtl);
  const restSchema = {
    fields: [
      { fieldName: 'id', dataType: 'Int64', isPrimary: true },
      { fieldName: 'expires_at', dataType: 'Timestamptz', nullable: true },
      { fieldName: 'v', dataType: 'FloatVector', elementTypeParams: { dim: 2 } },
    ],
  };
  const restCreated = await h.createCollection({ collectionName: restTtl, schema: restSchema, params: { ttl_field: 'expires_at' } });
  check(restCreated.code === 1100 && /^ttl_field \(entity-level TTL\) is not supported/.test(restCreated.message) && /collection\.ttl\.seconds/.test(restCreated.message), 'REST create with params.ttl_field refused, naming the alternative', restCreated);
  const restHas = await h.hasCollection({ collectionName: restTtl });
  check(restHas.code === 0 && restHas.data.has === false, 'REST: nothing created', restHas);
  const restPlain = await h.createCollection({ collectionName: restTtl, schema: restSchema, params: { ttlSeconds: 3600 } });
  check(restPlain.code === 0, 'REST create without ttl_field', restPlain);
  const restAltered = await h.alterCollectionProperties({ collectionName: restTtl, properties: { ttl_field: 'expires_at' } });
  check(restAltered.code === 1100 && /^ttl_field \(entity-level TTL\) is not supported/.test(restAltered.message), 'REST alter_properties to ttl_field refused', restAltered);
  const restMixed = await h.alterCollectionProperties({ collectionName: restTtl, properties: { 'collection.ttl.seconds': '60', ttl_field: 'expires_at' } });
  check(restMixed.code === 1100, 'REST alter_properties with ttl_field beside a valid property refused', restMixed);
  const restDescribed = await h.describeCollection({ collectionName: restTtl });
  check(restDescribed.code === 0 && !restDescribed.data.properties.some(p => p.key === 'ttl_field'), 'REST: ttl_field not stored', restDescribed);
  check(restDescribed.data.properties.some(p => p.key === 'collection.ttl.seconds' && p.value === '3600'), 'REST: the refused alter changed nothing (ttl still 3600)', restDescribed.data.properties);
  ok(await c.dropCollection({ collection_name: restTtl }), 'drop REST ttl');
  steps.push('ttl_field over REST');

  // ---- `*` and a BM25 output field ----
  const text = `compat_star_${process.pid}`;
  await drop(c, text);
  ok(await c.createCollection({
    collection_name: text,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
      { name: 'body', data_type: DataType.VarChar, max_length: 200, enable_analyzer: true },
      { name: 'sparse', data_type: DataType.SparseFloatVector },
      { name: 'dense', data_type: DataType.FloatVector, dim: 2 },
      { name: 'year', data_type: DataType.Int64, nullable: true },
    ],
    functions: [{ name: 'body_bm25', type: FunctionType.BM25, input_field_names: ['body'], output_field_names: ['sparse'], params: {} }],
  }), 'create with a BM25 function');
  const docs = ['red fox jumps', 'lazy brown dog', 'quick red car', 'a fox and a dog'];
  ok(await c.insert({ collection_name: text, data: docs.map((body, id) => ({ id, body, dense: [Math.cos(id), Math.sin(id)], year: id === 1 ? null : 2000 + id })) }), 'insert text');
  ok(await c.createIndex({ collection_name: text, field_name: 'sparse', index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'BM25' }), 'index sparse');
  ok(await c.createIndex({ collection_name: text, field_name: 'dense', index_type: 'FLAT', metric_type: 'L2' }), 'index dense');
  ok(await c.loadCollectionSync({ collection_name: text }), 'load text');
  const expected = JSON.stringify(['body', 'dense', 'id', 'year']);
  const star = await c.query({ collection_name: text, filter: 'id >= 0', output_fields: ['*'] });
  ok(star, 'query *');
  check(star.data.length === 4 && star.data.every(r => JSON.stringify(Object.keys(r).sort()) === expected), 'query * returns every field but the BM25 output', star.data);
  check(star.data.find(r => Number(r.id) === 1).year === null && star.data.find(r => Number(r.id) === 2).body === 'quick red car', 'query * values', star.data);
  const starSearch = await c.search({ collection_name: text, data: ['red fox'], anns_field: 'sparse', limit: 4, output_fields: ['*'] });
  ok(starSearch, 'text search with *');
  check(starSearch.results.length > 0 && starSearch.results.every(h => !('sparse' in h) && 'body' in h && 'dense' in h && 'year' in h), 'search * leaves the BM25 output out', starSearch.results);
  const dense = await c.search({ collection_name: text, data: [[1, 0]], anns_field: 'dense', limit: 2, output_fields: ['*'] });
  ok(dense, 'dense search with *');
  check(dense.results.every(h => !('sparse' in h) && 'body' in h), 'dense search * leaves the BM25 output out', dense.results);
  for (const [what, call] of [
    ['query naming it', () => c.query({ collection_name: text, filter: 'id >= 0', output_fields: ['body', 'sparse'] })],
    ['query with * and it', () => c.query({ collection_name: text, filter: 'id >= 0', output_fields: ['*', 'sparse'] })],
    ['search naming it', () => c.search({ collection_name: text, data: [[1, 0]], anns_field: 'dense', limit: 2, output_fields: ['sparse'] })],
  ]) {
    const e = milvusError(await call(), what);
    check(e.code === 1100 && /not allowed to retrieve raw data of field sparse/.test(e.reason), `${what}: refused as Milvus`, e);
  }
  // The same rule through REST v2.
  const restStar = await h.query({ collectionName: text, filter: 'id >= 0', outputFields: ['*'] });
  check(restStar.code === 0 && restStar.data.length === 4 && restStar.data.every(r => JSON.stringify(Object.keys(r).sort()) === expected), 'REST query * returns every field but the BM25 output', restStar);
  const restStarSearch = await h.search({ collectionName: text, annsField: 'dense', data: [[1, 0]], limit: 2, outputFields: ['*'] });
  check(restStarSearch.code === 0 && restStarSearch.data.length === 2 && restStarSearch.data.every(x => !('sparse' in x) && 'body' in x && 'year' in x), 'REST search * leaves the BM25 output out', restStarSearch);
  const restNamed = await h.query({ collectionName: text, filter: 'id >= 0', outputFields: ['body', 'sparse'] });
  check(restNamed.code === 1100 && /not allowed to retrieve raw data of field sparse/.test(restNamed.message), 'REST query naming it: refused as Milvus', restNamed);
  ok(await c.dropCollection({ collection_name: text }), 'drop text');
  steps.push('star rule');

  await c.closeConnection();
  return steps;
});
