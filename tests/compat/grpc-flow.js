// The tutorial's flow through the official Milvus Node.js SDK over gRPC: schema with an auto-id INT64 key, VARCHAR and
// FLOAT fields and a 384-d vector; insert, flush, HNSW index, load, filtered search with output fields, query, delete,
// upsert, statistics, drop. Every answer is checked, including the exact filtered top-k against a brute-force oracle.
'use strict';
const { DataType, dim, vector, client, check, ok, main, products } = require('./common');

main('grpc-flow', async () => {
  const c = client();
  const name = `compat_products_${process.pid}`;
  const steps = [];
  const health = await c.checkHealth();
  check(health.isHealthy === true, 'checkHealth', health);
  if ((await c.hasCollection({ collection_name: name })).value) await c.dropCollection({ collection_name: name });

  ok(await c.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: true },
      { name: 'title', data_type: DataType.VarChar, max_length: 256 },
      { name: 'category', data_type: DataType.VarChar, max_length: 64 },
      { name: 'price', data_type: DataType.Float },
      { name: 'embedding', data_type: DataType.FloatVector, dim },
    ],
  }), 'createCollection');
  steps.push('create');
  const described = await c.describeCollection({ collection_name: name });
  ok(described, 'describeCollection');
  check(described.schema.fields.length === 5, 'describe returns five fields', described.schema.fields.map(f => f.name));
  const vec = described.schema.fields.find(f => f.name === 'embedding');
  check(vec && String(vec.dim ?? (vec.type_params.find(p => p.key === 'dim') || {}).value) === String(dim), 'describe returns dim', vec);

  const rows = products.map(([title, category, price], i) => ({ title, category, price, embedding: vector(i + 1) }));
  const inserted = await c.insert({ collection_name: name, data: rows });
  ok(inserted, 'insert');
  check(Number(inserted.insert_cnt) === rows.length, 'insert_cnt', inserted.insert_cnt);
  const ids = inserted.IDs.int_id.data.map(String);
  check(ids.length === rows.length && new Set(ids).size === rows.length, 'auto ids are unique', ids);
  steps.push('insert');
  ok(await c.flushSync({ collection_names: [name] }), 'flush');
  steps.push('flush');
  ok(await c.createIndex({ collection_name: name, field_name: 'embedding', index_type: 'HNSW', metric_type: 'COSINE', params: { M: 16, efConstruction: 200 } }), 'createIndex');
  const index = await c.describeIndex({ collection_name: name, field_name: 'embedding' });
  ok(index, 'describeIndex');
  check(index.index_descriptions[0].index_name !== undefined, 'index described', index);
  steps.push('index');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  const state = await c.getLoadState({ collection_name: name });
  check(state.state === 'LoadStateLoaded', 'load state', state);
  steps.push('load');

  // Oracle: cosine similarity over the filtered rows.
  const q = vector(1000);
  const cos = v => v.reduce((s, x, j) => s + x * q[j], 0);
  const expectIds = (pred, k) => rows.map((r, i) => [ids[i], cos(r.embedding), r]).filter(([, , r]) => pred(r))
    .sort((a, b) => b[1] - a[1]).slice(0, k);
  for (const [filter, pred] of [
    ['category == "tech"', r => r.category === 'tech'],
    ['price >= 50 and price <= 200', r => r.price >= 50 && r.price <= 200],
  ]) {
    const res = await c.search({ collection_name: name, data: [q], limit: 5, filter, output_fields: ['title', 'price', 'category'], params: { ef: 64 } });
    ok(res, `search ${filter}`);
    const expected = expectIds(pred, 5);
    check(res.results.length === expected.length, `search ${filter} returns ${expected.length} hits`, res.results);
    res.results.forEach((hit, i) => {
      check(String(hit.id) === expected[i][0], `search ${filter} hit ${i} id`, { got: hit.id, want: expected[i][0] });
      check(Math.abs(hit.score - expected[i][1]) < 1e-4, `search ${filter} hit ${i} score`, { got: hit.score, want: expected[i][1] });
      check(hit.title === expected[i][2].title && hit.category === expected[i][2].category, `search ${filter} hit ${i} fields`, hit);
      check(pred({ category: hit.category, price: hit.price }), `search ${filter} hit ${i} matches the filter`, hit);
    });
  }
  steps.push('search');

  const queried = await c.query({ collection_name: name, filter: 'category == "books"', output_fields: ['title', 'price'] });
  ok(queried, 'query');
  check(queried.data.length === 3 && queried.data.every(r => typeof r.title === 'string'), 'query returns the 3 books', queried.data);
  const count = await c.count({ collection_name: name, expr: 'price < 50' });
  check(Number(count.data) === rows.filter(r => r.price < 50).length, 'count(*) with a filter', count);
  steps.push('query');

  const del = await c.delete({ collection_name: name, filter: 'category == "sports"' });
  ok(del, 'delete');
  check(Number(del.delete_cnt) === 4, 'delete_cnt', del.delete_cnt);
  const afterDelete = await c.count({ collection_name: name });
  check(Number(afterDelete.data) === rows.length - 4, 'count after delete', afterDelete);
  steps.push('delete');

  const upserted = await c.upsert({ collection_name: name, data: [{ id: ids[0], title: 'Upserted headphones', category: 'tech', price: 10.0, embedding: vector(1) }] });
  ok(upserted, 'upsert');
  const got = await c.query({ collection_name: name, filter: `id == ${ids[0]}`, output_fields: ['title', 'price'] });
  check(got.data.length === 1 && got.data[0].title === 'Upserted headphones', 'upsert replaced the row', got.data);
  steps.push('upsert');

  const stats = await c.getCollectionStatistics({ collection_name: name });
  ok(stats, 'statistics');
  check(Number(stats.data.row_count) === rows.length - 4, 'row_count', stats);
  steps.push('statistics');

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  check((await c.hasCollection({ collection_name: name })).value === false, 'dropped collection is gone');
  steps.push('drop');
  c.closeConnection();
  return steps;
});
