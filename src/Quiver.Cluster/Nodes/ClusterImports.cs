using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NATS.Client.KeyValueStore;
using Quiver.Server.Import;
using Quiver.Server.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary>One import job as the cluster keeps it: a JSON value under <c>job-{id}</c> in KV bucket
/// <c>{cluster}-imports</c>, written by the node that runs it (and by any node that finds that node gone).</summary>
internal sealed record ClusterImportJob
{
    public required long Id { get; init; }

    public required string Database { get; init; }

    public required string Collection { get; init; }

    public string? Partition { get; init; }

    /// <summary>The files, relative to the running node's import root.</summary>
    public required IReadOnlyList<string> Files { get; init; }

    public required IReadOnlyDictionary<string, string> Options { get; init; }

    public BulkImportState State { get; init; }

    public long ImportedRows { get; init; }

    public long? TotalRows { get; init; }

    public string? Reason { get; init; }

    /// <summary>The silo that runs the job (its Orleans address, generation included: a restarted node is another).</summary>
    public required string Node { get; init; }

    public required DateTimeOffset Created { get; init; }

    /// <summary>The job as a progress call reports it.</summary>
    public ImportJobView View => new(Id, State, ImportedRows, TotalRows, ImportJobView.ProgressOf(State, ImportedRows, TotalRows), Reason, Collection, Partition, Files, Created);

    public byte[] ToBytes()
    {
        var options = new JsonObject();
        foreach (var (key, value) in Options)
        {
            options[key] = value;
        }

        return System.Text.Encoding.UTF8.GetBytes(new JsonObject
        {
            ["id"] = Id,
            ["database"] = Database,
            ["collection"] = Collection,
            ["partition"] = Partition,
            ["files"] = new JsonArray([.. Files.Select(f => (JsonNode)f)]),
            ["options"] = options,
            ["state"] = State.ToString(),
            ["importedRows"] = ImportedRows,
            ["totalRows"] = TotalRows,
            ["reason"] = Reason,
            ["node"] = Node,
            ["created"] = Created.ToUnixTimeMilliseconds(),
        }.ToJsonString());
    }

    public static ClusterImportJob FromBytes(byte[] value)
    {
        var json = JsonNode.Parse(value)!.AsObject();
        return new ClusterImportJob
        {
            Id = json["id"]!.GetValue<long>(),
            Database = json["database"]!.GetValue<string>(),
            Collection = json["collection"]!.GetValue<string>(),
            Partition = json["partition"]?.GetValue<string>(),
            Files = [.. json["files"]!.AsArray().Select(f => f!.GetValue<string>())],
            Options = json["options"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal),
            State = Enum.Parse<BulkImportState>(json["state"]!.GetValue<string>()),
            ImportedRows = json["importedRows"]!.GetValue<long>(),
            TotalRows = json["totalRows"]?.GetValue<long>(),
            Reason = json["reason"]?.GetValue<string>(),
            Node = json["node"]!.GetValue<string>(),
            Created = DateTimeOffset.FromUnixTimeMilliseconds(json["created"]!.GetValue<long>()),
        };
    }
}

/// <summary>Reads one job's files and writes their rows (in a node: the toolbox's two passes over the node's own routing,
/// <see cref="ClusterImports"/>); counts go on <paramref name="opened"/>, and <paramref name="afterBatch"/> is awaited after
/// each acknowledged batch. Throws to fail the job, with the reason the caller reports.</summary>
internal delegate Task ImportRun(ClusterImportJob job, BulkImportJob opened, Func<CancellationToken, Task> afterBatch, CancellationToken ct);

/// <summary>
/// Bulk import on a cluster (Milvus's <c>Import</c>, <c>GetImportState</c>, <c>ListImportTasks</c>, REST
/// <c>jobs/import/*</c>). A job is accepted by any node and run by that node, which reads its files from its own import
/// root (<see cref="NodeConfig.ImportRoot"/>) with the standalone server's readers and checks
/// (<see cref="Toolbox.Import.FileJobImport"/>) and writes the rows through its own routing, in process
/// (<see cref="RoutingInvoker"/>): so rows are split by primary-key hash to the shards, and an auto_id collection's keys
/// come from the collection's allocator, exactly as for an insert through that node. Job ids are cluster-wide (an
/// <see cref="AutoIds"/> allocator starting at 1, bucket <c>{cluster}-imports-ids</c>) and every job's state lives in KV
/// bucket <c>{cluster}-imports</c>, so any node answers progress and lists. The running node updates the record by
/// compare-and-set after each acknowledged batch; a job whose node has left the cluster (killed, stopped) is marked
/// failed by the next node that reads it, keeping the rows acknowledged before (as the standalone server keeps them
/// when a job fails midway). Jobs on one node run one at a time in submission order, as on the standalone server.
/// </summary>
/// <remarks>
/// Every job accepted ends Completed or Failed while its node lives: the queue carries the record the accepting call
/// stored (the worker never reads it back: a KV get is a direct get that a replica which has not applied the create yet
/// answers with nothing, <see cref="KvLeaderReads"/>), a record write whose answer was lost is settled by reading the
/// leader, and a failure of one job never stops the worker that runs the next.
/// </remarks>
internal sealed partial class ClusterImports : IAsyncDisposable
{
    /// <summary>How long a job record's read or write is retried while JetStream cannot answer it.</summary>
    private static readonly TimeSpan RecordTimeout = TimeSpan.FromSeconds(30);

    private readonly NodeContext _node;
    private readonly ILogger _log;
    private readonly Func<string> _here;
    private readonly Func<string, CancellationToken, Task<bool>> _gone;
    private readonly ImportRun _run;
    private readonly Func<CancellationToken, Task<INatsKVStore>> _open;
    private readonly Channel<(ClusterImportJob Job, ulong Revision)> _queue =
        Channel.CreateUnbounded<(ClusterImportJob, ulong)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _opening = new(1, 1);
    private readonly AutoIds _ids;
    private INatsKVStore? _store;
    private Task? _worker;

    public ClusterImports(NodeContext node, IServiceProvider services, ILogger<ClusterImports> log)
        : this(node, log,
            () => services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress.ToParsableString(),
            (silo, ct) => GoneAsync(services.GetRequiredService<Orleans.Runtime.IClusterMembershipService>(), silo, ct),
            (job, opened, afterBatch, ct) => RunFilesAsync(services, job, opened, afterBatch, ct))
    {
    }

    /// <summary>The jobs of <paramref name="node"/>, with what a node takes from its silo given: the name it writes in the
    /// jobs it accepts (<paramref name="here"/>), whether a named silo has left the cluster (<paramref name="gone"/>), what
    /// runs a job's files (<paramref name="run"/>), and where the records are kept (<paramref name="open"/>; by default
    /// bucket <c>{cluster}-imports</c>). Tests give their own.</summary>
    internal ClusterImports(NodeContext node, ILogger log, Func<string> here, Func<string, CancellationToken, Task<bool>> gone, ImportRun run,
        Func<CancellationToken, Task<INatsKVStore>>? open = null)
    {
        _node = node;
        _log = log;
        _here = here;
        _gone = gone;
        _run = run;
        _open = open ?? (ct => KvBuckets.OpenAsync(node.KeyValue, Bucket(node.Config.Cluster), node.Config.Replicas, RecordTimeout, ct));
        _ids = new AutoIds(node.KeyValue, node.Config.Replicas, start: 1);
        Root = new ImportRoot(node.Config.ImportRoot ?? Path.Combine(Path.GetFullPath(node.Config.DataPath), "import"));
    }

    /// <summary>This node's import root.</summary>
    public ImportRoot Root { get; }

    /// <summary>The KV bucket of the cluster's import jobs.</summary>
    public static string Bucket(string cluster) => $"{cluster}-imports";

    private static string Key(long id) => "job-" + id.ToString(CultureInfo.InvariantCulture);

    /// <summary>Checks and queues a job on this node (the collection exists: the caller checked it), answering its id.
    /// Throws <see cref="MilvusException"/> in the standalone server's words: no files, a missing partition, a file
    /// missing or outside the import root.</summary>
    public async Task<long> SubmitAsync(string database, string collection, string? partition, IReadOnlyList<string> files,
        IReadOnlyDictionary<string, string> options, Func<string, Task<bool>> hasPartition, CancellationToken ct)
    {
        if (files.Count == 0)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, "import: no files given");
        }

        if (!string.IsNullOrEmpty(partition) && !await hasPartition(partition).ConfigureAwait(false))
        {
            throw new MilvusException(MilvusCode.PartitionNotFound, $"partition not found[partition={partition}]");
        }

        var relative = files.Select(f => Root.Relative(BulkImportJobs.Resolve(Root, f))).ToList();
        var store = await StoreAsync(ct).ConfigureAwait(false);
        var id = await _ids.TakeAsync(Bucket(_node.Config.Cluster), 1, ct).ConfigureAwait(false);
        var job = new ClusterImportJob
        {
            Id = id,
            Database = database,
            Collection = collection,
            Partition = string.IsNullOrEmpty(partition) ? null : partition,
            Files = relative,
            Options = options,
            State = BulkImportState.Pending,
            Node = _here(),
            Created = DateTimeOffset.UtcNow,
        };
        var revision = await CreateRecordAsync(store, Key(id), job.ToBytes(), ct).ConfigureAwait(false);
        StartWorker();

        // Unbounded: refused only once the node stops, whose jobs the next reader then marks failed.
        _queue.Writer.TryWrite((job, revision));
        return id;
    }

    /// <summary>The job <paramref name="id"/> as the bucket's leader holds it, or null; a job still pending or importing
    /// whose node has left the cluster is marked failed first (compare-and-set: a record its node updated meanwhile is
    /// read again).</summary>
    public async Task<ClusterImportJob?> GetAsync(long id, CancellationToken ct)
    {
        var store = await StoreAsync(ct).ConfigureAwait(false);
        while (true)
        {
            var entry = await ReadRecordAsync(store, Key(id), ct).ConfigureAwait(false);
            if (entry is not { } found)
            {
                return null;
            }

            var (job, revision) = found;
            if (job.State is BulkImportState.Completed or BulkImportState.Failed || !await _gone(job.Node, ct).ConfigureAwait(false))
            {
                return job;
            }

            var failed = job with { State = BulkImportState.Failed, Reason = $"the node running the import ({job.Node}) left the cluster; the {job.ImportedRows} rows acknowledged before stay imported" };
            try
            {
                await UpdateRecordAsync(store, Key(id), failed.ToBytes(), revision, ct).ConfigureAwait(false);
                return failed;
            }
            catch (NatsKVWrongLastRevisionException)
            {
                // Changed meanwhile: read it again.
            }
        }
    }

    /// <summary>Every job of <paramref name="database"/> (and <paramref name="collection"/> when given), newest first.</summary>
    public async Task<IReadOnlyList<ClusterImportJob>> ListAsync(string database, string? collection, CancellationToken ct)
    {
        var store = await StoreAsync(ct).ConfigureAwait(false);
        var ids = new List<long>();
        try
        {
            await foreach (var key in store.GetKeysAsync(cancellationToken: ct).ConfigureAwait(false))
            {
                if (key.StartsWith("job-", StringComparison.Ordinal) && long.TryParse(key.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                {
                    ids.Add(id);
                }
            }
        }
        catch (NatsKVException)
        {
            // An empty bucket has no keys to list.
        }

        var jobs = new List<ClusterImportJob>();
        foreach (var id in ids.OrderDescending())
        {
            if (await GetAsync(id, ct).ConfigureAwait(false) is { } job && job.Database == database
                && (string.IsNullOrEmpty(collection) || job.Collection == collection))
            {
                jobs.Add(job);
            }
        }

        return jobs;
    }

    /// <summary>Whether the silo <paramref name="node"/> has left the cluster: declared dead, or unknown to the membership
    /// table as read now. A silo this node's snapshot does not know yet may have joined since the snapshot was taken
    /// (a node that accepted a job was a member when it did: a silo writes its row before it serves), so an unknown
    /// silo is looked up again in the table before its job is marked failed; one the table does not hold either has
    /// left it long enough ago for its row to be removed.</summary>
    internal static async Task<bool> GoneAsync(Orleans.Runtime.IClusterMembershipService membership, string node, CancellationToken ct)
    {
        var silo = Orleans.Runtime.SiloAddress.FromParsableString(node);
        var status = membership.CurrentSnapshot.GetSiloStatus(silo);
        if (status == Orleans.Runtime.SiloStatus.None)
        {
            try
            {
                // The default version: read the table once, whatever the snapshot's version.
                await membership.Refresh(default, ct).ConfigureAwait(false);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // The table cannot be read now (NATS unreachable): not known to be gone, so the job keeps its state.
                return false;
            }

            status = membership.CurrentSnapshot.GetSiloStatus(silo);
        }

        return status is Orleans.Runtime.SiloStatus.Dead or Orleans.Runtime.SiloStatus.None;
    }

    /// <summary>The record under <paramref name="key"/> as the bucket's stream leader holds it (a direct get may be
    /// answered by a replica that has not applied the latest write: a job another node accepted a moment ago would be
    /// "not found", a finished one still importing).</summary>
    private static async Task<(ClusterImportJob Job, ulong Revision)?> ReadRecordAsync(INatsKVStore store, string key, CancellationToken ct)
    {
        var read = await Retry.UntilAsync(RecordTimeout, c => KvLeaderReads.GetAsync(store, key, 0, c), ct).ConfigureAwait(false);
        return read.Value is { Length: > 0 } value ? (ClusterImportJob.FromBytes(value), read.Revision) : null;
    }

    /// <summary>Stores a new job's record, answering its revision. A create whose answer was lost (a timeout, then the
    /// retry refused because the first was stored; or the NATS client's own resend refused so) is settled by reading the
    /// leader: job ids are never reused, so a record holding these very bytes is this create's.</summary>
    private static Task<ulong> CreateRecordAsync(INatsKVStore store, string key, byte[] bytes, CancellationToken ct) =>
        Retry.UntilAsync(RecordTimeout, async c =>
        {
            try
            {
                return await store.CreateAsync(key, bytes, cancellationToken: c).ConfigureAwait(false);
            }
            catch (NatsKVCreateException)
            {
                if (await LandedAsync(store, key, bytes, 0, c).ConfigureAwait(false) is { } landed)
                {
                    return landed;
                }

                throw;
            }
        }, ct);

    /// <summary>Replaces a job's record if it still stands at <paramref name="revision"/>, answering the new revision; a
    /// write whose answer was lost is settled as a create's is (before, the job then took its own write for another
    /// node's and stopped, its record left importing for good). Throws <see cref="NatsKVWrongLastRevisionException"/>
    /// when another node wrote the record (it found this job's node gone).</summary>
    private static Task<ulong> UpdateRecordAsync(INatsKVStore store, string key, byte[] bytes, ulong revision, CancellationToken ct) =>
        Retry.UntilAsync(RecordTimeout, async c =>
        {
            try
            {
                return await store.UpdateAsync(key, bytes, revision, cancellationToken: c).ConfigureAwait(false);
            }
            catch (NatsKVWrongLastRevisionException)
            {
                if (await LandedAsync(store, key, bytes, revision, c).ConfigureAwait(false) is { } landed)
                {
                    return landed;
                }

                throw;
            }
        }, ct);

    /// <summary>The revision at which <paramref name="bytes"/> stand as the key's latest value past
    /// <paramref name="after"/>, read from the leader; null when the key holds anything else.</summary>
    private static async Task<ulong?> LandedAsync(INatsKVStore store, string key, byte[] bytes, ulong after, CancellationToken ct)
    {
        var now = await KvLeaderReads.GetAsync(store, key, 0, ct).ConfigureAwait(false);
        return now.Revision > after && now.Value is { } stored && stored.AsSpan().SequenceEqual(bytes) ? now.Revision : null;
    }

    private async Task<INatsKVStore> StoreAsync(CancellationToken ct)
    {
        if (_store is { } open)
        {
            return open;
        }

        await _opening.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return _store ??= await _open(ct).ConfigureAwait(false);
        }
        finally
        {
            _opening.Release();
        }
    }

    private void StartWorker()
    {
        lock (_queue)
        {
            if (_worker is null)
            {
                // The runner outlives the call that started it: it takes none of that call's context (its client's
                // session, its cancellation).
                using (ExecutionContext.SuppressFlow())
                {
                    _worker = Task.Run(RunAsync);
                }
            }
        }
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach (var (job, revision) in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await RunJobAsync(job, revision).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException && !_stop.IsCancellationRequested)
                {
                    // The job records its own failures; whatever escapes that must not stop the jobs queued after it.
                    LogUnrecorded(_log, job.Id, e);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Runs one job from the record its accepting call stored at <paramref name="revision"/>; the record follows:
    /// importing, the total once counted, the rows after each acknowledged batch, then completed or failed with the
    /// reason. A record another node changed (it found this node gone) stops the job.</summary>
    private async Task RunJobAsync(ClusterImportJob job, ulong revision)
    {
        var ct = _stop.Token;
        var store = await StoreAsync(ct).ConfigureAwait(false);
        var key = Key(job.Id);
        async Task SaveAsync(ClusterImportJob changed)
        {
            revision = await UpdateRecordAsync(store, key, changed.ToBytes(), revision, CancellationToken.None).ConfigureAwait(false);
            job = changed;
        }

        var opened = new BulkImportJob(Root, job.Id, job.Database, job.Collection, job.Partition, [.. job.Files.Select(f => Path.Combine(Root.Path, f))], job.Options);
        try
        {
            await SaveAsync(job with { State = BulkImportState.Importing }).ConfigureAwait(false);
            await _run(job, opened, _ => SaveAsync(job with { ImportedRows = opened.ImportedRows, TotalRows = opened.TotalRows }), ct).ConfigureAwait(false);
            var imported = opened.ImportedRows;
            var total = opened.TotalRows;
            await SaveAsync(job with { State = BulkImportState.Completed, ImportedRows = imported, TotalRows = total }).ConfigureAwait(false);
            LogCompleted(_log, job.Id, job.Collection, imported);
        }
        catch (NatsKVWrongLastRevisionException)
        {
            // Another node marked the job failed (it found this node gone): the record says why.
            LogTakenOver(_log, job.Id);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await FailAsync(SaveAsync, job, opened, "the node stopped during the import").ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var reason = e is Grpc.Core.RpcException rpc ? rpc.Status.Detail : e.Message;
            LogFailed(_log, job.Id, job.Collection, reason, e);
            await FailAsync(SaveAsync, job, opened, reason).ConfigureAwait(false);
        }
    }

    /// <summary>Records the job failed with <paramref name="reason"/> and the counts it reached (the total once its files
    /// were checked, even when no batch was acknowledged: the standalone server reports it so).</summary>
    private async Task FailAsync(Func<ClusterImportJob, Task> save, ClusterImportJob job, BulkImportJob opened, string reason)
    {
        try
        {
            await save(job with { State = BulkImportState.Failed, Reason = reason, ImportedRows = opened.ImportedRows, TotalRows = opened.TotalRows }).ConfigureAwait(false);
        }
        catch (NatsKVWrongLastRevisionException)
        {
            // Another node marked it failed first (it found this node gone).
            LogTakenOver(_log, job.Id);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not stored within the retries (NATS out of reach): the record keeps its last state until this node
            // leaves the cluster, when the next read marks it failed.
            LogUnrecorded(_log, job.Id, e);
        }
    }

    /// <summary>Runs a job's files in a node: the toolbox's two passes through a client over the node's own routing.</summary>
    private static async Task RunFilesAsync(IServiceProvider services, ClusterImportJob job, BulkImportJob opened, Func<CancellationToken, Task> afterBatch, CancellationToken ct)
    {
        await using var client = new Client.Remote.RemoteQuiverClient(
            new Client.QuiverClientOptions { Database = job.Database, Timeout = Timeout.InfiniteTimeSpan },
            new RoutingInvoker(services.GetRequiredService<MilvusRouting>(), job.Database));
        var schema = (await client.DescribeCollectionAsync(job.Collection, job.Database, ct).ConfigureAwait(false)).Schema;
        await Toolbox.Import.FileJobImport.RunAsync(client, schema, ServerImportJobs.FileJobOf(opened, afterBatch), ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        if (_worker is { } worker)
        {
            await worker.ConfigureAwait(false);
        }

        _stop.Dispose();
        _opening.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "import job {Id} into {Collection} completed: {Rows} rows")]
    private static partial void LogCompleted(ILogger log, long id, string collection, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "import job {Id} into {Collection} failed: {Reason}")]
    private static partial void LogFailed(ILogger log, long id, string collection, string reason, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "import job {Id} was marked failed by another node; stopped")]
    private static partial void LogTakenOver(ILogger log, long id);

    [LoggerMessage(Level = LogLevel.Error, Message = "import job {Id}: its state could not be recorded")]
    private static partial void LogUnrecorded(ILogger log, long id, Exception exception);
}

/// <summary>The one mapping from a server's import job (<see cref="BulkImportJob"/>: its target, its files confined to
/// the import root, its counters) to the toolbox's two passes (<see cref="Toolbox.Import.FileJobImport"/>), shared by
/// the standalone server's importer (<c>quiver serve</c>'s <c>ToolboxBulkImporter</c>) and a cluster node's jobs.</summary>
internal static class ServerImportJobs
{
    /// <summary><paramref name="job"/> as the toolbox runs it: every open through <see cref="BulkImportJob.OpenFile"/>,
    /// the total and the acknowledged rows counted on the job, then <paramref name="afterBatch"/> (when given) after
    /// each acknowledged batch.</summary>
    public static Toolbox.Import.FileJob FileJobOf(BulkImportJob job, Func<CancellationToken, Task>? afterBatch = null) => new()
    {
        Collection = job.Collection,
        Database = job.Database,
        Partition = job.Partition,
        Files = job.Files,
        Options = job.Options,
        Open = job.OpenFile,
        SetTotalRows = job.SetTotalRows,
        AddImportedAsync = (rows, ct) =>
        {
            job.AddImported(rows);
            return afterBatch?.Invoke(ct) ?? Task.CompletedTask;
        },
    };
}
