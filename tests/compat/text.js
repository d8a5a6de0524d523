// Analyzers and text match through the SDK: a VarChar field with enable_analyzer, analyzer_params and enable_match
// created and described, runAnalyzer with params and on the field, TEXT_MATCH and PHRASE_MATCH filters over gRPC
// (growing, then sealed after a flush) and over REST v2, and the refusal of TEXT_MATCH on a field without enable_match.
'use strict';
const { client, httpClient, check, ok, milvusError, main } = require('./common');

const docs = [
  [1, 'Machine learning boosts efficiency'],
  [2, 'machine of learning'],
  [3, 'Learning machine models'],
  [4, 'Deep learning and machine vision'],
  [5, 'The runners are running'],
];

const param = (field, key) => {
  if (field[key] !== undefined) return String(field[key]);
  const pair = (field.type_params || []).find(p => p.key === key);
  return pair ? String(pair.value) : undefined;
};
const ids = rows => rows.map(r => Number(r.id)).sort((a, b) => a - b);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

main('text', async () => {
  const name = `compat_text_${process.pid}`;
  const c = client();
  ok(await c.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: 'Int64', is_primary_key: true },
      { name: 'vec', data_type: 'FloatVector', dim: 2 },
      { name: 'text', data_type: 'VarChar', max_length: 256, enable_analyzer: true, enable_match: true, analyzer_params: { type: 'english' } },
      { name: 'plain', data_type: 'VarChar', max_length: 64 },
    ],
  }), 'createCollection');

  const described = await c.describeCollection({ collection_name: name });
  ok(described, 'describeCollection');
  const text = described.schema.fields.find(f => f.name === 'text');
  check(param(text, 'enable_analyzer') === 'true' && param(text, 'enable_match') === 'true', 'describe returns the text flags', text);
  check(same(JSON.parse(param(text, 'analyzer_params')), { type: 'english' }), 'describe returns analyzer_params', text);

  const fromParams = await c.runAnalyzer({ text: ['The Quick foxes jumped', 'Café'], analyzer_params: { type: 'english' }, with_detail: true, with_hash: true });
  ok(fromParams, 'runAnalyzer with params');
  const first = fromParams.results[0].tokens;
  check(same(first.map(t => t.token), ['quick', 'fox', 'jump']), 'runAnalyzer tokens', first);
  check(same(first.map(t => Number(t.position)), [1, 2, 3]), 'runAnalyzer positions keep the stop word gap', first);
  check(Number(first[0].start_offset) === 4 && Number(first[0].end_offset) === 9, 'runAnalyzer offsets', first[0]);
  check(first.every(t => Number(t.hash) > 0), 'runAnalyzer hashes', first);
  const cafe = fromParams.results[1].tokens[0];
  check(cafe.token === 'café' && Number(cafe.end_offset) === 5, 'offsets are UTF-8 bytes', cafe);

  const onField = await c.runAnalyzer({ text: 'Runners running', collection_name: name, field_name: 'text' });
  ok(onField, 'runAnalyzer on the field');
  check(same(onField.results[0].tokens.map(t => t.token), ['runner', 'run']), 'runAnalyzer uses the field analyzer', onField.results[0]);
  milvusError(await c.runAnalyzer({ text: 'x', collection_name: name, field_name: 'plain' }), 'runAnalyzer on a field without analyzer');
  milvusError(await c.runAnalyzer({ text: 'x', analyzer_params: { tokenizer: 'nope' } }), 'runAnalyzer with bad params');

  ok(await c.insert({ collection_name: name, data: docs.map(([id, t]) => ({ id, vec: [1, id], text: t, plain: 'p' })) }), 'insert');
  ok(await c.createIndex({ collection_name: name, field_name: 'vec', index_type: 'FLAT', metric_type: 'L2' }), 'createIndex');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');

  const expectations = [
    ["TEXT_MATCH(text, 'vision efficiency')", [1, 4]],
    ["TEXT_MATCH(text, 'run')", [5]],
    ["PHRASE_MATCH(text, 'machine learning')", [1]],
    ["PHRASE_MATCH(text, 'machine learning', 1)", [1, 2]],
    ["PHRASE_MATCH(text, 'machine learning', 2)", [1, 2, 3]],
    ["TEXT_MATCH(text, 'machine') and not PHRASE_MATCH(text, 'machine learning', 2)", [4]],
  ];
  const run = async stage => {
    for (const [filter, expected] of expectations) {
      const r = await c.query({ collection_name: name, filter, output_fields: ['id'], consistency_level: 'Strong' });
      ok(r, `query ${filter}`);
      check(same(ids(r.data), expected), `${stage}: ${filter}`, ids(r.data));
    }
  };
  await run('growing');
  ok(await c.flushSync({ collection_names: [name] }), 'flush');
  await run('sealed');

  const refused = await c.query({ collection_name: name, filter: "TEXT_MATCH(plain, 'p')", output_fields: ['id'] });
  const status = milvusError(refused, 'TEXT_MATCH on a field without enable_match');
  check(status.reason.includes('enable_match'), 'the refusal names enable_match', status);

  // REST v2: create with elementTypeParams, describe, query with TEXT_MATCH.
  const h = httpClient();
  const restName = `${name}_rest`;
  const created = await h.createCollection({
    collectionName: restName,
    schema: {
      fields: [
        { fieldName: 'id', dataType: 'Int64', isPrimary: true },
        { fieldName: 'vec', dataType: 'FloatVector', elementTypeParams: { dim: 2 } },
        { fieldName: 'text', dataType: 'VarChar', elementTypeParams: { max_length: 100, enable_analyzer: true, enable_match: true } },
      ],
    },
    indexParams: [{ fieldName: 'vec', indexName: 'vec', metricType: 'L2', indexType: 'FLAT' }],
  });
  check(created.code === 0, 'REST create', created);
  const restDescribed = await h.describeCollection({ collectionName: restName });
  const restText = restDescribed.data.fields.find(f => f.name === 'text');
  const restParams = Object.fromEntries(restText.params.map(p => [p.key, p.value]));
  check(restParams.enable_analyzer === 'true' && restParams.enable_match === 'true', 'REST describe returns the text flags', restText);
  const inserted = await h.insert({ collectionName: restName, data: docs.map(([id, t]) => ({ id, vec: [1, id], text: t })) });
  check(inserted.code === 0, 'REST insert', inserted);
  const restQuery = await h.query({ collectionName: restName, filter: "PHRASE_MATCH(text, 'machine learning', 1)", outputFields: ['id'] });
  check(restQuery.code === 0 && same(ids(restQuery.data), [1, 2]), 'REST PHRASE_MATCH', restQuery);

  await c.dropCollection({ collection_name: name });
  await h.dropCollection({ collectionName: restName });
  return expectations.length * 2 + 9;
});
