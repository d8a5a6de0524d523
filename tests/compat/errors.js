// Error cases through the official SDK over gRPC: each answers a Milvus error status (not a crash, not a transport
// error), names the problem, and the server keeps serving afterwards.
'use strict';
const { DataType, dim, vector, client, check, ok, milvusError, main } = require('./common');

main('errors', async () => {
  const c = client();
  const name = `compat_errors_${process.pid}`;
  const steps = [];
  if ((await c.hasCollection({ collection_name: name })).value) await c.dropCollection({ collection_name: name });
  ok(await c.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
      { name: 'category', data_type: DataType.VarChar, max_length: 16 },
      { name: 'embedding', data_type: DataType.FloatVector, dim },
    ],
    index_params: { field_name: 'embedding', index_type: 'HNSW', metric_type: 'L2' },
  }), 'create');
  ok(await c.insert({ collection_name: name, data: [{ id: 1, category: 'tech', embedding: vector(1) }] }), 'insert one row');

  // Wrong dimension: refused, nothing written.
  let res;
  try {
    res = await c.insert({ collection_name: name, data: [{ id: 2, category: 'tech', embedding: vector(2).slice(0, 3) }] });
  } catch (e) {
    res = { status: { error_code: 'ClientError', code: -1, reason: String(e.message) } };
  }
  const wrongDim = milvusError(res, 'insert with a wrong dimension');
  check(/dim/i.test(wrongDim.reason), 'wrong dimension names the dimension', wrongDim);
  const stillOne = await c.count({ collection_name: name });
  check(Number(stillOne.data) === 1, 'a refused insert wrote nothing', stillOne);
  steps.push('wrong-dimension');

  // Missing collection.
  const missing = await c.describeCollection({ collection_name: `${name}_missing` });
  const m = milvusError(missing, 'describe a missing collection');
  check(m.code === 100 && m.reason.includes(`${name}_missing`), 'missing collection: code 100 naming it', m);
  const missingSearch = await c.search({ collection_name: `${name}_missing`, data: [vector(3)], limit: 3 }).catch(e => ({ status: { error_code: 'x', code: -1, reason: e.message } }));
  milvusError(missingSearch, 'search a missing collection');
  steps.push('missing-collection');

  // Bad filter: the error names the position.
  const bad = await c.query({ collection_name: name, filter: 'category == ', output_fields: ['category'] });
  const b = milvusError(bad, 'query with a bad filter');
  check(/position/i.test(b.reason), 'bad filter names the position', b);
  const badSearch = await c.search({ collection_name: name, data: [vector(4)], limit: 3, filter: 'no_such_field > 3' });
  milvusError(badSearch, 'search with an unknown field in the filter');
  steps.push('bad-filter');

  // Too large top-k.
  const topk = await c.search({ collection_name: name, data: [vector(5)], limit: 20000 });
  milvusError(topk, 'search with topk 20000');
  steps.push('topk');

  // Still serving.
  const hits = await c.search({ collection_name: name, data: [vector(1)], limit: 1 });
  ok(hits, 'search after errors');
  check(hits.results.length === 1 && String(hits.results[0].id) === '1', 'the server still answers correctly', hits.results);
  ok(await c.dropCollection({ collection_name: name }), 'drop');
  steps.push('still-serving');
  c.closeConnection();
  return steps;
});
