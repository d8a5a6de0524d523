// The SDK's queryIterator as it pages (count first, then `pk > last` pages of batchSize in key order): every row
// exactly once, with and without a filter, with an overall limit, for Int64 and VarChar primary keys, over rows written
// in shuffled key order, some flushed and some deleted; and its searchIterator (iterator v2 tokens) over the same rows.
'use strict';
const { DataType, client, check, ok, main, freshCollection } = require('./common');

async function collect(iterator) {
  const seen = [];
  const pages = [];
  for await (const page of iterator) {
    pages.push(page.length);
    seen.push(...page);
  }
  return { seen, pages };
}

function expectExactlyOnce(seen, expected, what) {
  const keys = seen.map(r => String(r.id));
  check(new Set(keys).size === keys.length, `${what}: no row twice`, keys);
  const want = expected.map(String).sort();
  check(JSON.stringify([...keys].sort()) === JSON.stringify(want), `${what}: every row once`, { got: keys.length, want: want.length });
}

main('query-iterator', async () => {
  const c = client();
  const steps = [];
  for (const varchar of [false, true]) {
    const name = `compat_qiter_${varchar ? 's' : 'i'}_${process.pid}`;
    await freshCollection(c, name, [
      varchar ? { name: 'id', data_type: DataType.VarChar, is_primary_key: true, max_length: 32 } : { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
      { name: 'n', data_type: DataType.Int64 },
      { name: 'v', data_type: DataType.FloatVector, dim: 2 },
    ]);
    // 1,037 rows in a shuffled key order, so that pages cannot follow insertion order.
    const keys = Array.from({ length: 1037 }, (_, i) => (i * 389) % 1037);
    const key = i => (varchar ? `k${String(i).padStart(5, '0')}` : i);
    const rows = keys.map(i => ({ id: key(i), n: i % 7, v: [i / 1037, 1 - i / 1037] }));
    ok(await c.insert({ collection_name: name, data: rows.slice(0, 600) }), 'insert 1');
    ok(await c.flushSync({ collection_names: [name] }), 'flush');
    ok(await c.insert({ collection_name: name, data: rows.slice(600) }), 'insert 2');
    const deleted = new Set(keys.filter(i => i % 10 === 3));
    ok(await c.delete({ collection_name: name, filter: `id in [${[...deleted].map(i => JSON.stringify(key(i))).join(',')}]` }), 'delete');
    ok(await c.createIndex({ collection_name: name, field_name: 'v', index_type: 'FLAT', metric_type: 'L2' }), 'index');
    ok(await c.loadCollectionSync({ collection_name: name }), 'load');
    const live = keys.filter(i => !deleted.has(i));

    const all = await collect(await c.queryIterator({ collection_name: name, batchSize: 100, output_fields: ['id', 'n'] }));
    expectExactlyOnce(all.seen, live.map(key), `${name} all rows`);
    check(all.pages.slice(0, -1).every(p => p === 100), `${name}: full pages of batchSize`, all.pages);

    const filtered = await collect(await c.queryIterator({ collection_name: name, batchSize: 37, filter: 'n in [1, 4]', output_fields: ['n'] }));
    expectExactlyOnce(filtered.seen, live.filter(i => i % 7 === 1 || i % 7 === 4).map(key), `${name} filtered`);
    check(filtered.seen.every(r => Number(r.n) === 1 || Number(r.n) === 4), `${name}: filter kept`, filtered.seen.slice(0, 5));

    const limited = await collect(await c.queryIterator({ collection_name: name, batchSize: 64, limit: 250, output_fields: ['id'] }));
    check(limited.seen.length === 250 && new Set(limited.seen.map(r => String(r.id))).size === 250, `${name}: limit 250, each once`, limited.pages);
    // searchIterator (iterator v2 pages): every live row once, distances never decreasing across pages.
    const q = [0.3, 0.7];
    const search = await c.searchIterator({ collection_name: name, data: q, anns_field: 'v', batchSize: 90, limit: live.length, output_fields: ['n'] });
    const hits = [];
    for await (const page of search) hits.push(...page);
    expectExactlyOnce(hits, live.map(key), `${name} searchIterator`);
    check(hits.every((h, i) => i === 0 || h.score >= hits[i - 1].score - 1e-6), `${name}: searchIterator distances ascend`, hits.slice(0, 5));
    ok(await c.dropCollection({ collection_name: name }), 'drop');
    steps.push(varchar ? 'varchar' : 'int64');
  }
  c.closeConnection();
  return steps;
});
