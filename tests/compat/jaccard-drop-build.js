// BINARY vectors under JACCARD (BIN_FLAT, and BIN_IVF_FLAT probing every list and fewer) and a sparse field indexed
// SPARSE_INVERTED_INDEX with drop_ratio_build, through the official Milvus Node.js SDK over gRPC and the same searches
// over REST v2, each against an oracle computed here: JACCARD bit by bit (1 - |a AND b| / |a OR b|), and the sparse
// inner product over what drop_ratio_build keeps. The build rule (Milvus: "the proportion of small vector values that
// are excluded during the indexing process"; Quiver's engine, docs/sparse-vectors.md): over all values stored in the
// segment, sorted ascending, the threshold is the value at position floor(ratio * count); values below it leave the
// posting lists, and searches score rows against the values kept. All rows go in one insert and one flush, so one
// segment holds them and the threshold is the segment's.
'use strict';
const { DataType, client, httpClient, rng, check, ok, main, freshCollection } = require('./common');

main('jaccard-drop-build', async () => {
  const c = client();
  const http = httpClient();
  const name = `compat_jaccard_${process.pid}`;
  const steps = [];
  const bits = 128;
  const bytes = bits / 8;
  const n = 800;
  const nlist = 16;
  const fewer = 4;
  const dropRatio = 0.2;
  await freshCollection(c, name, [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'bflat', data_type: DataType.BinaryVector, dim: bits },
    { name: 'bivf', data_type: DataType.BinaryVector, dim: bits },
    { name: 'sparse', data_type: DataType.SparseFloatVector },
  ]);
  steps.push('create');

  // Binary rows near 16 seeded centres (a few bits flipped), so the IVF cells mean something; sparse rows as maps.
  const r = rng(31);
  const centres = Array.from({ length: nlist }, () => Array.from({ length: bytes }, () => Math.floor(r() * 256)));
  const near = centre => {
    const v = centre.slice();
    const flips = 24 + Math.floor(r() * 40);
    for (let f = 0; f < flips; f++) { const b = Math.floor(r() * bits); v[b >> 3] ^= 1 << (b & 7); }
    return v;
  };
  const bins = Array.from({ length: n }, (_, i) => near(centres[i % nlist]));
  const dicts = Array.from({ length: n }, () => {
    const m = {};
    const k = 3 + Math.floor(r() * 10);
    while (Object.keys(m).length < k) m[Math.floor(r() * r() * 200)] = Math.fround(0.01 + r());
    return m;
  });
  const inserted = await c.insert({ collection_name: name, data: bins.map((b, i) => ({ id: i, bflat: b, bivf: b, sparse: dicts[i] })) });
  ok(inserted, 'insert');
  check(Number(inserted.insert_cnt) === n, 'insert_cnt', inserted.insert_cnt);
  ok(await c.flushSync({ collection_names: [name] }), 'flush');
  steps.push('insert');

  for (const [field, index_type, metric_type, params] of [
    ['bflat', 'BIN_FLAT', 'JACCARD', {}],
    ['bivf', 'BIN_IVF_FLAT', 'JACCARD', { nlist }],
    ['sparse', 'SPARSE_INVERTED_INDEX', 'IP', { drop_ratio_build: dropRatio, inverted_index_algo: 'DAAT_MAXSCORE' }],
  ]) {
    ok(await c.createIndex({ collection_name: name, field_name: field, index_type, metric_type, params }), `createIndex ${field}`);
  }
  for (const [field, type] of [['bflat', 'BIN_FLAT'], ['bivf', 'BIN_IVF_FLAT'], ['sparse', 'SPARSE_INVERTED_INDEX']]) {
    const d = await c.describeIndex({ collection_name: name, field_name: field });
    ok(d, `describeIndex ${field}`);
    const p = Object.fromEntries(d.index_descriptions[0].params.map(x => [x.key, x.value]));
    check(p.index_type === type, `describeIndex ${field} names ${type}`, p);
  }
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  steps.push('index');

  // JACCARD, bit by bit.
  const bit = (v, b) => (v[b >> 3] >> (b & 7)) & 1;
  const jaccard = (a, b) => {
    let and = 0, or = 0;
    for (let j = 0; j < bits; j++) { const x = bit(a, j), y = bit(b, j); and += x & y; or += x | y; }
    return or === 0 ? 0 : 1 - and / or;
  };
  const qr = rng(77);
  const binQueries = Array.from({ length: 12 }, (_, j) => near(centres[(j * 5) % nlist]).map(x => x ^ (qr() < 0.1 ? 1 : 0)));
  const k = 10;
  const binTruth = q => bins.map((b, i) => [i, jaccard(q, b)]).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const same = (x, y) => Math.abs(x - y) <= 1e-5;
  // Exact: the hits' distances are the oracle's k smallest, each hit's distance is its own row's, no id twice (rows
  // tied at the k-th distance may come in any order).
  const exact = (hits, q, what) => {
    const truth = binTruth(q);
    check(hits.length === k, `${what}: ${k} hits`, hits.length);
    check(new Set(hits.map(h => h.id)).size === k, `${what}: distinct ids`, hits);
    hits.forEach((h, j) => {
      check(same(h.d, truth[j][1]), `${what}: hit ${j} distance equals the oracle's`, { got: hits.map(x => x.d), want: truth.slice(0, k).map(x => x[1]) });
      check(same(h.d, jaccard(q, bins[h.id])), `${what}: hit ${j} is its own row's distance`, { id: h.id, got: h.d, own: jaccard(q, bins[h.id]) });
    });
  };
  let found = 0;
  const grpc = async (field, q, params) => {
    const res = await c.search({ collection_name: name, anns_field: field, data: [q], limit: k, metric_type: 'JACCARD', params, output_fields: ['id'] });
    ok(res, `search ${field}`);
    return res.results.map(h => ({ id: Number(h.id), d: h.score }));
  };
  const rest = async (field, q, params) => {
    const res = await http.search({ collectionName: name, annsField: field, data: [q], limit: k, searchParams: { metricType: 'JACCARD', params }, outputFields: ['id'] });
    check(res.code === 0, `REST search ${field}`, res);
    return res.data.map(h => ({ id: Number(h.id), d: h.distance }));
  };
  for (const [via, search] of [['gRPC', grpc], ['REST', rest]]) {
    found = 0;
    let missedAtOne = 0;
    for (const q of binQueries) {
      exact(await search('bflat', q, {}), q, `${via} BIN_FLAT JACCARD`);
      exact(await search('bivf', q, { nprobe: nlist }), q, `${via} BIN_IVF_FLAT JACCARD nprobe=${nlist}`);
      const truth = new Set(binTruth(q).slice(0, k).map(x => x[0]));
      const tieAt = binTruth(q)[k - 1][1];
      const hits = await search('bivf', q, { nprobe: fewer });
      hits.forEach(h => check(same(h.d, jaccard(q, bins[h.id])), `${via} BIN_IVF_FLAT nprobe=${fewer}: hit is its own row's distance`, h));
      // A hit counts when it is in the oracle's top k, or tied with its k-th distance.
      found += hits.filter(h => truth.has(h.id) || same(h.d, tieAt)).length;
      missedAtOne += (await search('bivf', q, { nprobe: 1 })).filter(h => !truth.has(h.id) && !same(h.d, tieAt)).length;
    }
    const recall = found / (k * binQueries.length);
    check(recall >= 0.9, `${via} BIN_IVF_FLAT JACCARD nprobe=${fewer} recall@${k} >= 0.9`, recall);
    // One list of 16 must miss something, else nprobe would not be narrowing the search and the exact check at
    // nprobe=nlist would prove nothing about probing every list.
    check(missedAtOne > 0, `${via} BIN_IVF_FLAT nprobe=1 misses some neighbour`, missedAtOne);
    steps.push(`${via} jaccard (recall ${recall.toFixed(3)} at nprobe ${fewer} of ${nlist}, ${missedAtOne} misses at nprobe 1)`);
  }

  // drop_ratio_build: the segment's threshold, the kept values, and the inner product over them.
  const all = dicts.flatMap(m => Object.values(m)).sort((a, b) => a - b);
  const threshold = all[Math.min(all.length - 1, Math.floor(dropRatio * all.length))];
  const kept = dicts.map(m => Object.fromEntries(Object.entries(m).filter(([, v]) => v >= threshold && v !== 0)));
  const dot = (a, b) => Object.keys(a).reduce((s, key) => s + (b[key] !== undefined ? a[key] * b[key] : 0), 0);
  const sparseTruth = (q, rows) => rows.map((m, i) => [i, dot(q, m)]).filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
  const sparseQueries = Array.from({ length: 8 }, (_, j) => dicts[j * 97 + 5]);
  // The rule must matter for these queries: some top-k differs from the one over the full rows.
  check(sparseQueries.some(q => JSON.stringify(sparseTruth(q, kept)) !== JSON.stringify(sparseTruth(q, dicts))), 'drop_ratio_build changes some answer (else the test could not tell it from 0)');
  const sparseCheck = (hits, q, what) => {
    const want = sparseTruth(q, kept);
    check(hits.length === want.length, `${what}: hit count`, { got: hits.length, want: want.length });
    hits.forEach((h, j) => {
      check(Math.abs(h.d - want[j][1]) < 1e-4, `${what}: hit ${j} score equals the oracle's`, { got: hits.map(x => x.d), want: want.map(x => x[1]) });
      check(h.id === want[j][0] || Math.abs(h.d - dot(q, kept[h.id])) < 1e-4, `${what}: hit ${j} id`, { got: h.id, want: want[j][0] });
    });
  };
  for (const q of sparseQueries) {
    const res = await c.search({ collection_name: name, anns_field: 'sparse', data: [q], limit: k, params: { drop_ratio_search: 0 }, output_fields: ['id'] });
    ok(res, 'search sparse');
    sparseCheck(res.results.map(h => ({ id: Number(h.id), d: h.score })), q, 'gRPC SPARSE_INVERTED_INDEX drop_ratio_build');
    const rres = await http.search({ collectionName: name, annsField: 'sparse', data: [q], limit: k, searchParams: { metricType: 'IP', params: { drop_ratio_search: 0 } }, outputFields: ['id'] });
    check(rres.code === 0, 'REST search sparse', rres);
    sparseCheck(rres.data.map(h => ({ id: Number(h.id), d: h.distance })), q, 'REST SPARSE_INVERTED_INDEX drop_ratio_build');
  }
  steps.push(`drop_ratio_build ${dropRatio} (threshold ${threshold.toFixed(4)})`);

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  return steps;
});
