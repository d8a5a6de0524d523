using System.Reflection;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.KeyValueStore;
using Quiver.Cluster.Nodes;
using Quiver.Server.Import;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>A node's import jobs (<see cref="ClusterImports"/>) when their records' reads and writes go as they do on a
/// loaded JetStream cluster: a write stored but answered as if it were not (<see cref="LostAnswers"/>), a KV get answered
/// by a replica that has not applied the job's create yet (<see cref="KvStaleReadTests"/> shows such a replica), a write
/// refused. Every job must end Completed or Failed with its reason, never stay Pending or Importing, and the jobs queued
/// after it must run. The import itself is a stand-in that counts batches (ClusterImportTests runs the real one); the
/// oracle is the states, counts and reasons the stand-in and the faults determine.</summary>
[Collection("Nats")]
public sealed partial class ClusterImportJobsTests(NatsFixture nats)
{
    private const int Batches = 3;
    private const long BatchRows = 10;

    /// <summary>How long a job may take on a loaded machine: a safety net, never a measure.</summary>
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Each record write of a job (importing, each batch's progress, completed) in turn has its answer lost, as a
    /// timeout and as the NATS client's refused resend: the job completes with every row counted, and a job queued after
    /// it on the same worker completes too. Before, the job took its own stored write for another node's and stopped,
    /// leaving its record importing for good.</summary>
    [NatsFact]
    public async Task AJobWhoseRecordWriteLostItsAnswer_Completes_AtEachWrite()
    {
        foreach (var way in new[] { LostAnswers.Loss.Timeout, LostAnswers.Loss.Resent })
        {
            for (var write = 0; write <= Batches + 1; write++)
            {
                using var data = new TempFolder("quiver-import-jobs");
                LostAnswers? proxy = null;
                var armed = false;
                var at = write;
                void Before(int next)
                {
                    if (next == at && !armed)
                    {
                        armed = true;
                        proxy!.LoseNext(way);
                    }
                }

                var jobs = await StartAsync(data, bucket =>
                {
                    var (store, lossy) = LostAnswers.Over(bucket);
                    proxy = lossy;
                    return store;
                }, Counting(Before));
                await using (jobs)
                {
                    Before(0);
                    var job = await FinishedAsync(jobs.Imports, await SubmitAsync(jobs.Imports));
                    var next = await FinishedAsync(jobs.Imports, await SubmitAsync(jobs.Imports));
                    foreach (var done in new[] { job, next })
                    {
                        Assert.True(done.State == BulkImportState.Completed, $"{way} at write {write}: job {done.Id} {done.State} {done.Reason}");
                        Assert.Equal((Batches * BatchRows, (long?)(Batches * BatchRows), (string?)null), (done.ImportedRows, done.TotalRows, done.Reason));
                    }

                    // The armed loss was spent, on the write it was armed for (the worker stopped: its last write is done).
                    await jobs.DisposeAsync();
                    Assert.Equal(1, proxy!.Lost);
                }
            }
        }
    }

    /// <summary>Every KV get of the records answers "not found", as a replica that has not applied the job's create yet
    /// answers a direct get: the job still runs to Completed and is found by its reader. Before, the worker read the
    /// record it had just created back, found nothing, and skipped the job, which stayed Pending for good.</summary>
    [NatsFact]
    public async Task AJobWhoseRecordALaggingReplicaDoesNotHoldYet_RunsAndIsFound()
    {
        using var data = new TempFolder("quiver-import-jobs");
        await using var jobs = await StartAsync(data, LaggingReplica.Lagging, Counting());
        foreach (var _ in Enumerable.Range(0, 3))
        {
            var job = await FinishedAsync(jobs.Imports, await SubmitAsync(jobs.Imports));
            Assert.True(job.State == BulkImportState.Completed, $"{job.State} {job.Reason}");
            Assert.Equal(Batches * BatchRows, job.ImportedRows);
        }
    }

    /// <summary>A job whose first record write is refused outright (an error that is no NATS error), then a job whose
    /// import fails before its first row: each ends Failed naming its cause, and the job queued after them completes
    /// on the same worker.</summary>
    [NatsFact]
    public async Task JobsThatFailBeforeImporting_EndFailedWithTheirReason_AndTheNextRuns()
    {
        using var data = new TempFolder("quiver-import-jobs");
        LaggingReplica? faults = null;
        var runs = 0;
        ImportRun run = async (job, opened, writes, afterBatch, ct) =>
        {
            if (Interlocked.Increment(ref runs) == 1)
            {
                throw new InvalidOperationException("collection not found[collection=gone] (test)");
            }

            await Counting()(job, opened, writes, afterBatch, ct);
        };
        await using var jobs = await StartAsync(data, bucket => (faults = LaggingReplica.Over(bucket, lagging: false)).Store, run);

        faults!.RefuseNextUpdate = true;
        var refused = await FinishedAsync(jobs.Imports, await SubmitAsync(jobs.Imports));
        Assert.Equal((BulkImportState.Failed, "the update was refused (test)"), (refused.State, refused.Reason));
        var failed = await FinishedAsync(jobs.Imports, await SubmitAsync(jobs.Imports));
        Assert.Equal((BulkImportState.Failed, "collection not found[collection=gone] (test)", 0L), (failed.State, failed.Reason, failed.ImportedRows));
        var next = await FinishedAsync(jobs.Imports, await SubmitAsync(jobs.Imports));
        Assert.Equal((BulkImportState.Completed, Batches * BatchRows), (next.State, next.ImportedRows));
    }

    /// <summary>A job whose node stalls after its first batch and counts as gone for another node, and that nobody reads:
    /// the other node's sweep (<see cref="ClusterImports.SweepAsync"/>, as its periodic loop runs it) writes its own name
    /// into the record and resumes the job, which ends Completed with every row; the record, read straight from the
    /// bucket, names the stalled node until the sweep. A second sweep leaves the ended job as it is.</summary>
    [NatsFact]
    public async Task AJobWhoseNodeLeft_IsTakenOverByAnotherNodesSweep_WithNoReader()
    {
        using var dataA = new TempFolder("quiver-import-jobs");
        using var dataB = new TempFolder("quiver-import-jobs");
        var name = NatsFixture.Unique("imports");
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var b = await StartAsync(dataB, s => s, Stalls(stalled), name, "node-b", _ => false);
        await using var a = await StartAsync(dataA, s => s, Counting(), name, "node-a", node => node == "node-b");
        var bucket = await KvBuckets.OpenAsync(nats.KeyValue, ClusterImports.Bucket(name), 3, TimeSpan.FromSeconds(30), CancellationToken.None);
        async Task<ClusterImportJob> RecordAsync(long id) => ClusterImportJob.FromBytes((await KvLeaderReads.GetAsync(bucket, $"job-{id}")).Value!);

        var id = await SubmitAsync(b.Imports);
        await stalled.Task.WaitAsync(JobTimeout);
        var before = await RecordAsync(id);
        Assert.Equal(("node-b", BulkImportState.Importing, BatchRows), (before.Node, before.State, before.ImportedRows));

        await a.Imports.SweepAsync(CancellationToken.None);
        Assert.Equal("node-a", (await RecordAsync(id)).Node);
        using var timeout = new CancellationTokenSource(JobTimeout);
        ClusterImportJob done;
        while ((done = await RecordAsync(id)).State is not (BulkImportState.Completed or BulkImportState.Failed))
        {
            await Task.Delay(20, timeout.Token);
        }

        Assert.Equal(("node-a", BulkImportState.Completed, Batches * BatchRows, (string?)null), (done.Node, done.State, done.ImportedRows, done.Reason));
        var revision = (await KvLeaderReads.GetAsync(bucket, $"job-{id}")).Revision;
        await a.Imports.SweepAsync(CancellationToken.None);
        await b.Imports.SweepAsync(CancellationToken.None);
        Assert.Equal(revision, (await KvLeaderReads.GetAsync(bucket, $"job-{id}")).Revision);
    }

    /// <summary>A stand-in import that counts its first batch, says so (<paramref name="stalled"/>), then waits until its
    /// node stops, as a node that stalled.</summary>
    private static ImportRun Stalls(TaskCompletionSource stalled) => async (_, opened, _, afterBatch, ct) =>
    {
        opened.SetTotalRows(Batches * BatchRows);
        opened.AddImported(BatchRows);
        await afterBatch(ct);
        stalled.TrySetResult();
        await Task.Delay(Timeout.Infinite, ct);
    };

    /// <summary>A stand-in import of <see cref="Batches"/> batches of <see cref="BatchRows"/> rows; <paramref name="before"/>
    /// is told the index of each record write the job makes next (1.. for each batch's progress, then one for completed;
    /// 0, importing, comes before the run).</summary>
    private static ImportRun Counting(Action<int>? before = null) => async (_, opened, _, afterBatch, ct) =>
    {
        opened.SetTotalRows(Batches * BatchRows);
        for (var batch = 1; batch <= Batches; batch++)
        {
            before?.Invoke(batch);
            opened.AddImported(BatchRows);
            await afterBatch(ct);
        }

        before?.Invoke(Batches + 1);
    };

    private static Task<long> SubmitAsync(ClusterImports imports) =>
        imports.SubmitAsync("default", "c", null, ["rows.jsonl"], new Dictionary<string, string>(), _ => Task.FromResult(true), CancellationToken.None);

    /// <summary>The job once Completed or Failed, read back as a progress call reads it; fails naming the last state seen
    /// when the job has not finished within the safety net.</summary>
    private static async Task<ClusterImportJob> FinishedAsync(ClusterImports imports, long id)
    {
        using var timeout = new CancellationTokenSource(JobTimeout);
        ClusterImportJob? last = null;
        try
        {
            while (true)
            {
                last = await imports.GetAsync(id, timeout.Token);
                if (last is { State: BulkImportState.Completed or BulkImportState.Failed })
                {
                    return last;
                }

                await Task.Delay(20, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            Assert.Fail($"job {id} did not finish within {JobTimeout.TotalMinutes} min (safety net): {last?.State.ToString() ?? "not found"}, {last?.ImportedRows} rows");
            throw;
        }
    }

    /// <summary>A node's jobs over cluster <paramref name="name"/> (by default a name of their own) on the shared NATS
    /// servers, their records' bucket seen through <paramref name="wrap"/>, run by <paramref name="run"/>; the node is
    /// called <paramref name="here"/> and takes the nodes <paramref name="gone"/> names for gone (by default none); the
    /// import root holds the file the jobs name.</summary>
    private async Task<NodeJobs> StartAsync(TempFolder data, Func<INatsKVStore, INatsKVStore> wrap, ImportRun run,
        string? name = null, string here = "node-a", Func<string, bool>? gone = null)
    {
        name ??= NatsFixture.Unique("imports");
        var config = new NodeConfig { Cluster = name, Nats = nats.Cluster.Url, Replicas = 3, DataPath = data.Path };
        var catalog = await CollectionCatalog.OpenAsync(nats.KeyValue, name, 3, CancellationToken.None);
        var bucket = await KvBuckets.OpenAsync(nats.KeyValue, ClusterImports.Bucket(name), 3, TimeSpan.FromSeconds(30), CancellationToken.None);
        var store = wrap(bucket);
        var imports = new ClusterImports(new NodeContext(config, nats.JetStream, catalog), NullLogger.Instance, () => here, (node, _) => Task.FromResult(gone?.Invoke(node) ?? false), run, _ => Task.FromResult(store));
        Directory.CreateDirectory(imports.Root.Path);
        await File.WriteAllTextAsync(Path.Combine(imports.Root.Path, "rows.jsonl"), "{}\n");
        return new NodeJobs(imports, catalog);
    }

    private sealed class NodeJobs(ClusterImports imports, CollectionCatalog catalog) : IAsyncDisposable
    {
        private int _disposed;

        public ClusterImports Imports => imports;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                await imports.DisposeAsync();
                await catalog.DisposeAsync();
            }
        }
    }

    /// <summary>A KV store whose gets (NATS.Net's direct gets) answer "not found" for every key, as a replica that has not
    /// applied the latest creates answers them (when <c>lagging</c>), and whose next update, once armed, is refused
    /// without being stored by an error that is no NATS error. Everything else goes to the real store, the leader reads
    /// of <see cref="KvLeaderReads"/> among them (they ask the stream, not the store's get).</summary>
    public class LaggingReplica : DispatchProxy
    {
        private INatsKVStore _inner = null!;
        private bool _lagging;
        private int _refuse;

        /// <summary>The next update is refused (not stored).</summary>
        public bool RefuseNextUpdate
        {
            get => Volatile.Read(ref _refuse) != 0;
            set => Volatile.Write(ref _refuse, value ? 1 : 0);
        }

        public static INatsKVStore Lagging(INatsKVStore inner) => Over(inner, lagging: true).Store;

        public static LaggingReplica Over(INatsKVStore inner, bool lagging)
        {
            var store = Create<INatsKVStore, LaggingReplica>();
            var proxy = (LaggingReplica)(object)store;
            proxy._inner = inner;
            proxy._lagging = lagging;
            proxy.Store = store;
            return proxy;
        }

        /// <summary>The store as callers see it.</summary>
        public INatsKVStore Store { get; private set; } = null!;

        /// <inheritdoc/>
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (_lagging && targetMethod.Name is nameof(INatsKVStore.GetEntryAsync))
            {
                return NotFound(targetMethod);
            }

            if (targetMethod.Name == nameof(INatsKVStore.UpdateAsync) && Interlocked.Exchange(ref _refuse, 0) == 1)
            {
                return ValueTask.FromException<ulong>(new InvalidOperationException("the update was refused (test)"));
            }

            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
                throw;
            }
        }

        private static object NotFound(MethodInfo get)
        {
            // ValueTask<NatsKVEntry<T>> faulted with the client's own "not found".
            var result = get.ReturnType.GetGenericArguments()[0];
            var fromException = typeof(ValueTask).GetMethods().Single(m => m.Name == nameof(ValueTask.FromException) && m.IsGenericMethod).MakeGenericMethod(result);
            return fromException.Invoke(null, [Activator.CreateInstance(typeof(NatsKVKeyNotFoundException), nonPublic: true)])!;
        }
    }
}
