// TextEmbedding functions through the official Node SDK (gRPC) and REST v2: a collection whose vector field is computed
// from a text field by the server's local all-MiniLM-L6-v2; rows inserted as text only; searches by text. The oracle for
// a text search is exact: the query text inserted as a row of a second collection gives its vector (the same function
// embeds inserts and searches), and brute-force cosine over every stored vector gives the expected top-k.
'use strict';
const { DataType, client, check, ok, milvusError, main, restPost: rest } = require('./common');
const { FunctionType } = require('@zilliz/milvus2-sdk-node');

const docs = [
  'A man is playing a guitar on stage.',
  'The stock market fell sharply after the interest rate announcement.',
  'A cat sleeps on a warm windowsill in the afternoon sun.',
  'Quiver is a vector database written in C#.',
  'Fresh bread is baked every morning at the corner bakery.',
  'The football team won the championship in extra time.',
];
const queries = ['someone performs music with a guitar', 'shares dropped when rates went up', 'a kitten napping in the sunshine'];
const expectedTop = [0, 1, 2];

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}

function schemaFields() {
  return [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'doc', data_type: DataType.VarChar, max_length: 512 },
    { name: 'vec', data_type: DataType.FloatVector, dim: 384 },
  ];
}
const embedFunction = {
  name: 'embed_doc', type: FunctionType.TEXTEMBEDDING, input_field_names: ['doc'], output_field_names: ['vec'],
  params: { provider: 'local', model_name: 'all-MiniLM-L6-v2' },
};

async function grpcFlow(c, steps) {
  for (const name of ['emb_docs', 'emb_queries']) {
    await c.dropCollection({ collection_name: name });
    ok(await c.createCollection({ collection_name: name, fields: schemaFields(), functions: [embedFunction] }), `create ${name}`);
    ok(await c.createIndex({ collection_name: name, field_name: 'vec', index_type: 'FLAT', metric_type: 'COSINE' }), `index ${name}`);
    ok(await c.loadCollectionSync({ collection_name: name }), `load ${name}`);
  }
  const described = await c.describeCollection({ collection_name: 'emb_docs' });
  check(described.schema.functions.length === 1 && described.schema.functions[0].name === 'embed_doc', 'describe shows the function', described.schema.functions);
  check(described.schema.fields.find(f => f.name === 'vec').is_function_output === true, 'vec is a function output', described.schema.fields);
  steps.push('create');

  // Text only: the SDK leaves the function's output field out, the server computes it.
  const inserted = await c.insert({ collection_name: 'emb_docs', data: docs.map((doc, id) => ({ id, doc })) });
  ok(inserted, 'insert text rows');
  check(Number(inserted.insert_cnt) === docs.length, 'insert count', inserted.insert_cnt);
  ok(await c.insert({ collection_name: 'emb_queries', data: queries.map((doc, id) => ({ id, doc })) }), 'insert query rows');
  steps.push('insert');

  const stored = await c.query({ collection_name: 'emb_docs', filter: 'id >= 0', output_fields: ['id', 'vec'], limit: 100 });
  ok(stored, 'query stored vectors');
  check(stored.data.length === docs.length && stored.data.every(r => r.vec.length === 384), 'every row got a 384-d vector', stored.data.length);
  const queryVectors = await c.query({ collection_name: 'emb_queries', filter: 'id >= 0', output_fields: ['id', 'vec'], limit: 100 });
  ok(queryVectors, 'query query vectors');

  const result = await c.search({ collection_name: 'emb_docs', data: queries, anns_field: 'vec', limit: 3, output_fields: ['doc'] });
  ok(result, 'search by text');
  for (let q = 0; q < queries.length; q++) {
    const hits = result.results[q];
    const qv = queryVectors.data.find(r => Number(r.id) === q).vec;
    const oracle = stored.data.map(r => ({ id: Number(r.id), score: cosine(qv, r.vec) })).sort((a, b) => b.score - a.score).slice(0, 3);
    check(hits.length === 3, `query ${q}: 3 hits`, hits);
    for (let k = 0; k < 3; k++) {
      check(Number(hits[k].id) === oracle[k].id && Math.abs(hits[k].score - oracle[k].score) < 1e-4,
        `query ${q} hit ${k} equals the brute-force oracle`, { hit: hits[k], oracle: oracle[k] });
    }
    check(Number(hits[0].id) === expectedTop[q], `query '${queries[q]}' finds its paraphrase first`, hits[0]);
  }
  steps.push('search-text');

  // Refusals: the SDK itself refuses a row that sets a function's output field (the server's own refusal is in
  // ErrorTableTests); a search text longer than the input field's max_length is the server's.
  let refused = null;
  try {
    await c.insert({ collection_name: 'emb_docs', data: [{ id: 99, doc: 'x', vec: new Array(384).fill(0.1) }] });
  } catch (e) {
    refused = e;
  }
  check(refused !== null, 'a row with the output field is refused');
  const tooLong = await c.search({ collection_name: 'emb_docs', data: ['x'.repeat(600)], anns_field: 'vec', limit: 1 });
  const s = milvusError(tooLong, 'search text longer than max_length');
  check(s.code === 1100 && /max_length 512/.test(s.reason), 'too long text names the limit', s);
  steps.push('refusals');
}

async function restFlow(steps) {
  await rest('collections/drop', { collectionName: 'emb_rest' });
  const created = await rest('collections/create', {
    collectionName: 'emb_rest',
    schema: {
      fields: [
        { fieldName: 'id', dataType: 'Int64', isPrimary: true },
        { fieldName: 'doc', dataType: 'VarChar', elementTypeParams: { max_length: 512 } },
        { fieldName: 'vec', dataType: 'FloatVector', elementTypeParams: { dim: 384 } },
      ],
      functions: [{ name: 'embed_doc', type: 'TextEmbedding', inputFieldNames: ['doc'], outputFieldNames: ['vec'], params: { provider: 'local' } }],
    },
    indexParams: [{ fieldName: 'vec', indexName: 'vec', metricType: 'COSINE' }],
  });
  check(created.code === 0, 'REST create with a function', created);
  const described = await rest('collections/describe', { collectionName: 'emb_rest' });
  check(described.data.functions.length === 1 && described.data.functions[0].type === 'TextEmbedding', 'REST describe shows the function', described.data.functions);
  const inserted = await rest('entities/insert', { collectionName: 'emb_rest', data: docs.map((doc, id) => ({ id, doc })) });
  check(inserted.code === 0 && inserted.data.insertCount === docs.length, 'REST insert text rows', inserted);
  const found = await rest('entities/search', { collectionName: 'emb_rest', data: queries, annsField: 'vec', limit: 2, outputFields: ['doc'] });
  check(found.code === 0, 'REST search by text', found);
  // REST answers every query's hits in one list, query after query.
  for (let q = 0; q < queries.length; q++) {
    check(Number(found.data[q * 2].id) === expectedTop[q], `REST query '${queries[q]}' finds its paraphrase first`, found.data);
  }
  const wrongProvider = await rest('collections/create', {
    collectionName: 'emb_bad',
    schema: {
      fields: [
        { fieldName: 'id', dataType: 'Int64', isPrimary: true },
        { fieldName: 'doc', dataType: 'VarChar', elementTypeParams: { max_length: 64 } },
        { fieldName: 'vec', dataType: 'FloatVector', elementTypeParams: { dim: 384 } },
      ],
      functions: [{ name: 'f', type: 'TextEmbedding', inputFieldNames: ['doc'], outputFieldNames: ['vec'], params: { provider: 'nope' } }],
    },
  });
  check(wrongProvider.code === 1100 && /unknown embedding provider 'nope'/.test(wrongProvider.message), 'REST unknown provider refused', wrongProvider);
  steps.push('rest');
}

main('embedding', async () => {
  const steps = [];
  const c = client();
  await grpcFlow(c, steps);
  await restFlow(steps);
  await c.closeConnection();
  return steps;
});
