// The tutorial's flow through the official Milvus Node.js SDK against a 3-node Quiver cluster (QUIVER_ADDRESSES: the
// nodes' host:port, comma-separated), each step sent to a different node: create through one, insert through the next,
// index, load, search and query through every node, delete, count, over gRPC and over REST v2 (the SDK's HttpClient on
// the same ports). Every search is checked hit by hit against a brute-force oracle over the rows the script inserted
// (FLAT index, so exact); REST calls that name no collection a shard can serve answer Milvus code 10.
'use strict';
const { MilvusClient, HttpClient, DataType, dim, vector, check, ok, main, products } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);

function okRest(res, what) {
  check(res && res.code === 0, `${what} failed`, res);
  return res.data;
}

main('cluster-flow', async () => {
  check(addresses.length === 3, 'QUIVER_ADDRESSES names three nodes', addresses);
  const grpc = addresses.map(address => new MilvusClient({ address }));
  const rest = addresses.map(address => new HttpClient({ endpoint: `http://${address}` }));
  const name = `cluster_products_${process.pid}`;
  const steps = [];
  for (const c of grpc) check((await c.checkHealth()).isHealthy === true, 'every node is healthy');

  ok(await grpc[0].createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
      { name: 'title', data_type: DataType.VarChar, max_length: 256 },
      { name: 'category', data_type: DataType.VarChar, max_length: 64 },
      { name: 'price', data_type: DataType.Float },
      { name: 'embedding', data_type: DataType.FloatVector, dim },
    ],
  }), 'createCollection through node 0');
  for (const [i, c] of grpc.entries()) {
    check((await c.hasCollection({ collection_name: name })).value === true, `node ${i} has the collection`);
    const listed = await c.listCollections();
    check(listed.data.some(x => x.name === name), `node ${i} lists the collection`, listed.data);
  }
  const listedRest = okRest(await rest[2].listCollections({}), 'REST list through node 2');
  check(listedRest.includes(name), 'REST list through node 2 names the collection', listedRest);
  steps.push('create');

  const rows = products.map(([title, category, price], i) => ({ id: i + 1, title, category, price, embedding: vector(i + 1) }));
  const inserted = await grpc[1].insert({ collection_name: name, data: rows.slice(0, 15) });
  ok(inserted, 'insert through node 1');
  check(Number(inserted.insert_cnt) === 15, 'insert_cnt', inserted.insert_cnt);
  const restInserted = okRest(await rest[2].insert({ collectionName: name, data: rows.slice(15) }), 'REST insert through node 2');
  check(restInserted.insertCount === rows.length - 15, 'REST insertCount', restInserted);
  ok(await grpc[2].flushSync({ collection_names: [name] }), 'flush through node 2');
  steps.push('insert');

  ok(await grpc[2].createIndex({ collection_name: name, field_name: 'embedding', index_type: 'FLAT', metric_type: 'COSINE' }), 'createIndex through node 2');
  const index = await grpc[0].describeIndex({ collection_name: name, field_name: 'embedding' });
  ok(index, 'describeIndex through node 0');
  check(index.index_descriptions[0].index_type === 'FLAT' || JSON.stringify(index.index_descriptions[0].params).includes('FLAT'), 'index described as FLAT', index);
  steps.push('index');
  ok(await grpc[0].loadCollectionSync({ collection_name: name }), 'load through node 0');
  for (const [i, c] of grpc.entries()) {
    const state = await c.getLoadState({ collection_name: name });
    check(state.state === 'LoadStateLoaded', `node ${i} reports it loaded`, state);
  }
  steps.push('load');

  const live = new Map(rows.map(r => [r.id, r]));
  const q = vector(1000);
  const cos = v => v.reduce((s, x, j) => s + x * q[j], 0);
  const expected = (pred, k) => [...live.values()].filter(pred).map(r => [r.id, cos(r.embedding), r])
    .sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
  const checkHits = (hits, want, what, score) => {
    check(hits.length === want.length, `${what} returns ${want.length} hits`, hits);
    hits.forEach((hit, i) => {
      check(Number(hit.id) === want[i][0], `${what} hit ${i} id`, { got: hit.id, want: want[i][0] });
      check(Math.abs(score(hit) - want[i][1]) < 1e-4, `${what} hit ${i} score`, { got: score(hit), want: want[i][1] });
      check(hit.title === want[i][2].title, `${what} hit ${i} title`, hit);
    });
  };
  const searchEverywhere = async (label) => {
    for (const [filter, pred] of [['', () => true], ['category == "tech"', r => r.category === 'tech']]) {
      const want = expected(pred, 5);
      for (const [i, c] of grpc.entries()) {
        const res = await c.search({ collection_name: name, data: [q], limit: 5, filter, output_fields: ['title'] });
        ok(res, `${label} search '${filter}' through node ${i}`);
        checkHits(res.results, want, `${label} search '${filter}' through node ${i}`, h => h.score);
      }
      for (const [i, h] of rest.entries()) {
        const hits = okRest(await h.search({ collectionName: name, data: [q], annsField: 'embedding', limit: 5, filter, outputFields: ['title'] }), `${label} REST search through node ${i}`);
        checkHits(hits, want, `${label} REST search '${filter}' through node ${i}`, hit => hit.distance);
      }
    }
  };
  await searchEverywhere('after load');
  steps.push('search');

  const books = await grpc[1].query({ collection_name: name, filter: 'category == "books"', output_fields: ['title'] });
  ok(books, 'query through node 1');
  check(books.data.length === 3, 'query returns the 3 books', books.data);
  const restBooks = okRest(await rest[0].query({ collectionName: name, filter: 'category == "books"', outputFields: ['title'] }), 'REST query through node 0');
  check(restBooks.length === 3, 'REST query returns the 3 books', restBooks);
  steps.push('query');

  const del = await grpc[2].delete({ collection_name: name, filter: 'category == "sports"' });
  ok(del, 'delete through node 2');
  check(Number(del.delete_cnt) === 4, 'delete_cnt', del.delete_cnt);
  for (const r of rows.filter(r => r.category === 'sports')) live.delete(r.id);
  okRest(await rest[1].delete({ collectionName: name, filter: 'id in [1]' }), 'REST delete through node 1');
  live.delete(1);
  for (const [i, c] of grpc.entries()) {
    const count = await c.count({ collection_name: name });
    check(Number(count.data) === live.size, `count after delete through node ${i}`, { got: count.data, want: live.size });
  }
  await searchEverywhere('after delete');
  steps.push('delete');

  // Without authentication a node answers users as a single node does: none stored, creating one refused.
  const users = await rest[0].listUsers();
  check(users.code === 0 && Array.isArray(users.data) && users.data.length === 0, 'REST users/list answers no users', users);
  const created = await grpc[2].createUser({ username: 'alice', password: 'alice-secret' });
  check(created.code === 1100 && /authentication is off/.test(created.reason), 'createUser is refused while authentication is off', created);
  steps.push('refusals');

  okRest(await rest[1].dropCollection({ collectionName: name }), 'REST drop through node 1');
  for (const [i, c] of grpc.entries()) {
    check((await c.hasCollection({ collection_name: name })).value === false, `node ${i} no longer has the collection`);
  }
  steps.push('drop');
  for (const c of grpc) c.closeConnection();
  return steps;
});
