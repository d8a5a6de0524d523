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
internal sealed partial class ClusterImports : IAsyncDisposable
{
    private readonly NodeContext _node;
    private readonly IServiceProvider _services;
    private readonly ILogger _log;
    private readonly Channel<long> _queue = Channel.CreateUnbounded<long>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _opening = new(1, 1);
    private readonly AutoIds _ids;
    private INatsKVStore? _store;
    private Task? _worker;

    public ClusterImports(NodeContext node, IServiceProvider services, ILogger<ClusterImports> log)
    {
        _node = node;
        _services = services;
        _log = log;
        _ids = new AutoIds(node.KeyValue, node.Config.Replicas, start: 1);
        Root = new ImportRoot(node.Config.ImportRoot ?? Path.Combine(Path.GetFullPath(node.Config.DataPath), "import"));
    }

    /// <summary>This node's import root.</summary>
    public ImportRoot Root { get; }

    /// <summary>The KV bucket of the cluster's import jobs.</summary>
    public static string Bucket(string cluster) => $"{cluster}-imports";

    private static string Key(long id) => "job-" + id.ToString(CultureInfo.InvariantCulture);

    private string Here => _services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress.ToParsableString();

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
            Node = Here,
            Created = DateTimeOffset.UtcNow,
        };
        await Retry.UntilAsync(TimeSpan.FromSeconds(30), c => store.CreateAsync(Key(id), job.ToBytes(), cancellationToken: c).AsTask(), ct).ConfigureAwait(false);
        StartWorker();
        await _queue.Writer.WriteAsync(id, ct).ConfigureAwait(false);
        return id;
    }

    /// <summary>The job <paramref name="id"/> as stored, or null; a job still pending or importing whose node has left
    /// the cluster is marked failed first (compare-and-set: a record its node updated meanwhile is read again).</summary>
    public async Task<ClusterImportJob?> GetAsync(long id, CancellationToken ct)
    {
        var store = await StoreAsync(ct).ConfigureAwait(false);
        while (true)
        {
            var entry = await ReadAsync(store, Key(id), ct).ConfigureAwait(false);
            if (entry is not { } found)
            {
                return null;
            }

            var (job, revision) = found;
            if (job.State is BulkImportState.Completed or BulkImportState.Failed || !Gone(job.Node))
            {
                return job;
            }

            var failed = job with { State = BulkImportState.Failed, Reason = $"the node running the import ({job.Node}) left the cluster; the {job.ImportedRows} rows acknowledged before stay imported" };
            try
            {
                await store.UpdateAsync(Key(id), failed.ToBytes(), revision, cancellationToken: ct).ConfigureAwait(false);
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

    /// <summary>Whether the silo <paramref name="node"/> has left the cluster (declared dead, or unknown to the membership).</summary>
    private bool Gone(string node)
    {
        var snapshot = _services.GetRequiredService<Orleans.Runtime.IClusterMembershipService>().CurrentSnapshot;
        var status = snapshot.GetSiloStatus(Orleans.Runtime.SiloAddress.FromParsableString(node));
        return status is Orleans.Runtime.SiloStatus.Dead or Orleans.Runtime.SiloStatus.None;
    }

    private static async Task<(ClusterImportJob Job, ulong Revision)?> ReadAsync(INatsKVStore store, string key, CancellationToken ct)
    {
        return await Retry.UntilAsync(TimeSpan.FromSeconds(30), async c =>
        {
            try
            {
                var entry = await store.GetEntryAsync<byte[]>(key, cancellationToken: c).ConfigureAwait(false);
                return entry.Value is { Length: > 0 } value ? (ClusterImportJob.FromBytes(value), entry.Revision) : ((ClusterImportJob, ulong)?)null;
            }
            catch (Exception ex) when (ex is NatsKVKeyNotFoundException or NatsKVKeyDeletedException)
            {
                return null;
            }
        }, ct).ConfigureAwait(false);
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
            return _store ??= await KvBuckets.OpenAsync(_node.KeyValue, Bucket(_node.Config.Cluster), _node.Config.Replicas, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
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
            await foreach (var id in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                await RunJobAsync(id).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Runs one job; its record follows: importing, the total once counted, the rows after each acknowledged
    /// batch, then completed or failed with the reason. A record another node changed (it found this node gone) stops
    /// the job.</summary>
    private async Task RunJobAsync(long id)
    {
        var ct = _stop.Token;
        var store = await StoreAsync(ct).ConfigureAwait(false);
        if (await ReadAsync(store, Key(id), ct).ConfigureAwait(false) is not var (job, revision) || job.State != BulkImportState.Pending)
        {
            return;
        }

        async Task SaveAsync(ClusterImportJob changed)
        {
            revision = await store.UpdateAsync(Key(id), changed.ToBytes(), revision, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            job = changed;
        }

        try
        {
            await SaveAsync(job with { State = BulkImportState.Importing }).ConfigureAwait(false);
            var opened = new BulkImportJob(Root, id, job.Database, job.Collection, job.Partition, [.. job.Files.Select(f => Path.Combine(Root.Path, f))], job.Options);
            await using var client = new Client.Remote.RemoteQuiverClient(
                new Client.QuiverClientOptions { Database = job.Database, Timeout = Timeout.InfiniteTimeSpan },
                new RoutingInvoker(_services.GetRequiredService<MilvusRouting>(), job.Database));
            var schema = (await client.DescribeCollectionAsync(job.Collection, job.Database, ct).ConfigureAwait(false)).Schema;
            await Toolbox.Import.FileJobImport.RunAsync(client, schema, ServerImportJobs.FileJobOf(opened,
                _ => SaveAsync(job with { ImportedRows = opened.ImportedRows, TotalRows = opened.TotalRows })), ct).ConfigureAwait(false);
            var imported = opened.ImportedRows;
            var total = opened.TotalRows;
            await SaveAsync(job with { State = BulkImportState.Completed, ImportedRows = imported, TotalRows = total }).ConfigureAwait(false);
            LogCompleted(_log, id, job.Collection, imported);
        }
        catch (NatsKVWrongLastRevisionException)
        {
            // Another node marked the job failed (it found this node gone): the record says why.
            LogTakenOver(_log, id);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await FailAsync(SaveAsync, job, "the node stopped during the import").ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var reason = e is Grpc.Core.RpcException rpc ? rpc.Status.Detail : e.Message;
            await FailAsync(SaveAsync, job, reason).ConfigureAwait(false);
            LogFailed(_log, id, job.Collection, reason, e);
        }
    }

    private static async Task FailAsync(Func<ClusterImportJob, Task> save, ClusterImportJob job, string reason)
    {
        try
        {
            await save(job with { State = BulkImportState.Failed, Reason = reason }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not stored (NATS gone, or another node marked it failed first): the next read of a job whose node has
            // left marks it failed.
        }
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
