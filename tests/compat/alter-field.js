// AlterCollectionField through the official Node.js SDK (alterCollectionFieldProperties): max_length raised on a loaded
// collection with rows; describeCollection and the next insert follow it, the old rows read back; a shrink and
// mmap.enabled answered 1100 naming the problem. The same over REST v2 (collections/fields/alter_properties through the
// SDK's HttpClient, fieldParams): raised again, REST describe and REST inserts follow it; a shrink and another property
// answered 1100.
'use strict';
const { DataType, client, httpClient, check, ok, milvusError, main, freshCollection } = require('./common');

main('alter-field', async () => {
  const c = client();
  const name = `compat_alter_${process.pid}`;
  const steps = [];
  await freshCollection(c, name, [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
    { name: 'title', data_type: DataType.VarChar, max_length: 4 },
    { name: 'v', data_type: DataType.FloatVector, dim: 2 },
  ]);
  ok(await c.createIndex({ collection_name: name, field_name: 'v', index_type: 'FLAT', metric_type: 'L2' }), 'index');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  ok(await c.insert({ collection_name: name, data: [{ id: 1, title: 'abcd', v: [1, 2] }] }), 'insert within the limit');
  const tooLong = await c.insert({ collection_name: name, data: [{ id: 2, title: 'abcdefgh', v: [1, 2] }] });
  milvusError(tooLong, 'insert past max_length 4');
  steps.push('limit');

  ok(await c.alterCollectionFieldProperties({ collection_name: name, field_name: 'title', properties: { max_length: 8 } }), 'alter max_length');
  const described = await c.describeCollection({ collection_name: name });
  const title = described.schema.fields.find(f => f.name === 'title');
  check(String(title.max_length ?? (title.type_params.find(p => p.key === 'max_length') || {}).value) === '8', 'described max_length 8', title);
  ok(await c.insert({ collection_name: name, data: [{ id: 2, title: 'abcdefgh', v: [1, 2] }] }), 'insert within the new limit');
  milvusError(await c.insert({ collection_name: name, data: [{ id: 3, title: 'abcdefghi', v: [1, 2] }] }), 'insert past max_length 8');
  const rows = await c.query({ collection_name: name, filter: 'id > 0', output_fields: ['title'] });
  ok(rows, 'query');
  check(JSON.stringify(rows.data.map(r => r.title).sort()) === JSON.stringify(['abcd', 'abcdefgh']), 'rows read back', rows.data);
  steps.push('raised');

  const shrink = milvusError(await c.alterCollectionFieldProperties({ collection_name: name, field_name: 'title', properties: { max_length: 2 } }), 'shrink');
  check(shrink.code === 1100 && /can only grow/.test(shrink.reason), 'shrink refused with 1100', shrink);
  const mmap = milvusError(await c.alterCollectionFieldProperties({ collection_name: name, field_name: 'title', properties: { 'mmap.enabled': true } }), 'mmap');
  check(mmap.code === 1100 && /mmap.enabled/.test(mmap.reason), 'mmap.enabled refused with 1100', mmap);
  steps.push('refusals');

  const h = httpClient();
  const restRaise = await h.alterCollectionFieldProperties({ collectionName: name, fieldName: 'title', fieldParams: { max_length: 12 } });
  check(restRaise.code === 0, 'REST fields/alter_properties raises max_length', restRaise);
  const restDescribed = await h.describeCollection({ collectionName: name });
  const restTitle = restDescribed.data.fields.find(f => f.name === 'title');
  const restLength = (restTitle.params || []).find(p => p.key === 'max_length');
  check(restLength && String(restLength.value) === '12', 'REST describe shows max_length 12', restTitle);
  const restInsert = await h.insert({ collectionName: name, data: [{ id: 4, title: 'abcdefghijkl', v: [1, 2] }] });
  check(restInsert.code === 0, 'REST insert within the new limit', restInsert);
  const restTooLong = await h.insert({ collectionName: name, data: [{ id: 5, title: 'abcdefghijklm', v: [1, 2] }] });
  check(restTooLong.code === 1100, 'REST insert past max_length 12 refused', restTooLong);
  const restShrink = await h.alterCollectionFieldProperties({ collectionName: name, fieldName: 'title', fieldParams: { max_length: 10 } });
  check(restShrink.code === 1100 && /can only grow/.test(restShrink.message), 'REST shrink refused with 1100', restShrink);
  const restOther = await h.alterCollectionFieldProperties({ collectionName: name, fieldName: 'title', fieldParams: { analyzer_params: { type: 'english' } } });
  check(restOther.code === 1100 && /analyzer_params does not allow update/.test(restOther.message), 'REST other property refused with 1100', restOther);
  const after = await c.query({ collection_name: name, filter: 'id > 0', output_fields: ['title'] });
  ok(after, 'query after REST');
  check(JSON.stringify(after.data.map(r => r.title).sort()) === JSON.stringify(['abcd', 'abcdefgh', 'abcdefghijkl']), 'rows read back after REST', after.data);
  steps.push('rest');
  ok(await c.dropCollection({ collection_name: name }), 'drop');
  c.closeConnection();
  return steps;
});
