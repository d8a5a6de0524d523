// Durability through the server: inserts batches through the official SDK until it is killed (or the server is), and
// prints every acknowledged batch's ids as one line "ACK <first> <last>" the moment the server acknowledges it. The C#
// test SIGKILLs the server mid-ingest, restarts it, and checks that every acknowledged id is there.
'use strict';
const { DataType, vector, client, check, ok } = require('./common');

(async () => {
  const c = client({ timeout: 5000 });
  const name = process.env.QUIVER_COLLECTION || 'compat_ingest';
  if (!(await c.hasCollection({ collection_name: name })).value) {
    ok(await c.createCollection({
      collection_name: name,
      fields: [
        { name: 'id', data_type: DataType.Int64, is_primary_key: true },
        { name: 'embedding', data_type: DataType.FloatVector, dim: 384 },
      ],
    }), 'create');
  }
  console.log('READY');
  const batch = 50;
  for (let start = 1; ; start += batch) {
    const rows = Array.from({ length: batch }, (_, i) => ({ id: start + i, embedding: vector(start + i) }));
    let res;
    try {
      res = await c.insert({ collection_name: name, data: rows });
    } catch (e) {
      console.log(`ERROR ${e.message.split('\n')[0]}`);
      break;
    }
    if (res.status.error_code !== 'Success') { console.log(`ERROR ${res.status.reason}`); break; }
    check(Number(res.insert_cnt) === batch, 'insert_cnt');
    console.log(`ACK ${start} ${start + batch - 1}`);
  }
  process.exit(0);
})().catch(e => { console.log(`ERROR ${e.message}`); process.exit(0); });
