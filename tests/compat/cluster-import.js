// Bulk import on a 3-node Quiver cluster (QUIVER_ADDRESSES) through the official Milvus Node.js SDK, a standalone Quiver
// server (QUIVER_ORACLE) as the oracle, on a collection of 3 shards. The script writes the same JSONL files under node
// 0's import root (QUIVER_IMPORT_ROOT) and the standalone's (QUIVER_ORACLE_IMPORT_ROOT). Through the SDK: refusals of
// bulkInsert (a missing collection, a missing file, a file outside the root, a missing partition); a job accepted by
// node 0 and followed by getImportState through node 1; a job with a bad row followed through node 2; listImportTasks
// through node 2; a REST v2 import job created through node 0 and followed through node 2. Every answer equals the
// standalone's (job ids, collection ids and times aside; each root's path written as ROOT), and the rows the jobs wrote,
// queried through node 2, equal the standalone's. Exits non-zero naming the first difference.
'use strict';
const fs = require('fs');
const path = require('path');
const { MilvusClient, HttpClient, DataType, check, ok, main, sameRows } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const roots = [process.env.QUIVER_IMPORT_ROOT || '', process.env.QUIVER_ORACLE_IMPORT_ROOT || ''];
const dim = 4;
const name = 'sdk_imported';
// A safety net for a job on a loaded machine, never a measure.
const jobTimeoutMs = 240000;

function rows(from, count) {
  return Array.from({ length: count }, (_, i) => {
    const id = from + i;
    return JSON.stringify({ id, title: `t${id}`, vector: [id % 97, id % 13, 0.5, -id] });
  }).join('\n') + '\n';
}

/** A status as a caller sees it, each root's path written as ROOT. */
function said(status, root) {
  const s = status && status.status ? status.status : status;
  return { code: s.code, error_code: s.error_code, reason: String(s.reason || '').split(root).join('ROOT') };
}

/** An import state as a caller sees it, less what differs between any two servers (ids, times). */
function shown(state) {
  return { state: state.state, row_count: String(state.row_count), infos: (state.infos || []).map(i => `${i.key}=${i.value}`) };
}

async function finished(c, task, what) {
  const deadline = Date.now() + jobTimeoutMs;
  let state;
  while (Date.now() < deadline) {
    state = await c.getImportState({ task });
    ok(state, `getImportState of ${what}`);
    if (state.state === 'ImportCompleted' || state.state === 'ImportFailed') return state;
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(`${what}: task ${task} did not finish within ${jobTimeoutMs / 1000} s (safety net): ${JSON.stringify(state)}`);
}

async function restFinished(h, jobId, what) {
  const deadline = Date.now() + jobTimeoutMs;
  let progress;
  while (Date.now() < deadline) {
    progress = await h.getImportJobProgress({ jobId });
    check(progress.code === 0, `get_progress of ${what}`, progress);
    if (progress.data.state === 'Completed' || progress.data.state === 'Failed') return progress;
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(`${what}: REST job ${jobId} did not finish within ${jobTimeoutMs / 1000} s (safety net): ${JSON.stringify(progress)}`);
}

/** A REST answer with every jobId removed, at any depth. */
function withoutJobIds(answer) {
  return JSON.stringify(answer, (key, value) => (key === 'jobId' ? undefined : value));
}

main('cluster-import', async () => {
  check(addresses.length === 3 && oracleAddress.length > 0 && roots.every(r => r.length > 0),
    'QUIVER_ADDRESSES names three nodes, QUIVER_ORACLE one server, QUIVER_IMPORT_ROOT and QUIVER_ORACLE_IMPORT_ROOT their import roots',
    { addresses, oracleAddress, roots });
  for (const root of roots) {
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, 'rows.jsonl'), rows(0, 1200));
    fs.writeFileSync(path.join(root, 'more.jsonl'), rows(5000, 40));
    fs.writeFileSync(path.join(root, 'bad.jsonl'), rows(9000, 5) + JSON.stringify({ id: 9100, title: 'x', vector: [1, 2] }) + '\n');
  }

  const nodes = addresses.map(address => new MilvusClient({ address, timeout: 120000 }));
  const single = new MilvusClient({ address: oracleAddress, timeout: 120000 });
  const steps = [];
  const fields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
    { name: 'title', data_type: DataType.VarChar, max_length: 32 },
    { name: 'vector', data_type: DataType.FloatVector, dim },
  ];
  ok(await nodes[0].createCollection({ collection_name: name, fields, shards_num: 3 }), 'createCollection with 3 shards');
  ok(await single.createCollection({ collection_name: name, fields }), 'createCollection on the standalone');

  // Refusals of bulkInsert, in the standalone's words.
  for (const [label, request] of [
    ['a missing collection', { collection_name: 'no_such_collection', files: ['rows.jsonl'] }],
    ['a missing file', { collection_name: name, files: ['nope.jsonl'] }],
    ['a file outside the root', { collection_name: name, files: ['../outside.jsonl'] }],
    ['a missing partition', { collection_name: name, partition_name: 'nopart', files: ['rows.jsonl'] }],
  ]) {
    const want = said(await single.bulkInsert(request), roots[1]);
    const got = said(await nodes[0].bulkInsert(request), roots[0]);
    check(want.code !== 0, `the standalone refuses ${label}`, want);
    check(JSON.stringify(got) === JSON.stringify(want), `bulkInsert of ${label}: the node's refusal differs from the standalone's`, { node: got, standalone: want });
  }
  steps.push('refusals');

  // A job accepted by node 0, followed through node 1; a job with a bad row, followed through node 2.
  for (const [file, poll] of [['rows.jsonl', 1], ['bad.jsonl', 2]]) {
    const want = await single.bulkInsert({ collection_name: name, files: [file] });
    ok(want, `bulkInsert ${file} on the standalone`);
    const got = await nodes[0].bulkInsert({ collection_name: name, files: [file] });
    ok(got, `bulkInsert ${file} through node 0`);
    check(got.tasks.length === 1, 'one task', got);
    const wantState = shown(await finished(single, want.tasks[0], `${file} on the standalone`));
    const gotState = shown(await finished(nodes[poll], got.tasks[0], `${file} through node ${poll}`));
    check(JSON.stringify(gotState) === JSON.stringify(wantState), `the job over ${file}: the node's state differs from the standalone's`, { node: gotState, standalone: wantState });
  }
  check((await nodes[2].getImportState({ task: 987654321 })).status.code === (await single.getImportState({ task: 987654321 })).status.code,
    'a task no server holds is refused as the standalone refuses it');
  steps.push('bulkInsert-getImportState');

  for (const request of [{ collection_name: name }, { collection_name: name, limit: 1 }]) {
    const want = await single.listImportTasks(request);
    const got = await nodes[2].listImportTasks(request);
    ok(got, 'listImportTasks through node 2');
    check(JSON.stringify(got.tasks.map(shown)) === JSON.stringify(want.tasks.map(shown)), 'listImportTasks: the node lists other jobs than the standalone',
      { node: got.tasks.map(shown), standalone: want.tasks.map(shown) });
  }
  steps.push('listImportTasks');

  // REST v2: created through node 0, followed through node 2.
  const rest = addresses.map(address => new HttpClient({ endpoint: `http://${address}` }));
  const singleRest = new HttpClient({ endpoint: `http://${oracleAddress}` });
  const wantJob = await singleRest.createImportJobs({ collectionName: name, files: [['more.jsonl']] });
  const gotJob = await rest[0].createImportJobs({ collectionName: name, files: [['more.jsonl']] });
  check(gotJob.code === 0 && gotJob.data.jobId, 'REST import job created through node 0', gotJob);
  const wantProgress = withoutJobIds(await restFinished(singleRest, wantJob.data.jobId, 'the standalone REST job'));
  const gotProgress = withoutJobIds(await restFinished(rest[2], gotJob.data.jobId, 'the REST job through node 2'));
  check(gotProgress === wantProgress, 'REST get_progress: the node answers otherwise than the standalone', { node: gotProgress, standalone: wantProgress });
  const wantList = withoutJobIds(await singleRest.listImportJobs({ collectionName: name }));
  const gotList = withoutJobIds(await rest[1].listImportJobs({ collectionName: name }));
  check(gotList === wantList, 'REST list: the node lists otherwise than the standalone', { node: gotList, standalone: wantList });
  steps.push('rest-import-jobs');

  // The rows: every row of the two good files, as the standalone holds them.
  for (const c of [nodes[2], single]) {
    ok(await c.createIndex({ collection_name: name, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), 'createIndex');
    ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  }
  const query = c => c.query({ collection_name: name, filter: 'id >= 0', output_fields: ['id', 'title', 'vector'], limit: 5000, consistency_level: 'Strong' });
  const got = await query(nodes[2]);
  const want = await query(single);
  ok(got, 'query through node 2');
  const byId = rows => [...rows].sort((a, b) => Number(a.id) - Number(b.id));
  check(want.data.length === 1240, 'the standalone holds the rows of the two good files', want.data.length);
  sameRows(byId(got.data), byId(want.data), 'the imported rows');
  steps.push('rows');

  ok(await nodes[1].dropCollection({ collection_name: name }), 'drop');
  return steps;
});
