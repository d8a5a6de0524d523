// AlterCollectionField through the official Node.js SDK (alterCollectionFieldProperties): max_length raised on a loaded
// collection with rows; describeCollection and the next insert follow it, the old rows read back; a shrink and
// mmap.enabled answered 1100 naming the problem.
'use strict';
const { DataType, client, check, ok, milvusError, main, freshCollection } = require('./common');

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
  ok(await c.dropCollection({ collection_name: name }), 'drop');
  c.closeConnection();
  return steps;
});
