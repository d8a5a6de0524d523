using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
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

    /// <summary>The files as the accepting node's import root names them (relative to it), or an import object as the
    /// request named it (<c>object:NAME</c>, <see cref="ClusterImports.ObjectScheme"/>).</summary>
    public required IReadOnlyList<string> Files { get; init; }

    /// <summary>Whether the files were copied into the cluster's object store when the job was accepted (objects
    /// <c>job-{id}/{index}</c> of bucket <c>{cluster}-imports-files</c>), so that any node can run the job; false in a
    /// record of an older node, whose files only the accepting node's import root holds.</summary>
    public bool Stored { get; init; }

    /// <summary>For each file that is an import object (<c>object:NAME</c>), the object's digest when the job was accepted
    /// (null for a file of the import root; the list null when the job names no object): a run reads that object or fails.</summary>
    public IReadOnlyList<string?>? Digests { get; init; }

    /// <summary>On an <c>auto_id</c> collection (a job without <c>upsert</c>): the first of the keys reserved for the job's
    /// rows, row i of the job (in file order) taking key <c>KeysFrom + i</c>; recorded before the first batch is sent, so
    /// a node resuming the job sends every row again under the same key.</summary>
    public long? KeysFrom { get; init; }

    public required IReadOnlyDictionary<string, string> Options { get; init; }

    public BulkImportState State { get; init; }

    public long ImportedRows { get; init; }

    public long? TotalRows { get; init; }

    public string? Reason { get; init; }

    /// <summary>The silo that runs the job (its Orleans address, generation included: a restarted node is another).</summary>
    public required string Node { get; init; }

    public required DateTimeOffset Created { get; init; }

    /// <summary>Handed over: <see cref="Node"/> stopped (gracefully) and released the job, so any node may take it over
    /// now, as it would once that node had left the cluster (a graceful stop hands its jobs over instead of failing them).</summary>
    public bool Released { get; init; }

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
            ["stored"] = Stored,
            ["digests"] = Digests is null ? null : new JsonArray([.. Digests.Select(d => (JsonNode?)d)]),
            ["keysFrom"] = KeysFrom,
            ["options"] = options,
            ["state"] = State.ToString(),
            ["importedRows"] = ImportedRows,
            ["totalRows"] = TotalRows,
            ["reason"] = Reason,
            ["node"] = Node,
            ["created"] = Created.ToUnixTimeMilliseconds(),
            ["released"] = Released,
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
            Stored = json["stored"]?.GetValue<bool>() ?? false,
            Digests = json["digests"] is JsonArray digests ? [.. digests.Select(d => d?.GetValue<string>())] : null,
            KeysFrom = json["keysFrom"]?.GetValue<long>(),
            Options = json["options"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal),
            State = Enum.Parse<BulkImportState>(json["state"]!.GetValue<string>()),
            ImportedRows = json["importedRows"]!.GetValue<long>(),
            TotalRows = json["totalRows"]?.GetValue<long>(),
            Reason = json["reason"]?.GetValue<string>(),
            Node = json["node"]!.GetValue<string>(),
            Released = json["released"]?.GetValue<bool>() ?? false,
            Created = DateTimeOffset.FromUnixTimeMilliseconds(json["created"]!.GetValue<long>()),
        };
    }
}

/// <summary>Reads one job's files and writes their rows (in a node: the toolbox's two passes over the node's own routing,
/// <see cref="ClusterImports"/>); counts go on <paramref name="opened"/>, and <paramref name="afterBatch"/> is awaited after
/// each acknowledged batch. Throws to fail the job, with the reason the caller reports.</summary>
internal delegate Task ImportRun(ClusterImportJob job, BulkImportJob opened, ImportWrites writes, Func<CancellationToken, Task> afterBatch, CancellationToken ct);

/// <summary>
/// Bulk import on a cluster (Milvus's <c>Import</c>, <c>GetImportState</c>, <c>ListImportTasks</c>, REST
/// <c>jobs/import/*</c>). A job is accepted by any node and run by that node, which reads its files from its own import
/// root (<see cref="NodeConfig.ImportRoot"/>) with the standalone server's readers and checks
/// (<see cref="Toolbox.Import.FileJobImport"/>) and writes the rows through its own routing, in process
/// (<see cref="RoutingInvoker"/>): so rows are split by primary-key hash to the shards, and an auto_id collection's keys
/// come from the collection's allocator, exactly as for an insert through that node. Job ids are cluster-wide (an
/// <see cref="AutoIds"/> allocator starting at 1, bucket <c>{cluster}-imports-autoids</c>) and every job's state lives in KV
/// bucket <c>{cluster}-imports</c>, so any node answers progress and lists. The running node updates the record by
/// compare-and-set after each acknowledged batch; a job whose node has left the cluster (killed, stopped) is taken over
/// by the next node that reads it or sweeps the jobs (each node every <see cref="SweepEvery"/>, jittered) and resumed
/// from its progress. Jobs on one node run one at a time in submission order, as on the standalone server.
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

    /// <summary>How often, on average, each node sweeps the jobs for ones whose node left the cluster
    /// (<see cref="StartSweeping"/>).</summary>
    public static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(20);

    private readonly NodeContext _node;
    private readonly ILogger _log;
    private readonly Func<string> _here;
    private readonly Func<string, CancellationToken, Task<bool>> _gone;
    private readonly ImportRun _run;
    private readonly Func<CancellationToken, Task<INatsKVStore>> _open;
    private readonly Func<CancellationToken, Task<INatsObjStore>> _openFiles;
    private readonly Channel<(ClusterImportJob Job, ulong Revision, bool Resumed)> _queue =
        Channel.CreateUnbounded<(ClusterImportJob, ulong, bool)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly CancellationTokenSource _stop = new();
    private Task? _handOver;
    private readonly SemaphoreSlim _opening = new(1, 1);
    private readonly AutoIds _ids;
    private INatsKVStore? _store;
    private INatsObjStore? _files;
    private Task? _worker;
    private Task _sweep = Task.CompletedTask;

    /// <summary>The jobs this node's sweeps saw Completed or Failed (an ended job never changes again).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, byte> _ended = new();

    public ClusterImports(NodeContext node, IServiceProvider services, ILogger<ClusterImports> log)
        : this(node, log,
            () => services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress.ToParsableString(),
            (silo, ct) => GoneAsync(services.GetRequiredService<Orleans.Runtime.IClusterMembershipService>(), silo, ct),
            (job, opened, writes, afterBatch, ct) => RunFilesAsync(services, job, opened, writes, afterBatch, ct))
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
        _open = open ?? (ct => KvBuckets.OpenAsync(node.KeyValue, Bucket(node.Config.Cluster), node.Config.Replicas, RecordTimeout, ct, KvLandedKey.History));
        _ids = new AutoIds(node.KeyValue, node.Config.Replicas, start: 1);
        _openFiles = ct => Retry.UntilAsync(RecordTimeout, async c => await new NatsObjContext(node.JetStream)
            .CreateObjectStoreAsync(new NatsObjConfig(FilesBucket(node.Config.Cluster)) { NumberOfReplicas = node.Config.Replicas }, c).ConfigureAwait(false), ct);
        Root = new ImportRoot(node.Config.ImportRoot ?? Path.Combine(Path.GetFullPath(node.Config.DataPath), "import"));
    }

    /// <summary>This node's import root.</summary>
    public ImportRoot Root { get; }

    /// <summary>The KV bucket of the cluster's import jobs.</summary>
    public static string Bucket(string cluster) => $"{cluster}-imports";

    /// <summary>The object-store bucket of the files of the cluster's import jobs.</summary>
    public static string FilesBucket(string cluster) => $"{cluster}-imports-files";

    private static string Key(long id) => "job-" + id.ToString(CultureInfo.InvariantCulture);

    /// <summary>The object holding file <paramref name="index"/> of job <paramref name="id"/>.</summary>
    private static string ObjectName(long id, int index) => string.Create(CultureInfo.InvariantCulture, $"job-{id}/{index}");

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

        var (resolved, digests) = await ResolveFilesAsync(files, ct).ConfigureAwait(false);
        var relative = resolved.Select((f, i) => f is null ? files[i] : Root.Relative(f)).ToList();
        var store = await StoreAsync(ct).ConfigureAwait(false);
        var id = await _ids.TakeAsync(Bucket(_node.Config.Cluster), 1, ct).ConfigureAwait(false);
        await UploadAsync(id, resolved, ct).ConfigureAwait(false);
        var job = new ClusterImportJob
        {
            Id = id,
            Database = database,
            Collection = collection,
            Partition = string.IsNullOrEmpty(partition) ? null : partition,
            Files = relative,
            Stored = true,
            Digests = digests,
            Options = options,
            State = BulkImportState.Pending,
            Node = _here(),
            Created = DateTimeOffset.UtcNow,
        };
        var revision = await CreateRecordAsync(store, Key(id), job.ToBytes(), ct).ConfigureAwait(false);
        StartWorker();

        // Unbounded: refused only once the node stops, which then hands the job over at once.
        if (!_queue.Writer.TryWrite((job, revision, false)))
        {
            await ReleaseAsync(changed => UpdateRecordAsync(store, Key(id), changed.ToBytes(), revision, CancellationToken.None), job, null).ConfigureAwait(false);
        }

        return id;
    }

    /// <summary>Copies the files of job <paramref name="id"/> (full paths inside the import root; null for an import
    /// object, which is read where it is) into the cluster's object store, opened as the importer opens them (confined to
    /// the root), so that any node can run the job.</summary>
    private async Task UploadAsync(long id, IReadOnlyList<string?> files, CancellationToken ct)
    {
        var objects = await FilesAsync(ct).ConfigureAwait(false);
        for (var i = 0; i < files.Count; i++)
        {
            if (files[i] is null)
            {
                continue;
            }

            FileStream source;
            try
            {
                source = Root.Open(files[i]!, out _);
            }
            catch (ImportPathException e)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid, e.Message);
            }

            await using (source.ConfigureAwait(false))
            {
                var name = ObjectName(id, i);
                await Retry.UntilAsync(RecordTimeout, async c =>
                {
                    source.Position = 0;
                    return await objects.PutAsync(name, source, leaveOpen: true, c).ConfigureAwait(false);
                }, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Copies the stored files of <paramref name="job"/> into a folder of their own below this node's data path
    /// (file i as <c>{i}/{its name}</c>); the importer reads them there.</summary>
    private async Task DownloadAsync(ClusterImportJob job, CancellationToken ct)
    {
        var folder = StageFolder(job.Id);
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        for (var i = 0; i < job.Files.Count; i++)
        {
            var path = StagedFile(folder, job, i);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await using var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
            var (objects, name, missing, digest) = await SourceOfAsync(job, i, ct).ConfigureAwait(false);
            await Retry.UntilAsync(RecordTimeout, async c =>
            {
                file.SetLength(0);
                file.Position = 0;
                try
                {
                    var read = await objects.GetAsync(name, file, leaveOpen: true, c).ConfigureAwait(false);
                    CheckDigest(job, i, read.Digest, digest);
                }
                catch (NatsObjNotFoundException)
                {
                    throw new InvalidOperationException(missing);
                }

                return true;
            }, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the stored files of a job that ended; a failure only leaves them behind (logged).</summary>
    private async Task DeleteFilesAsync(ClusterImportJob job)
    {
        try
        {
            var objects = await FilesAsync(CancellationToken.None).ConfigureAwait(false);
            // Import objects are the user's: only the copies the accepting node stored go.
            for (var i = 0; i < job.Files.Count; i++)
            {
                if (ObjectOf(job.Files[i]) is not null)
                {
                    continue;
                }

                try
                {
                    await objects.DeleteAsync(ObjectName(job.Id, i)).ConfigureAwait(false);
                }
                catch (NatsObjNotFoundException)
                {
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFilesLeft(_log, job.Id, e);
        }
    }

    private string StageFolder(long id) =>
        Path.Combine(Path.GetFullPath(_node.Config.DataPath), "import-jobs", "job-" + id.ToString(CultureInfo.InvariantCulture));

    private static string StagedFile(string folder, ClusterImportJob job, int index) =>
        Path.Combine(folder, index.ToString(CultureInfo.InvariantCulture), StagedName(job.Files[index]));

    /// <summary>The job <paramref name="id"/> as the bucket's leader holds it, or null; a job still pending or importing
    /// whose node has left the cluster is taken over first: the record names this node (compare-and-set: a record
    /// another node updated meanwhile is read again) and this node's worker resumes the job from the progress the record
    /// holds. A job of an older node, whose files are not in the object store, is marked failed instead.</summary>
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
            if (job.State is BulkImportState.Completed or BulkImportState.Failed || _stop.IsCancellationRequested
                || (!job.Released && !await _gone(job.Node, ct).ConfigureAwait(false)))
            {
                // Running, or this node is stopping (it hands its own jobs over and takes none).
                return job;
            }

            if (!job.Stored)
            {
                // A job of an older node: its files are on that node's disk only.
                var failed = job with { State = BulkImportState.Failed, Reason = $"the node running the import ({job.Node}) left the cluster; the {job.ImportedRows} rows acknowledged before stay imported" };
                try
                {
                    await UpdateRecordAsync(store, Key(id), failed.ToBytes(), revision, ct).ConfigureAwait(false);
                    return failed;
                }
                catch (KvRecordMovedException)
                {
                    continue;
                }
            }

            // Taken over: this node runs the job from the progress its record holds (compare-and-set, so one node does).
            var taken = job with { Node = _here(), Released = false };
            try
            {
                var now = await UpdateRecordAsync(store, Key(id), taken.ToBytes(), revision, ct).ConfigureAwait(false);
                LogTakingOver(_log, id, job.Node, job.ImportedRows);
                StartWorker();
                _queue.Writer.TryWrite((taken, now, true));
                return taken;
            }
            catch (KvRecordMovedException)
            {
                // Changed meanwhile: read it again.
            }
        }
    }

    /// <summary>Every job of <paramref name="database"/> (and <paramref name="collection"/> when given), newest first.</summary>
    public async Task<IReadOnlyList<ClusterImportJob>> ListAsync(string database, string? collection, CancellationToken ct)
    {
        var jobs = new List<ClusterImportJob>();
        foreach (var id in (await IdsAsync(ct).ConfigureAwait(false)).OrderDescending())
        {
            if (await GetAsync(id, ct).ConfigureAwait(false) is { } job && job.Database == database
                && (string.IsNullOrEmpty(collection) || job.Collection == collection))
            {
                jobs.Add(job);
            }
        }

        return jobs;
    }

    /// <summary>The ids of every job in the bucket (a key listing: no value is read).</summary>
    private async Task<List<long>> IdsAsync(CancellationToken ct)
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

        return ids;
    }

    /// <summary>Sweeps the jobs every <paramref name="every"/> on average (each pause drawn between half and one and a half
    /// times it, so that nodes started together do not sweep together) until the node stops (<see cref="SweepAsync"/>):
    /// a job whose node died is taken over even when nobody reads it. A sweep that fails (NATS unreachable for longer
    /// than its retries) is logged and the next one runs.</summary>
    public void StartSweeping(TimeSpan every) => _sweep = BackgroundLoop.Jittered(every, SweepAsync, e => LogSweepFailed(_log, e), _stop.Token);

    /// <summary>One sweep: lists the job keys and reads each job not known to have ended, oldest first, as a progress
    /// call reads it (<see cref="GetAsync"/>), so a pending or importing job whose node has left the cluster is taken
    /// over by this node (compare-and-set: with a reader or another node's sweep, one node wins). A job seen Completed
    /// or Failed never changes again and is not read by later sweeps of this node: a sweep reads the values of the
    /// jobs still running (and, once per node, of each job that ended).</summary>
    internal async Task SweepAsync(CancellationToken ct)
    {
        foreach (var id in (await IdsAsync(ct).ConfigureAwait(false)).Order())
        {
            if (!_ended.ContainsKey(id) && await GetAsync(id, ct).ConfigureAwait(false) is { State: BulkImportState.Completed or BulkImportState.Failed })
            {
                _ended.TryAdd(id, 0);
            }
        }
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
    /// "not found", a finished one still importing): its latest value that landed, and that value's revision
    /// (<see cref="KvLandedRecords"/>: on nats-server 2.9.10 two nodes' writes over one revision can both be stored, and
    /// only the first counts).</summary>
    private static async Task<(ClusterImportJob Job, ulong Revision)?> ReadRecordAsync(INatsKVStore store, string key, CancellationToken ct)
    {
        var read = await Retry.UntilAsync(RecordTimeout, c => KvLandedRecords.ReadAsync(store, key, c), ct).ConfigureAwait(false);
        return read is { Value.Length: > 0 } landed ? (ClusterImportJob.FromBytes(landed.Value), landed.Revision) : null;
    }

    /// <summary>Stores a new job's record, answering its revision. A create whose answer was lost is settled by the bytes
    /// stored after it (<see cref="KvLandedRecords.WriteAsync"/>); job ids are never reused, so nothing else is there.</summary>
    private static async Task<ulong> CreateRecordAsync(INatsKVStore store, string key, byte[] bytes, CancellationToken ct)
    {
        var stamped = KvLandedRecords.Stamp(bytes, 0);
        return await Retry.UntilAsync(RecordTimeout, c => KvLandedRecords.WriteAsync(store, key, stamped, 0, c), ct).ConfigureAwait(false)
            ?? throw new KvRecordMovedException(key);
    }

    /// <summary>Replaces a job's record if its latest landed value is still the one at <paramref name="revision"/>
    /// (the value this node last wrote or read), answering the revision the new value landed at. A write that did not
    /// land because a value that did not land either came between (a node that raced this one over the same revision:
    /// both stored, on nats-server 2.9.10) is written again over it; a write whose answer was lost is settled by its
    /// bytes. Throws <see cref="KvRecordMovedException"/> when another node's value landed since (it took the job over).</summary>
    private static async Task<ulong> UpdateRecordAsync(INatsKVStore store, string key, byte[] bytes, ulong revision, CancellationToken ct) =>
        await KvLandedRecords.ReplaceAsync(store, key, bytes, revision, RecordTimeout, ct).ConfigureAwait(false)
            ?? throw new KvRecordMovedException(key);

    private async Task<INatsObjStore> FilesAsync(CancellationToken ct) => _files ??= await _openFiles(ct).ConfigureAwait(false);

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
            await foreach (var (job, revision, resumed) in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await RunJobAsync(job, revision, resumed).ConfigureAwait(false);
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

    /// <summary>Runs one job from the record stored at <paramref name="revision"/> (by its accepting call, or by this node
    /// taking it over: <paramref name="resumed"/>); the record follows: importing, the total once counted, the rows after
    /// each acknowledged batch, then completed or failed with the reason. A resumed job skips the rows its record counts
    /// and sends the rest so that none is stored twice (<see cref="ImportWrites"/>). A record another node changed (it
    /// found this node gone and took the job over) stops the job. The job's stored files are read from a copy in this
    /// node's data path, deleted when the run ends; the stored files are deleted when the job ends.</summary>
    private async Task RunJobAsync(ClusterImportJob job, ulong revision, bool resumed)
    {
        var ct = _stop.Token;
        var store = await StoreAsync(ct).ConfigureAwait(false);
        var key = Key(job.Id);
        async Task SaveAsync(ClusterImportJob changed)
        {
            revision = await UpdateRecordAsync(store, key, changed.ToBytes(), revision, CancellationToken.None).ConfigureAwait(false);
            job = changed;
        }

        var skip = job.ImportedRows;
        var stage = job.Stored ? StageFolder(job.Id) : null;
        var root = stage is null ? Root : new ImportRoot(stage);
        var files = job.Files.Select((f, i) => stage is null ? Path.Combine(Root.Path, f) : StagedFile(stage, job, i)).ToList();
        var opened = new BulkImportJob(root, job.Id, job.Database, job.Collection, job.Partition, files, job.Options);
        var writes = new ImportWrites(skip, resumed, job.KeysFrom, (first, _) => SaveAsync(job with { KeysFrom = first }), opened.AddImported);
        var ended = false;
        try
        {
            await SaveAsync(job with { State = BulkImportState.Importing }).ConfigureAwait(false);
            if (stage is not null)
            {
                await DownloadAsync(job, ct).ConfigureAwait(false);
            }

            // Batches skipped on a resumed run count again up to the rows the record holds: written only past them.
            await _run(job, opened, writes, _ => opened.ImportedRows > job.ImportedRows
                ? SaveAsync(job with { ImportedRows = opened.ImportedRows, TotalRows = opened.TotalRows })
                : Task.CompletedTask, ct).ConfigureAwait(false);
            var imported = opened.ImportedRows;
            var total = opened.TotalRows;
            await SaveAsync(job with { State = BulkImportState.Completed, ImportedRows = imported, TotalRows = total }).ConfigureAwait(false);
            ended = true;
            LogCompleted(_log, job.Id, job.Collection, imported);
        }
        catch (KvRecordMovedException)
        {
            // Another node took the job over (it found this node gone): it runs it now.
            LogTakenOver(_log, job.Id);
        }
        catch (Exception e) when (e is not OutOfMemoryException && ct.IsCancellationRequested && job.Stored)
        {
            // The node is stopping (whatever the stop made the run throw): the job is handed over, not failed.
            await ReleaseAsync(SaveAsync, job, e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // A job of an older node, whose files are on its disk only, cannot be run by another node.
            ended = await FailAsync(SaveAsync, job, opened, "the node stopped during the import").ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var reason = e is Grpc.Core.RpcException rpc ? rpc.Status.Detail : e.Message;
            LogFailed(_log, job.Id, job.Collection, reason, e);
            ended = await FailAsync(SaveAsync, job, opened, reason).ConfigureAwait(false);
        }
        finally
        {
            if (stage is not null && Directory.Exists(stage))
            {
                Directory.Delete(stage, recursive: true);
            }
        }

        if (ended && job.Stored)
        {
            await DeleteFilesAsync(job).ConfigureAwait(false);
        }
    }

    /// <summary>Hands a job this node runs or has queued over to the other nodes as this node stops: its record keeps
    /// its state and progress and is marked released (compare-and-set on the revision this node wrote last), so the next
    /// node that reads or sweeps it takes it over and resumes it as it would after this node's death
    /// (<see cref="GetAsync"/>), without waiting for this node to leave the membership.</summary>
    private async Task ReleaseAsync(Func<ClusterImportJob, Task> save, ClusterImportJob job, Exception? stopped)
    {
        try
        {
            await save(job with { Released = true }).ConfigureAwait(false);
            LogHandedOver(_log, job.Id, job.ImportedRows, stopped);
        }
        catch (KvRecordMovedException)
        {
            LogTakenOver(_log, job.Id);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not stored (NATS out of reach): the record keeps naming this node, and the job is taken over once this
            // node has left the cluster, as after its death.
            LogUnrecorded(_log, job.Id, e);
        }
    }

    /// <summary>Stops this node's jobs and hands them over (<see cref="ReleaseAsync"/>): the job running stops at its
    /// cancellation and is released with the progress its record holds, the jobs queued behind it are released as they
    /// stand, and this node takes over no job from then on. Called as the node starts its stop, before the silo stops
    /// (whose grains the running job writes through); runs once.</summary>
    public Task HandOverAsync()
    {
        lock (_queue)
        {
            return _handOver ??= HandOverOnceAsync();
        }
    }

    private async Task HandOverOnceAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            // Ended before the queue closes. A job it took over that the stopped worker never runs is released below.
            await _sweep.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _queue.Writer.TryComplete();
        Task? worker;
        lock (_queue)
        {
            worker = _worker;
        }

        if (worker is not null)
        {
            await worker.ConfigureAwait(false);
        }

        while (_queue.Reader.TryRead(out var queued))
        {
            var (job, revision, _) = queued;
            if (!job.Stored)
            {
                continue;
            }

            var store = await StoreAsync(CancellationToken.None).ConfigureAwait(false);
            await ReleaseAsync(changed => UpdateRecordAsync(store, Key(job.Id), changed.ToBytes(), revision, CancellationToken.None), job, null).ConfigureAwait(false);
        }
    }

    /// <summary>Records the job failed with <paramref name="reason"/> and the counts it reached (the total once its files
    /// were checked, even when no batch was acknowledged: the standalone server reports it so).</summary>
    private async Task<bool> FailAsync(Func<ClusterImportJob, Task> save, ClusterImportJob job, BulkImportJob opened, string reason)
    {
        try
        {
            // A resumed run that failed before it passed the rows its record counts keeps that count.
            await save(job with { State = BulkImportState.Failed, Reason = reason, ImportedRows = Math.Max(job.ImportedRows, opened.ImportedRows), TotalRows = opened.TotalRows ?? job.TotalRows }).ConfigureAwait(false);
            return true;
        }
        catch (KvRecordMovedException)
        {
            // Another node took it over first (it found this node gone).
            LogTakenOver(_log, job.Id);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not stored within the retries (NATS out of reach): the record keeps its last state until this node
            // leaves the cluster, when the next read takes it over.
            LogUnrecorded(_log, job.Id, e);
        }

        return false;
    }

    /// <summary>Runs a job's files in a node: the toolbox's two passes through a client over the node's own routing.</summary>
    private static async Task RunFilesAsync(IServiceProvider services, ClusterImportJob job, BulkImportJob opened, ImportWrites writes, Func<CancellationToken, Task> afterBatch, CancellationToken ct)
    {
        var routing = services.GetRequiredService<MilvusRouting>();
        await using var client = new Client.Remote.RemoteQuiverClient(
            new Client.QuiverClientOptions { Database = job.Database, Timeout = Timeout.InfiniteTimeSpan },
            new RoutingInvoker(routing, job.Database, writes));
        var schema = (await client.DescribeCollectionAsync(job.Collection, job.Database, ct).ConfigureAwait(false)).Schema;
        var upsert = job.Options.TryGetValue("upsert", out var u) && bool.TryParse(u, out var up) && up;
        if (schema.PrimaryKey is { AutoId: true } pk && !upsert)
        {
            // The job's rows take keys reserved for all of them at once (the total is counted before any batch is sent).
            writes.KeyRows(pk.Name, c => routing.TakeAutoIdsAsync(job.Database, job.Collection, checked((int)opened.TotalRows!.Value), c));
        }

        await Toolbox.Import.FileJobImport.RunAsync(client, schema, ServerImportJobs.FileJobOf(opened, afterBatch), ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await HandOverAsync().ConfigureAwait(false);
        _stop.Dispose();
        _opening.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "import job {Id} into {Collection} completed: {Rows} rows")]
    private static partial void LogCompleted(ILogger log, long id, string collection, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "import job {Id} into {Collection} failed: {Reason}")]
    private static partial void LogFailed(ILogger log, long id, string collection, string reason, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "import job {Id}: this node stops; handed over to the other nodes after the {Rows} rows acknowledged")]
    private static partial void LogHandedOver(ILogger log, long id, long rows, Exception? stopped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "import job {Id} was taken over by another node; stopped")]
    private static partial void LogTakenOver(ILogger log, long id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "import job {Id}: its node {Node} left the cluster; this node resumes it after the {Rows} rows acknowledged")]
    private static partial void LogTakingOver(ILogger log, long id, string node, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "import jobs: a sweep for jobs whose node left the cluster failed; the next sweep runs")]
    private static partial void LogSweepFailed(ILogger log, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "import job {Id}: its stored files could not be deleted")]
    private static partial void LogFilesLeft(ILogger log, long id, Exception exception);

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
