// Bulk import through the official SDK: gRPC bulkInsert / getImportState / listImportTasks and the REST import jobs,
// over JSONL files the script writes under the server's import root (QUIVER_IMPORT_ROOT, set by the C# test).
'use strict';
const fs = require('fs');
const path = require('path');
const { DataType, vector, client, httpClient, check, ok, main } = require('./common');

const root = process.env.QUIVER_IMPORT_ROOT;

function rows(from, count) {
  return Array.from({ length: count }, (_, i) => JSON.stringify({ id: from + i, title: `t${from + i}`, embedding: vector(from + i) })).join('\n') + '\n';
}

async function waitForImport(c, task) {
  for (let i = 0; i < 600; i++) {
    const state = await c.getImportState({ task });
    ok(state, 'getImportState');
    if (state.state === 'ImportCompleted' || state.state === 'ImportFailed') return state;
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(`import task ${task} did not finish`);
}

main('bulk-import', async () => {
  check(root, 'QUIVER_IMPORT_ROOT is set');
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, 'rows.jsonl'), rows(1, 300));
  fs.writeFileSync(path.join(root, 'more.jsonl'), rows(301, 50));
  fs.writeFileSync(path.join(root, 'bad.jsonl'), rows(1000, 5) + JSON.stringify({ id: 2000, title: 'x', embedding: [1, 2] }) + '\n');

  const c = client();
  const name = `compat_import_${process.pid}`;
  const steps = [];
  ok(await c.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
      { name: 'title', data_type: DataType.VarChar, max_length: 32 },
      { name: 'embedding', data_type: DataType.FloatVector, dim: vector(0).length },
    ],
    index_params: { field_name: 'embedding', index_type: 'HNSW', metric_type: 'COSINE' },
  }), 'create');

  const started = await c.bulkInsert({ collection_name: name, files: ['rows.jsonl'] });
  ok(started, 'bulkInsert');
  check(started.tasks.length === 1, 'one task', started);
  const done = await waitForImport(c, started.tasks[0]);
  check(done.state === 'ImportCompleted' && Number(done.row_count) === 300, 'the job completed with 300 rows', done);
  const listed = await c.listImportTasks({ collection_name: name });
  ok(listed, 'listImportTasks');
  check(listed.tasks.some(t => String(t.id) === String(started.tasks[0])), 'the task is listed', listed);
  await c.loadCollectionSync({ collection_name: name });
  const count = await c.count({ collection_name: name });
  check(Number(count.data) === 300, 'every row arrived', count);
  steps.push('grpc-bulkInsert');

  // A bad row (a 2-d vector) fails the job, naming the file and line, with nothing written.
  const bad = await c.bulkInsert({ collection_name: name, files: ['bad.jsonl'] });
  ok(bad, 'bulkInsert of a bad file is accepted as a job');
  const failed = await waitForImport(c, bad.tasks[0]);
  const reason = (failed.infos.find(i => i.key === 'failed_reason') || {}).value || '';
  check(failed.state === 'ImportFailed' && reason.includes('bad.jsonl') && reason.includes('6'), 'the bad job failed naming file and line', failed);
  const still = await c.count({ collection_name: name });
  check(Number(still.data) === 300, 'the failed job wrote nothing', still);
  steps.push('grpc-bad-file');

  // REST v2 import jobs.
  const h = httpClient();
  const job = await h.createImportJobs({ collectionName: name, files: [['more.jsonl']] });
  check(job.code === 0 && job.data.jobId, 'REST import job created', job);
  let progress;
  for (let i = 0; i < 600; i++) {
    progress = await h.getImportJobProgress({ jobId: job.data.jobId });
    check(progress.code === 0, 'get_progress', progress);
    if (progress.data.state === 'Completed' || progress.data.state === 'Failed') break;
    await new Promise(r => setTimeout(r, 50));
  }
  check(progress.data.state === 'Completed' && progress.data.progress === 100 && progress.data.importedRows === 50, 'REST job completed', progress);
  const jobs = await h.listImportJobs({ collectionName: name });
  check(jobs.code === 0 && jobs.data.records.length === 3, 'three jobs listed', jobs);
  const after = await c.count({ collection_name: name });
  check(Number(after.data) === 350, 'REST job rows arrived', after);
  steps.push('rest-import-jobs');

  ok(await c.dropCollection({ collection_name: name }), 'drop');
  return steps;
});
