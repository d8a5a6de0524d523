// AddCollectionField through the official Milvus Node.js SDK (gRPC; the SDK tries AlterCollectionSchema first and
// falls back to AddCollectionField on UNIMPLEMENTED) and REST v2 (collections/fields/add through the SDK's HttpClient),
// on a loaded collection with sealed and growing rows: describe shows the fields, old rows read null or the default,
// filters and searches see them, new rows carry their own values; Milvus's refusals answer code 1100.
'use strict';
const { DataType, client, httpClient, check, ok, milvusError, main, freshCollection } = require('./common');

main('add-field', async () => {
  const c = client();
  const h = httpClient();
  const name = `compat_add_field_${process.pid}`;
  const steps = [];
  await freshCollection(c, name, [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'v', data_type: DataType.FloatVector, dim: 2 },
  ]);
  ok(await c.createIndex({ collection_name: name, field_name: 'v', index_type: 'FLAT', metric_type: 'L2', params: {} }), 'index');
  ok(await c.insert({ collection_name: name, data: Array.from({ length: 30 }, (_, i) => ({ id: i, v: [1, i] })) }), 'insert sealed');
  ok(await c.flushSync({ collection_names: [name] }), 'flush');
  ok(await c.insert({ collection_name: name, data: Array.from({ length: 20 }, (_, i) => ({ id: 30 + i, v: [1, 30 + i] })) }), 'insert growing');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  steps.push('load');

  ok(await c.addCollectionField({ collection_name: name, field: { name: 'tag', data_type: DataType.VarChar, max_length: 16, nullable: true } }), 'add tag');
  ok(await c.addCollectionField({ collection_name: name, field: { name: 'score', data_type: DataType.Int64, nullable: true, default_value: 100 } }), 'add score');
  const restAdd = await h.addCollectionField({ collectionName: name, schema: { fieldName: 'rank', dataType: 'Double', nullable: true, defaultValue: 0.5 } });
  check(restAdd.code === 0, 'REST fields/add', restAdd);
  const described = await c.describeCollection({ collection_name: name });
  check(JSON.stringify(described.schema.fields.map(f => f.name)) === JSON.stringify(['id', 'v', 'tag', 'score', 'rank']), 'describe lists the added fields', described.schema.fields.map(f => f.name));
  steps.push('add');

  const old = await c.query({ collection_name: name, filter: 'id >= 0', output_fields: ['tag', 'score', 'rank'], limit: 100 });
  ok(old, 'query old rows');
  check(old.data.length === 50, 'every old row', old.data.length);
  for (const row of old.data) {
    check(row.tag === null && Number(row.score) === 100 && row.rank === 0.5, `old row ${row.id} reads null / the defaults`, row);
  }
  steps.push('old rows');

  ok(await c.insert({ collection_name: name, data: [
    { id: 100, v: [1, 100], tag: 'new', score: 7, rank: 2.5 },
    { id: 101, v: [1, 101], tag: 'new' },
  ] }), 'insert with the added fields');
  const fresh = await c.query({ collection_name: name, filter: 'tag == "new"', output_fields: ['tag', 'score', 'rank'], limit: 10 });
  ok(fresh, 'query new rows');
  const byId = Object.fromEntries(fresh.data.map(r => [Number(r.id), r]));
  check(fresh.data.length === 2 && Number(byId[100].score) === 7 && byId[100].rank === 2.5 && Number(byId[101].score) === 100 && byId[101].rank === 0.5, 'new rows carry their values and the defaults', fresh.data);
  const counted = await c.query({ collection_name: name, filter: 'score == 100 and tag is null', output_fields: ['count(*)'] });
  check(Number(counted.data[0]['count(*)']) === 50, 'a filter on the added fields counts the old rows', counted.data);
  const hits = await c.search({ collection_name: name, anns_field: 'v', data: [[1, 100.2]], limit: 2, filter: 'score < 100', output_fields: ['tag', 'score'] });
  ok(hits, 'search');
  check(hits.results.length === 1 && Number(hits.results[0].id) === 100 && Number(hits.results[0].score) >= 0, 'search filtered on an added field', hits.results);
  steps.push('new rows');

  for (const [what, field, pattern] of [
    ['not nullable', { name: 'x', data_type: DataType.Int64 }, /added field must be nullable/],
    ['a duplicate name', { name: 'tag', data_type: DataType.Int64, nullable: true }, /duplicate field name: tag/],
    ['a vector field', { name: 'w', data_type: DataType.FloatVector, dim: 2, nullable: true }, /not support to add vector field/],
  ]) {
    const refused = await c.addCollectionField({ collection_name: name, field });
    const s = milvusError(refused, `adding ${what}`);
    check(s.code === 1100 && pattern.test(s.reason), `adding ${what} answers 1100 naming it`, s);
  }
  steps.push('refusals');

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  steps.push('drop');
  return steps;
});
