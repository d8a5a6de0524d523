// Milvus's REST v2 on collections with several shards (shardsNum 3) on a 3-node Quiver cluster (QUIVER_ADDRESSES: the
// nodes' host:port), every call also sent to a standalone Quiver server (QUIVER_ORACLE: its host:port), the single-node
// oracle, and every answer compared: create with shardsNum, describe, insert and upsert (keys in row order, an Int64
// and a VarChar key), search (windows, filters, several queries, IP and L2), hybrid_search (RRF and weighted), query
// (windows, count(*)), get, delete by id and by filter, partitions, statistics, load state, index descriptions, a
// batch refused whole for one bad row, flush, release, load and drop. Each call goes through another node. Exits
// non-zero naming the first difference.
'use strict';
const { check, sameRows, rng, main, restAt } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const dim = 8;

main('cluster-shards-rest', () => run().catch(e => { throw e instanceof Error ? e : new Error(JSON.stringify(e)); }));

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  let turn = 0;
  /** The call through the next node and on the single server; both answered HTTP 200 with the same code. */
  const both = async (path, body, what) => {
    const a = await restAt(addresses[turn++ % 3], path, body);
    const s = await restAt(oracleAddress, path, body);
    check(a.http === s.http && a.json.code === s.json.code, `${what}: status and code equal the single node's`, { cluster: a, single: s });
    return [a.json, s.json];
  };
  const succeeded = (a, what) => check(a.code === 0, `${what} succeeded`, a);
  const sameData = (a, s, what) => check(JSON.stringify(a.data) === JSON.stringify(s.data), `${what}: data equals the single node's`, { cluster: a.data, single: s.data });
  const r = rng(2828);
  const vec = () => Array.from({ length: dim }, () => Math.round((r() * 2 - 1) * 1000) / 1000);

  for (const [name, keyType, metric] of [['rest_l2', 'Int64', 'L2'], ['rest_ip', 'VarChar', 'IP']]) {
    const key = i => (keyType === 'Int64' ? i : `k${String(i).padStart(5, '0')}`);
    const schema = {
      enableDynamicField: true,
      fields: [
        { fieldName: 'id', dataType: keyType, isPrimary: true, ...(keyType === 'VarChar' ? { elementTypeParams: { max_length: 16 } } : {}) },
        { fieldName: 'tag', dataType: 'VarChar', elementTypeParams: { max_length: 32 } },
        { fieldName: 'n', dataType: 'Int64' },
        { fieldName: 'price', dataType: 'Double', nullable: true },
        { fieldName: 'vector', dataType: 'FloatVector', elementTypeParams: { dim } },
        { fieldName: 'vector2', dataType: 'FloatVector', elementTypeParams: { dim } },
      ],
    };
    const indexParams = [
      { fieldName: 'vector', indexName: 'vector', indexType: 'FLAT', metricType: metric },
      { fieldName: 'vector2', indexName: 'vector2', indexType: 'FLAT', metricType: 'L2' },
    ];
    const [created] = await both('collections/create', { collectionName: name, schema, indexParams, params: { shardsNum: 3 } }, `create ${name}`);
    succeeded(created, `create ${name} with 3 shards`);
    const [described, describedSingle] = await both('collections/describe', { collectionName: name }, 'describe');
    check(described.data.shardsNum === 3, 'describe reports 3 shards', described.data);
    check(JSON.stringify(described.data.fields) === JSON.stringify(describedSingle.data.fields), 'describe lists the single node\'s fields', { cluster: described.data.fields, single: describedSingle.data.fields });

    let nextId = 1;
    const batch = count => Array.from({ length: count }, () => {
      const id = nextId++;
      return { id: key(id), tag: `t${id % 7}`, n: id * 3 % 1000, price: id % 5 === 0 ? null : id / 4, vector: vec(), vector2: vec(), color: id % 2 ? 'red' : 'blue' };
    });
    for (let b = 0; b < 3; b++) {
      const [a, s] = await both('entities/insert', { collectionName: name, data: batch(150) }, `insert batch ${b}`);
      succeeded(a, `insert batch ${b}`);
      sameData(a, s, `insert batch ${b} (count and keys in the rows' order)`);
    }
    const [bad, badSingle] = await both('entities/insert', { collectionName: name, data: [...batch(3), { id: key(9000), tag: 't', n: 'not a number', price: 1, vector: vec(), vector2: vec() }] }, 'an insert with one bad row');
    check(bad.code !== 0 && bad.message === badSingle.message, 'a bad row refuses the batch in the single node\'s words', { cluster: bad, single: badSingle });
    nextId -= 3;

    const [state, stateSingle] = await both('collections/get_load_state', { collectionName: name }, 'get_load_state');
    sameData(state, stateSingle, 'get_load_state');

    const compare = async label => {
      const queries = [vec(), vec(), vec()];
      for (const params of [
        { limit: 10 },
        { limit: 7, offset: 5 },
        { limit: 12, filter: 'n > 300 and tag != "t3"' },
        { limit: 5, filter: 'color == "red"', outputFields: ['*'] },
        { limit: 6, annsField: 'vector2', searchParams: { metricType: 'L2' } },
      ]) {
        const body = { collectionName: name, data: queries, annsField: 'vector', outputFields: ['tag', 'n', 'price'], ...params };
        const [a, s] = await both('entities/search', body, `${label}: search ${JSON.stringify(params)}`);
        succeeded(a, `${label}: search ${JSON.stringify(params)}`);
        check(JSON.stringify(a.topks) === JSON.stringify(s.topks), `${label}: search topks`, { cluster: a.topks, single: s.topks });
        sameRows(a.data, s.data, `${label}: search ${JSON.stringify(params)}`);
      }
      for (const rerank of [{ strategy: 'rrf', params: { k: 60 } }, { strategy: 'weighted', params: { weights: [0.7, 0.3] } }]) {
        const body = {
          collectionName: name, outputFields: ['tag'], limit: 8, offset: 2, rerank,
          search: [
            { data: [queries[0]], annsField: 'vector', limit: 20 },
            { data: [queries[1]], annsField: 'vector2', limit: 15, filter: 'n > 100' },
          ],
        };
        const [a, s] = await both('entities/hybrid_search', body, `${label}: hybrid_search ${rerank.strategy}`);
        succeeded(a, `${label}: hybrid_search ${rerank.strategy}`);
        sameRows(a.data, s.data, `${label}: hybrid_search ${rerank.strategy}`);
      }
      for (const params of [
        { filter: 'n < 120', outputFields: ['*'] },
        { filter: '', limit: 20, offset: 30, outputFields: ['tag', 'price'] },
        { filter: 'tag in ["t1", "t2"]', limit: 15, outputFields: ['n', 'color'] },
        { filter: 'n >= 0' },
      ]) {
        const [a, s] = await both('entities/query', { collectionName: name, ...params }, `${label}: query ${JSON.stringify(params)}`);
        succeeded(a, `${label}: query ${JSON.stringify(params)}`);
        sameRows(a.data, s.data, `${label}: query ${JSON.stringify(params)}`);
      }
      const [count, countSingle] = await both('entities/query', { collectionName: name, filter: 'n >= 0', outputFields: ['count(*)'] }, `${label}: count(*)`);
      sameData(count, countSingle, `${label}: count(*)`);
      const [got, gotSingle] = await both('entities/get', { collectionName: name, id: [key(5), key(6), key(7), key(250), key(9999)], outputFields: ['tag', 'vector'] }, `${label}: get`);
      succeeded(got, `${label}: get`);
      sameRows(got.data, gotSingle.data, `${label}: get`);
      return Number(count.data[0]['count(*)']);
    };

    check(await compare('after insert') === 450, 'all 450 rows are counted (none of the refused batch)');
    const [del, delSingle] = await both('entities/delete', { collectionName: name, id: [key(1), key(2), key(3), key(100), key(444)] }, 'delete by id');
    succeeded(del, 'delete by id');
    sameData(del, delSingle, 'delete by id');
    const [delFilter, delFilterSingle] = await both('entities/delete', { collectionName: name, filter: 'n >= 990' }, 'delete by filter');
    sameData(delFilter, delFilterSingle, 'delete by filter');
    const changed = Array.from({ length: 20 }, (_, i) => ({ id: key(10 + i * 21), tag: 'up', n: 5, price: 1.5, vector: vec(), vector2: vec() }));
    const [up, upSingle] = await both('entities/upsert', { collectionName: name, data: changed }, 'upsert');
    succeeded(up, 'upsert');
    sameData(up, upSingle, 'upsert');

    succeeded((await both('partitions/create', { collectionName: name, partitionName: 'p1' }, 'partitions/create'))[0], 'partitions/create');
    const [listed, listedSingle] = await both('partitions/list', { collectionName: name }, 'partitions/list');
    sameData(listed, listedSingle, 'partitions/list');
    const [inPart, inPartSingle] = await both('entities/insert', { collectionName: name, partitionName: 'p1', data: batch(40) }, 'insert into p1');
    sameData(inPart, inPartSingle, 'insert into p1');
    const [partRows, partRowsSingle] = await both('entities/query', { collectionName: name, partitionNames: ['p1'], filter: 'n >= 0', outputFields: ['tag'], limit: 50 }, 'query p1');
    sameRows(partRows.data, partRowsSingle.data, 'query p1');
    await compare('after delete, upsert and a partition');

    succeeded((await both('collections/flush', { collectionName: name }, 'flush'))[0], 'flush');
    for (const [path, body] of [['collections/get_stats', { collectionName: name }], ['partitions/get_stats', { collectionName: name, partitionName: 'p1' }]]) {
      const [a, s] = await both(path, body, path);
      sameData(a, s, path);
    }
    const [indexes, indexesSingle] = await both('indexes/describe', { collectionName: name, indexName: 'vector' }, 'indexes/describe');
    const shape = d => d.map(i => [i.indexName, i.fieldName, i.indexType, i.metricType].join());
    check(JSON.stringify(shape(indexes.data)) === JSON.stringify(shape(indexesSingle.data)), 'indexes/describe', { cluster: indexes.data, single: indexesSingle.data });
    succeeded((await both('collections/release', { collectionName: name }, 'release'))[0], 'release');
    const [released, releasedSingle] = await both('collections/get_load_state', { collectionName: name }, 'get_load_state after release');
    sameData(released, releasedSingle, 'get_load_state after release');
    succeeded((await both('collections/load', { collectionName: name }, 'load'))[0], 'load');
    // Polled until loaded; 240 s is a safety net for a loaded machine, and failing it names the state seen.
    for (const started = Date.now(); ;) {
      const [loaded] = await both('collections/get_load_state', { collectionName: name }, 'get_load_state after load');
      if (loaded.data.loadState === 'LoadStateLoaded') break;
      check(Date.now() - started < 240000, `${name}: loaded within 240 s after a REST load`, loaded.data);
      await new Promise(resolve => setTimeout(resolve, 250));
    }
    await compare('after flush, release and load');
  }

  // A create asking for more shards than Milvus allows is refused.
  const tooMany = await restAt(addresses[0], 'collections/create', { collectionName: 'rest_many', dimension: dim, params: { shardsNum: 17 } });
  check(tooMany.json.code === 1100 && tooMany.json.message.includes('limited to 16'), 'shardsNum 17 is refused with code 1100', tooMany.json);

  for (const name of ['rest_l2', 'rest_ip']) {
    const [dropped] = await both('collections/drop', { collectionName: name }, `drop ${name}`);
    succeeded(dropped, `drop ${name}`);
    const [has] = await both('collections/has', { collectionName: name }, `has ${name}`);
    check(has.data.has === false, `${name} is gone`, has);
  }
  return { shards: 3, compared: ['Int64 L2', 'VarChar IP'] };
}
