// The same tutorial flow through the RESTful API v2, with the official SDK's HttpClient (HTTP/1.1 on the gRPC port).
// Every response is Milvus's envelope: {code: 0, data: ...} or {code: N, message: ...}.
'use strict';
const { dim, vector, httpClient, check, main, products } = require('./common');

function okRest(res, what) {
  check(res && res.code === 0, `${what} failed`, res);
  return res.data;
}

main('rest-flow', async () => {
  const h = httpClient();
  const name = `compat_rest_${process.pid}`;
  const steps = [];
  const has = okRest(await h.hasCollection({ collectionName: name }), 'has');
  if (has.has) okRest(await h.dropCollection({ collectionName: name }), 'drop old');

  okRest(await h.createCollection({
    collectionName: name,
    schema: {
      autoId: true,
      enableDynamicField: false,
      fields: [
        { fieldName: 'id', dataType: 'Int64', isPrimary: true },
        { fieldName: 'title', dataType: 'VarChar', elementTypeParams: { max_length: 256 } },
        { fieldName: 'category', dataType: 'VarChar', elementTypeParams: { max_length: 64 } },
        { fieldName: 'price', dataType: 'Float' },
        { fieldName: 'embedding', dataType: 'FloatVector', elementTypeParams: { dim } },
      ],
    },
    indexParams: [{ fieldName: 'embedding', indexName: 'embedding_hnsw', metricType: 'COSINE', indexType: 'HNSW', params: { M: 16, efConstruction: 200 } }],
  }), 'create');
  steps.push('create');
  const described = okRest(await h.describeCollection({ collectionName: name }), 'describe');
  check(described.fields.length === 5, 'describe lists five fields', described.fields);
  const load = okRest(await h.getCollectionLoadState({ collectionName: name }), 'load state');
  check(load.loadState === 'LoadStateLoaded', 'created with an index it is loaded', load);

  const rows = products.map(([title, category, price], i) => ({ title, category, price, embedding: vector(i + 1) }));
  const inserted = okRest(await h.insert({ collectionName: name, data: rows }), 'insert');
  check(inserted.insertCount === rows.length && inserted.insertIds.length === rows.length, 'insertCount / insertIds', inserted);
  const ids = inserted.insertIds.map(String);
  steps.push('insert');

  const q = vector(1000);
  const cos = v => v.reduce((s, x, j) => s + x * q[j], 0);
  const hits = okRest(await h.search({ collectionName: name, data: [q], annsField: 'embedding', limit: 5, filter: 'category == "tech" and price >= 50 and price <= 200', outputFields: ['title', 'price'], searchParams: { params: { ef: 64 } } }), 'search');
  const expected = rows.map((r, i) => [ids[i], cos(r.embedding), r]).filter(([, , r]) => r.category === 'tech' && r.price >= 50 && r.price <= 200)
    .sort((a, b) => b[1] - a[1]).slice(0, 5);
  check(hits.length === expected.length, 'search hit count', hits);
  hits.forEach((hit, i) => {
    check(String(hit.id) === expected[i][0], `search hit ${i} id`, { got: hit.id, want: expected[i][0] });
    check(Math.abs(hit.distance - expected[i][1]) < 1e-4, `search hit ${i} distance`, hit);
    check(hit.title === expected[i][2].title, `search hit ${i} title`, hit);
  });
  steps.push('search');

  const books = okRest(await h.query({ collectionName: name, filter: 'category == "books"', outputFields: ['title'] }), 'query');
  check(books.length === 3, 'query returns the 3 books', books);
  const counted = okRest(await h.query({ collectionName: name, filter: '', outputFields: ['count(*)'] }), 'count');
  check(Number(counted[0]['count(*)']) === rows.length, 'count(*)', counted);
  steps.push('query');

  okRest(await h.delete({ collectionName: name, filter: 'category == "sports"' }), 'delete');
  const after = okRest(await h.query({ collectionName: name, filter: '', outputFields: ['count(*)'] }), 'count after delete');
  check(Number(after[0]['count(*)']) === rows.length - 4, 'count after delete', after);
  steps.push('delete');

  // Auto ids exceed 2^53, so they travel as strings (Milvus's REST answers Int64 as strings unless asked otherwise).
  okRest(await h.upsert({ collectionName: name, data: [{ id: ids[0], title: 'Upserted', category: 'tech', price: 10, embedding: vector(1) }] }), 'upsert');
  const got = okRest(await h.get({ collectionName: name, id: [ids[0]], outputFields: ['title'] }), 'get');
  check(got.length === 1 && got[0].title === 'Upserted', 'upsert replaced the row', got);
  steps.push('upsert');

  const stats = okRest(await h.getCollectionStatistics({ collectionName: name }), 'stats');
  check(Number(stats.rowCount) === rows.length - 4, 'rowCount', stats);
  steps.push('statistics');

  // Errors come back in the envelope and the server keeps serving.
  const wrongDim = await h.insert({ collectionName: name, data: [{ title: 'x', category: 'tech', price: 1, embedding: [1, 2, 3] }] });
  check(wrongDim.code !== 0 && /dim/i.test(wrongDim.message), 'wrong dimension is refused naming the dimension', wrongDim);
  const missing = await h.describeCollection({ collectionName: `${name}_missing` });
  check(missing.code === 100, 'missing collection is code 100', missing);
  const badFilter = await h.query({ collectionName: name, filter: 'price >>> 3', outputFields: ['title'] });
  check(badFilter.code !== 0 && badFilter.message.length > 0, 'bad filter is refused', badFilter);
  steps.push('errors');

  okRest(await h.dropCollection({ collectionName: name }), 'drop');
  check(okRest(await h.hasCollection({ collectionName: name }), 'has after drop').has === false, 'dropped');
  steps.push('drop');
  return steps;
});
