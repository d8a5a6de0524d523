// BM25 full-text search on a collection with several shards (shards_num 3) on a 3-node Quiver cluster
// (QUIVER_ADDRESSES), through the official Milvus Node.js SDK, a standalone Quiver server (QUIVER_ORACLE) holding the
// same rows as the single-node oracle: every score must equal the single node's exactly, which holds only when each
// shard scores with the collection's statistics (rows, average length, document frequencies summed over the shards)
// and not its own. Searches by text with limits, offsets, a filter, nq 2, grouping, after deletes, and hybrid searches
// (BM25 + dense, RRF and weighted); searches the single node refuses (a bad filter, not loaded) are refused in its words.
// Exits non-zero naming the first difference.
'use strict';
const { FunctionType } = require('@zilliz/milvus2-sdk-node');
const { MilvusClient, DataType, check, ok, main, rng, answer, statusOf } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';

main('cluster-shards-bm25', () => run().catch(e => { throw e instanceof Error ? e : new Error(JSON.stringify(e)); }));

/** Hits by score (best first), ties by key: the single node's order of equal scores is its own. */
const norm = hits => hits.map(h => ({ id: String(h.id), score: h.score, tag: h.tag })).sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

function same(got, want, what) {
  check(got.length === want.length, `${what}: query count`, { got: got.length, want: want.length });
  got.forEach((hits, q) => {
    const [a, s] = [norm(hits), norm(want[q])];
    check(JSON.stringify(a) === JSON.stringify(s), `${what} query ${q}: the cluster's hits differ from the single node's`, { cluster: a.slice(0, 5), single: s.slice(0, 5), clusterCount: a.length, singleCount: s.length });
  });
}

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0, 'QUIVER_ADDRESSES names three nodes and QUIVER_ORACLE one server', { addresses, oracleAddress });
  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 120000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 120000 });
  const r = rng(1717);
  const words = Array.from({ length: 120 }, (_, i) => 'w' + i.toString(36).replace(/[0-9]/g, d => 'abcdefghij'[d]) + 'q');
  const pick = skew => words[Math.floor(Math.pow(r(), skew) * words.length)];
  const text = () => Array.from({ length: 2 + Math.floor(r() * 40) }, () => pick(2.5)).join(' ');
  const query = () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(1.5)).join(' ');

  const fields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'text', data_type: DataType.VarChar, max_length: 2000, enable_analyzer: true },
    { name: 'tag', data_type: DataType.Int64 },
    { name: 'sparse', data_type: DataType.SparseFloatVector },
    { name: 'dense', data_type: DataType.FloatVector, dim: 4 },
  ];
  const functions = [{ name: 'text_bm25', type: FunctionType.BM25, input_field_names: ['text'], output_field_names: ['sparse'], params: {} }];
  ok(await nodes[0].createCollection({ collection_name: 'docs', fields, functions, shards_num: 3 }), 'createCollection with a BM25 function and 3 shards');
  ok(await single.createCollection({ collection_name: 'docs', fields, functions }), 'createCollection on the single node');
  const rows = Array.from({ length: 900 }, (_, id) => ({ id, text: text(), tag: id % 7, dense: [r(), r(), r(), r()] }));
  for (const [i, part] of [rows.slice(0, 500), rows.slice(500)].entries()) {
    ok(await nodes[i].insert({ collection_name: 'docs', data: part }), `insert part ${i} through node ${i}`);
    ok(await single.insert({ collection_name: 'docs', data: part }), `insert part ${i} on the single node`);
    if (i === 0) {
      ok(await nodes[2].flushSync({ collection_names: ['docs'] }), 'flush the cluster');
      ok(await single.flushSync({ collection_names: ['docs'] }), 'flush the single node');
    }
  }
  for (const c of [nodes[1], single]) {
    ok(await c.createIndex({ collection_name: 'docs', field_name: 'sparse', index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'BM25', params: { bm25_k1: 1.4, bm25_b: 0.7 } }), 'createIndex BM25');
    ok(await c.createIndex({ collection_name: 'docs', field_name: 'dense', index_type: 'FLAT', metric_type: 'L2' }), 'createIndex dense');
    ok(await c.loadCollectionSync({ collection_name: 'docs' }), 'load');
  }

  const searches = [
    { limit: 10 },
    { limit: 5, offset: 3 },
    { limit: 8, filter: 'tag != 2' },
    { limit: 30 },
    { limit: 4, group_by_field: 'tag' },
    { limit: 3, group_by_field: 'tag', group_size: 2, filter: 'id > 100' },
  ];
  const round = async label => {
    for (const [i, params] of searches.entries()) {
      const data = [query(), query()];
      const request = { collection_name: 'docs', data, anns_field: 'sparse', output_fields: ['tag'], ...params };
      const [a, s] = [await nodes[i % 3].search(request), await single.search(request)];
      ok(a, `${label}: BM25 search ${JSON.stringify(params)} through node ${i % 3}`);
      ok(s, `${label}: BM25 search ${JSON.stringify(params)} on the single node`);
      check(s.results.some(h => h.length > 0), `${label}: the single node finds hits for ${JSON.stringify(data)}`, s.results);
      same(a.results, s.results, `${label}: BM25 search ${JSON.stringify(params)} ${JSON.stringify(data)}`);
    }

    for (const ranker of [{ strategy: 'rrf', params: { k: 60 } }, { strategy: 'weighted', params: { weights: [0.7, 0.3] } }]) {
      const request = {
        collection_name: 'docs',
        data: [{ data: [query()], anns_field: 'sparse', limit: 20 }, { data: [[r(), r(), r(), r()]], anns_field: 'dense', limit: 20 }],
        rerank: ranker, limit: 10, output_fields: ['tag'],
      };
      const [a, s] = [await nodes[2].hybridSearch(request), await single.hybridSearch(request)];
      ok(a, `${label}: hybrid ${ranker.strategy}`);
      ok(s, `${label}: hybrid ${ranker.strategy} on the single node`);
      same([a.results], [s.results], `${label}: hybrid BM25 + dense ${ranker.strategy}`);
    }
  };
  await round('all rows');

  const doomed = rows.filter(row => row.id % 5 === 1).map(row => row.id);
  ok(await nodes[0].delete({ collection_name: 'docs', ids: doomed }), 'delete through the cluster');
  ok(await single.delete({ collection_name: 'docs', ids: doomed }), 'delete on the single node');
  await round('after deletes');

  // Searches the single node refuses (a filter on a field it lacks, a collection not loaded) are refused in its words.
  const refused = async what => {
    const request = { collection_name: 'docs', data: [query()], anns_field: 'sparse', limit: 3, filter: 'tag >= 0' , ...what };
    const [a, s] = [await answer(nodes[1].search(request)), await answer(single.search(request))];
    check(statusOf(s).code !== 0 && statusOf(a).code === statusOf(s).code && statusOf(a).reason === statusOf(s).reason,
      `a BM25 search ${JSON.stringify(what)} is refused as the single node refuses it`, { cluster: statusOf(a), single: statusOf(s) });
  };
  await refused({ filter: 'nosuchfield > 1' });
  ok(await nodes[2].releaseCollection({ collection_name: 'docs' }), 'release the cluster');
  ok(await single.releaseCollection({ collection_name: 'docs' }), 'release the single node');
  await refused({});
  return { rows: rows.length, deleted: doomed.length };
}
