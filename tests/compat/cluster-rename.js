// RenameCollection on a 3-node Quiver cluster (QUIVER_ADDRESSES), through the official Milvus Node.js SDK and REST v2,
// every call also given to a standalone Quiver server (QUIVER_ORACLE), the single-node oracle:
// - gRPC: a collection of 3 shards (FLAT, L2) with rows, loaded, with an alias, read through node 1 first (so node 1
//   remembers the old name); refusals through node 0 (the target taken by another collection, the target an alias, a
//   missing source) with the single node's code and reason; then `renameCollection` through node 0. Through node 1:
//   has/describe of the old name (gone, refused in the single node's words) and of the new one (name, fields,
//   aliases), load state, count(*), searches equal to the single node's, by the new name and by the alias, a query
//   and a search on the old name refused as the single node refuses them, an insert on the new name and the count
//   after it through node 2, the alias described, then release and load of the new name through node 2 and node 1 and
//   the search again.
// - REST v2: another collection of 3 shards created, written and aliased over REST, queried through node 2 first; then
//   `collections/rename` refusals (target taken, missing source) and the rename through node 0, each with the single
//   node's HTTP status and body text; through node 2: has/describe of both names, count(*), search, an insert on the
//   new name, the alias described (status and body equal the single node's, the description's id and shard count
//   aside), and the rename seen over gRPC through node 1.
// Exits non-zero naming every failed part.
'use strict';
const { MilvusClient, DataType, check, ok, main, rng, sameRows, restComparer, describedAlike: restDescribedAlike, answer, statusOf } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const dim = 4;


main('cluster-rename', () => run().catch(e => { throw e instanceof Error ? e : new Error(JSON.stringify(e)); }));

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 180000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 180000 });
  const r = rng(1717);
  const vec = () => Array.from({ length: dim }, () => Math.round((r() * 2 - 1) * 1000) / 1000);
  let nextId = 0;
  const rows = count => Array.from({ length: count }, () => { const id = nextId++; return { id, n: id * 7 % 100, vector: vec() }; });

  const failures = [];
  const part = async (name, body) => {
    try {
      await body();
    } catch (e) {
      failures.push(`${name}: ${e instanceof Error ? e.message : JSON.stringify(e)}`);
    }
  };

  /** The same gRPC call on node `via` and on the single node; both answers. */
  const grpc = async (via, method, params) => [await answer(nodes[via][method](params)), await answer(single[method](params))];
  /** The same call on node `via` and the single node: both succeed. */
  const bothOk = async (via, method, params, what) => {
    const [a, s] = await grpc(via, method, params);
    ok(a, `${what} through node ${via}`);
    ok(s, `${what} on the single node`);
    return [a, s];
  };
  /** The same call refused by node `via` with the single node's code and reason. */
  const refusedAlike = async (via, method, params, what) => {
    const [a, s] = await grpc(via, method, params);
    const [sa, ss] = [statusOf(a), statusOf(s)];
    check(ss.code !== 0 && sa.code === ss.code && sa.reason === ss.reason, `${what} through node ${via} is refused as the single node refuses it`, { cluster: sa, single: ss });
  };
  const countAlike = async (via, collection, want, what) => {
    const [a, s] = await bothOk(via, 'query', { collection_name: collection, filter: '', output_fields: ['count(*)'] }, `${what}: count(*)`);
    const [ca, cs] = [Number(a.data[0]['count(*)']), Number(s.data[0]['count(*)'])];
    check(ca === want && cs === want, `${what}: count(*) through node ${via} is ${want}, as on the single node`, { cluster: ca, single: cs });
  };
  const searchesAlike = async (via, collection, what) => {
    for (const [k, params] of [{ limit: 7 }, { limit: 5, offset: 2, filter: 'n > 30', output_fields: ['n'] }].entries()) {
      const call = { collection_name: collection, data: [vec(), vec()], ...params };
      const [a, s] = await bothOk(via, 'search', call, `${what}: search ${k} on ${collection}`);
      check(a.results.length === 2, `${what}: search ${k} on ${collection} answers two queries`, a.results.length);
      a.results.forEach((hits, q) => sameRows(hits, s.results[q], `${what}: search ${k} on ${collection} through node ${via}, query ${q}`));
    }
  };
  const describedAlike = async (via, collection, what) => {
    const [a, s] = await bothOk(via, 'describeCollection', { collection_name: collection }, `${what}: describe ${collection}`);
    // The id is each engine's own counter and the shard count the cluster's: the rest must be equal.
    const view = d => ({
      name: d.collection_name,
      aliases: [...d.aliases].sort(),
      fields: d.schema.fields.map(f => ({ name: f.name, type: f.data_type, key: f.is_primary_key, params: f.type_params })),
    });
    check(JSON.stringify(view(a)) === JSON.stringify(view(s)) && view(a).name === collection, `${what}: ${collection} described through node ${via} as the single node describes it`, { cluster: view(a), single: view(s) });
  };
  const hasAlike = async (via, collection, want, what) => {
    const [a, s] = await bothOk(via, 'hasCollection', { collection_name: collection }, `${what}: has ${collection}`);
    check(a.value === want && s.value === want, `${what}: has ${collection} through node ${via} is ${want}, as on the single node`, { cluster: a.value, single: s.value });
  };

  const fields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'n', data_type: DataType.Int64 },
    { name: 'vector', data_type: DataType.FloatVector, dim },
  ];

  await part('gRPC rename', async () => {
    const [before, after, alias, taken] = ['rn_before', 'rn_after', 'rn_alias', 'rn_taken'];
    ok(await nodes[0].createCollection({ collection_name: before, fields, shards_num: 3 }), `create ${before} with 3 shards`);
    ok(await single.createCollection({ collection_name: before, fields }), `create ${before} on the single node`);
    await bothOk(0, 'createCollection', { collection_name: taken, fields }, `create ${taken}`);
    const first = rows(90);
    for (const c of [nodes[0], single]) {
      ok(await c.insert({ collection_name: before, data: first }), `insert into ${before}`);
      ok(await c.createIndex({ collection_name: before, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), `index ${before}`);
      ok(await c.loadCollectionSync({ collection_name: before }), `load ${before}`);
      ok(await c.createAlias({ collection_name: before, alias }), `alias ${alias}`);
    }
    // Node 1 reads the old name, so it remembers its entry.
    await searchesAlike(1, before, 'before the rename');
    await countAlike(1, before, 90, 'before the rename');

    await refusedAlike(0, 'renameCollection', { collection_name: before, new_collection_name: taken }, 'a rename onto another collection');
    await refusedAlike(0, 'renameCollection', { collection_name: before, new_collection_name: alias }, 'a rename onto an alias');
    await refusedAlike(0, 'renameCollection', { collection_name: 'rn_missing', new_collection_name: 'rn_nowhere' }, 'a rename of a missing collection');
    await hasAlike(1, before, true, 'after the refusals');

    await bothOk(0, 'renameCollection', { collection_name: before, new_collection_name: after }, `rename ${before} to ${after}`);

    await hasAlike(1, before, false, 'after the rename');
    await hasAlike(1, after, true, 'after the rename');
    await refusedAlike(1, 'describeCollection', { collection_name: before }, 'describe the old name');
    await describedAlike(1, after, 'after the rename');
    const [state, stateSingle] = await bothOk(1, 'getLoadState', { collection_name: after }, 'load state of the new name');
    check(state.state === stateSingle.state, 'the new name\'s load state through node 1 is the single node\'s', { cluster: state.state, single: stateSingle.state });
    await countAlike(1, after, 90, 'after the rename');
    await searchesAlike(1, after, 'after the rename');
    await searchesAlike(1, alias, 'after the rename, by the alias');
    await refusedAlike(1, 'query', { collection_name: before, filter: '', output_fields: ['count(*)'] }, 'a query on the old name');
    // Through node 1, whose SDK client (as the single node's) cached the old name's description when it searched it:
    // the SDK describes a collection before its first search and fails on its own when that is refused.
    await refusedAlike(1, 'search', { collection_name: before, data: [vec()], limit: 3 }, 'a search on the old name');

    await bothOk(1, 'insert', { collection_name: after, data: rows(30) }, `insert into ${after}`);
    await countAlike(2, after, 120, 'after an insert on the new name');
    const [described, describedSingle] = await bothOk(1, 'describeAlias', { alias, collection_name: after }, `describe ${alias}`);
    check(described.collection === after && describedSingle.collection === after, `${alias} names ${after} through node 1, as on the single node`, { cluster: described, single: describedSingle });

    await bothOk(2, 'releaseCollection', { collection_name: after }, `release ${after}`);
    await bothOk(1, 'loadCollectionSync', { collection_name: after }, `load ${after} again`);
    await searchesAlike(1, after, 'after a release and load');
    await countAlike(0, alias, 120, 'after a release and load, by the alias');
  });

  await part('REST rename', async () => {
    const [before, after, alias, taken] = ['rr_before', 'rr_after', 'rr_alias', 'rn_other'];
    /** Calls through node `via` and on the single server: the same HTTP status and body text. */
    const rest = [0, 1, 2].map(via => restComparer(oracleAddress, () => addresses[via]));
    const succeeds = (via, path, body, what) => rest[via].succeeds(path, body, what);
    const refused = (via, path, body, what) => rest[via].refused(path, body, what);
    const schema = {
      fields: [
        { fieldName: 'id', dataType: 'Int64', isPrimary: true },
        { fieldName: 'n', dataType: 'Int64' },
        { fieldName: 'vector', dataType: 'FloatVector', elementTypeParams: { dim } },
      ],
    };
    const indexParams = [{ fieldName: 'vector', indexName: 'vector', indexType: 'FLAT', metricType: 'L2' }];
    await succeeds(0, 'collections/create', { collectionName: before, schema, indexParams, params: { shardsNum: 3 } }, `create ${before} with 3 shards`);
    await succeeds(1, 'collections/create', { collectionName: taken, schema, indexParams }, `create ${taken}`);
    await succeeds(1, 'entities/insert', { collectionName: before, data: rows(50) }, `insert into ${before}`);
    await succeeds(0, 'aliases/create', { collectionName: before, aliasName: alias }, `alias ${alias}`);
    const counted = async (via, collection, want, what) => {
      const a = await succeeds(via, 'entities/query', { collectionName: collection, filter: '', outputFields: ['count(*)'], consistencyLevel: 'Strong' }, `${what}: count(*) of ${collection}`);
      check(Number(a.data[0]['count(*)']) === want, `${what}: count(*) of ${collection} through node ${via} is ${want}`, a.data);
    };
    // Node 2 reads the old name, so it remembers its entry.
    await counted(2, before, 50, 'before the rename');

    await refused(0, 'collections/rename', { collectionName: before, newCollectionName: taken }, 'a rename onto another collection');
    await refused(0, 'collections/rename', { collectionName: 'rr_missing', newCollectionName: 'rr_nowhere' }, 'a rename of a missing collection');
    await succeeds(0, 'collections/rename', { collectionName: before, newCollectionName: after }, `rename ${before} to ${after}`);

    await succeeds(2, 'collections/has', { collectionName: before }, 'has the old name');
    await succeeds(2, 'collections/has', { collectionName: after }, 'has the new name');
    await refused(2, 'collections/describe', { collectionName: before }, 'describe the old name');
    const described = await restDescribedAlike(addresses[2], oracleAddress, after, 'after the rename');
    check(described.data.shardsNum === 3 && described.data.collectionName === after, `describe ${after} through node 2: 3 shards, the new name`, described.data);
    await refused(2, 'entities/query', { collectionName: before, filter: '', outputFields: ['count(*)'] }, 'a query on the old name');
    await counted(2, after, 50, 'after the rename');
    await succeeds(2, 'entities/search', { collectionName: after, data: [vec(), vec()], annsField: 'vector', limit: 6, outputFields: ['n'] }, `search ${after}`);
    await succeeds(2, 'entities/search', { collectionName: alias, data: [vec()], annsField: 'vector', limit: 4, filter: 'n < 60' }, `search by ${alias}`);
    await succeeds(2, 'entities/insert', { collectionName: after, data: rows(25) }, `insert into ${after}`);
    await counted(1, alias, 75, 'after an insert on the new name');
    await succeeds(2, 'aliases/describe', { aliasName: alias }, `describe ${alias}`);
    await succeeds(2, 'collections/get_load_state', { collectionName: after }, `load state of ${after}`);
    // The REST rename seen over gRPC through another node.
    const has = await nodes[1].hasCollection({ collection_name: before });
    const hasNew = await nodes[1].hasCollection({ collection_name: after });
    check(has.value === false && hasNew.value === true, 'over gRPC through node 1: the old name gone, the new one present', { old: has.value, new: hasNew.value });
  });

  check(failures.length === 0, `${failures.length} of 2 parts failed`, failures);
  return { renamed: ['rn_before -> rn_after (gRPC)', 'rr_before -> rr_after (REST)'] };
}
