using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using Quiver.Catalog;
using Quiver.Indexing;
using Quiver.Storage;

namespace Quiver.Cluster.Nodes;

/// <summary>Where a job of work stands (<see cref="IndexBuildJob"/>).</summary>
internal enum WorkState
{
    /// <summary>Waiting for a node to take it.</summary>
    Queued,

    /// <summary>Being built by <see cref="IndexBuildJob.Taker"/>.</summary>
    Taken,

    /// <summary>Done; <see cref="IndexBuildJob.Result"/> names the one committed file.</summary>
    Done,

    /// <summary>The job failed (<see cref="IndexBuildJob.Error"/>); the shard drops the record and fails the segment's
    /// build or the merge, which its maintenance queues again later.</summary>
    Failed,
}

/// <summary>One job of work as a record of KV bucket <c>{cluster}-work</c>: the index build of one sealed segment (key
/// <see cref="ClusterWork.Key"/>; what to build, <see cref="Build"/>, the segment's file as object <see cref="Segment"/>
/// of the shard's object store <c>{Storage}-files</c>) or one merge of compaction (key <see cref="ClusterWork.MergeKey"/>;
/// the merge as object <see cref="Plan"/>, its sources' files as objects <see cref="Sources"/>); who runs it and which
/// attempt, and the committed result.</summary>
internal sealed record IndexBuildJob
{
    /// <summary>The shard's storage name (<see cref="ShardKeys.Storage"/>).</summary>
    public required string Storage { get; init; }

    /// <summary>An index build: the segment file's object name in the shard's object store.</summary>
    public string? Segment { get; init; }

    /// <summary>An index build: what to build.</summary>
    public SegmentIndexBuild? Build { get; init; }

    /// <summary>A merge: the object of the shard's object store that holds it (<see cref="Quiver.Shards.SegmentMerge"/>
    /// as JSON: its kept rows can outgrow a KV value).</summary>
    public string? Plan { get; init; }

    /// <summary>A merge: the object names of its sources' files, in the merge's order.</summary>
    public IReadOnlyList<string>? Sources { get; init; }

    public WorkState State { get; init; }

    /// <summary>The silo building it (set when taken; a later taker replaces it).</summary>
    public string? Taker { get; init; }

    /// <summary>How many times the job was taken: each taker's result object carries its attempt, so two takers never
    /// write the same object.</summary>
    public int Attempt { get; init; }

    /// <summary>The committed result's object name in the shard's object store (when <see cref="WorkState.Done"/>).</summary>
    public string? Result { get; init; }

    public string? Error { get; init; }

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, ManifestFile.Json);

    public static IndexBuildJob FromBytes(byte[] value) =>
        JsonSerializer.Deserialize<IndexBuildJob>(value, ManifestFile.Json) ?? throw new JsonException("null job");
}

/// <summary>
/// Index builds as work any node takes (docs/cluster.md, "Index builds as work"). A shard's engine does not build the
/// indexes of its sealed segments itself (<see cref="QuiverOptions.IndexBuildsElsewhere"/>): it writes a job record
/// (<see cref="IndexBuildJob"/>, queued) into KV bucket <c>{cluster}-work</c> and waits for it. Every node sweeps the
/// bucket (<see cref="StartWorking"/>) and takes a queued job by compare-and-set on the record's revision (so one node
/// takes it), or a job whose taker has left the cluster (Orleans membership, as an import job is taken over). The taker
/// downloads the segment's file from the shard's object store, builds the index exactly as the shard would (same
/// parameters and seed: <see cref="SegmentIndexBuild.Run"/>), uploads the file as an object named by its attempt, and
/// commits it by compare-and-set from the revision its take wrote: a taker that was taken over (declared dead, yet still
/// running) is refused and deletes its object, so one result is ever committed. Records are landed values
/// (<see cref="KvLandedRecords"/>): on nats-server 2.9.10 two takes racing over one revision can both be stored, and only
/// the first stored counts, so one node builds. The shard copies the committed object
/// to the index's own file through its file system (which uploads it under the name every later owner and replica of
/// the shard reads), loads it, then deletes the record and the result object.
/// </summary>
internal sealed partial class ClusterWork : IAsyncDisposable
{
    /// <summary>How long a record's read or write is retried while JetStream cannot answer it.</summary>
    private static readonly TimeSpan RecordTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How often a shard waiting for its build reads the job's record.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    /// <summary>How often, on average, each node sweeps the jobs (<see cref="StartWorking"/>).</summary>
    public static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(2);

    private readonly NodeContext _node;
    private readonly ILogger _log;
    private readonly Func<string> _here;
    private readonly Func<string, CancellationToken, Task<bool>> _gone;
    private readonly Func<CancellationToken, Task<INatsKVStore>> _open;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sweeping = new(1, 1);
    private INatsKVStore? _store;
    private Task _loop = Task.CompletedTask;
    private int _built;
    private int _lost;
    private int _disposed;

    public ClusterWork(NodeContext node, IServiceProvider services, ILogger<ClusterWork> log)
        : this(node, log,
            () => services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress.ToParsableString(),
            (silo, ct) => ClusterImports.GoneAsync(services.GetRequiredService<Orleans.Runtime.IClusterMembershipService>(), silo, ct))
    {
    }

    /// <summary>The work of <paramref name="node"/>, named <paramref name="here"/> in the jobs it takes, with
    /// <paramref name="gone"/> telling whether a named taker has left the cluster. Tests give their own.</summary>
    internal ClusterWork(NodeContext node, ILogger log, Func<string> here, Func<string, CancellationToken, Task<bool>> gone)
    {
        _node = node;
        _log = log;
        _here = here;
        _gone = gone;
        _open = ct => KvBuckets.OpenAsync(node.KeyValue, Bucket(node.Config.Cluster), node.Config.Replicas, RecordTimeout, ct, KvLandedKey.History);
    }

    /// <summary>The KV bucket of the cluster's work.</summary>
    public static string Bucket(string cluster) => $"{cluster}-work";

    /// <summary>The record of the build of index <paramref name="indexId"/> over segment <paramref name="segmentId"/> of
    /// the shard stored as <paramref name="storage"/> (ids are unique within a shard's engine).</summary>
    public static string Key(string storage, long indexId, long segmentId) =>
        string.Create(CultureInfo.InvariantCulture, $"index.{storage}.{indexId}.{segmentId}");

    /// <summary>Index builds this node ran and committed.</summary>
    public int Built => Volatile.Read(ref _built);

    /// <summary>Results this node built whose commit was refused (the job was taken over meanwhile) and deleted.</summary>
    public int Lost => Volatile.Read(ref _lost);

    /// <summary>Test seam, null in a node: awaited by a taker after its result is uploaded, before the commit.</summary>
    internal Func<IndexBuildJob, Task>? BeforeCommit { get; set; }

    /// <summary>Test seam, null in a node: wraps the work bucket as this node opens it (a test holds its writes).</summary>
    internal Func<INatsKVStore, INatsKVStore>? WrapStore { get; set; }

    /// <summary>Test seam, null in a node: called by a shard when it created a job's record.</summary>
    internal Action<string>? Queued { get; set; }

    /// <summary>Test seam, null in a node: called by a shard with the job whose result it adopted.</summary>
    internal Action<IndexBuildJob>? Adopted { get; set; }

    /// <summary>What a shard's engine calls instead of building an index (<see cref="QuiverOptions.IndexBuildsElsewhere"/>):
    /// <paramref name="storage"/> is the shard's storage name, <paramref name="cacheRoot"/> its engine's data folder (the
    /// object store's names are <c>data/</c> and the path below it) and <paramref name="fs"/> its file system.</summary>
    public Func<SegmentIndexBuild, CancellationToken, Task> For(string storage, string cacheRoot, IFileSystem fs) =>
        (build, ct) => BuildElsewhereAsync(storage, cacheRoot, fs, build, ct);

    /// <summary>Queues the build (a record, unless one is there: a shard that moved finds its predecessor's), waits until
    /// a node committed its result, copies it to <see cref="SegmentIndexBuild.IndexPath"/> through
    /// <paramref name="fs"/>, and removes the record and the result object. A failed build throws its node's reason.</summary>
    internal Task BuildElsewhereAsync(string storage, string cacheRoot, IFileSystem fs, SegmentIndexBuild build, CancellationToken ct) =>
        ElsewhereAsync(
            Key(storage, build.Index.Id, build.SegmentId),
            new IndexBuildJob { Storage = storage, Segment = ObjectName(cacheRoot, build.SegmentPath), Build = build },
            build.IndexPath, fs, $"index build of segment {build.SegmentId}", ct);

    /// <summary>Queues <paramref name="queued"/> as the record <paramref name="key"/> (unless one is there), waits until a
    /// node committed its result, copies it to <paramref name="target"/> through <paramref name="fs"/>, and removes the
    /// record, the result object and the job's plan object. A failed job throws its node's reason.</summary>
    private async Task ElsewhereAsync(string key, IndexBuildJob queued, string target, IFileSystem fs, string what, CancellationToken ct)
    {
        var store = await StoreAsync(ct).ConfigureAwait(false);
        while (true)
        {
            if (await ReadRecordAsync(store, key, ct).ConfigureAwait(false) is not { } read)
            {
                // Not landed when one was created meanwhile (by this shard's previous owner): read it.
                var head = await Retry.UntilAsync(RecordTimeout, c => KvLeaderReads.GetAsync(store, key, 0, c), ct).ConfigureAwait(false);
                var stamped = KvLandedRecords.Stamp(queued.ToBytes(), head.Revision);
                if (await Retry.UntilAsync(RecordTimeout, c => KvLandedRecords.WriteAsync(store, key, stamped, head.Revision, c), ct).ConfigureAwait(false) is not null)
                {
                    LogQueued(_log, key);
                    Queued?.Invoke(key);
                }

                continue;
            }

            var job = IndexBuildJob.FromBytes(read.Value);
            if (job.State == WorkState.Done)
            {
                await AdoptAsync(store, key, read.Head, job, target, fs, ct).ConfigureAwait(false);
                return;
            }

            if (job.State == WorkState.Failed)
            {
                await DeleteRecordAsync(store, key, read.Head, ct).ConfigureAwait(false);
                await DeletePlanAsync(job, ct).ConfigureAwait(false);
                throw new QuiverException(QuiverErrorCode.Unavailable, $"{what} on node {job.Taker} failed: {job.Error}");
            }

            await Task.Delay(Poll, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Copies the committed result into <paramref name="target"/> (write-temp-then-rename through the shard's
    /// file system, which uploads it under the shard's own name), then deletes the record, the result object and the
    /// job's plan object.</summary>
    private async Task AdoptAsync(INatsKVStore store, string key, ulong revision, IndexBuildJob job, string target, IFileSystem fs, CancellationToken ct)
    {
        var files = await FilesAsync(job.Storage, ct).ConfigureAwait(false)
            ?? throw new QuiverException(QuiverErrorCode.Unavailable, $"the object store of shard '{job.Storage}' is gone");
        var folder = WorkFolder();
        try
        {
            var local = Path.Combine(folder, "result");
            await DownloadAsync(files, job.Result!, local, ct).ConfigureAwait(false);
            await Task.Run(() => AtomicFile.Write(fs, target, stream =>
            {
                using var source = File.OpenRead(local);
                source.CopyTo(stream);
            }), ct).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        Adopted?.Invoke(job);
        LogAdopted(_log, key, job.Taker, job.Attempt);
        await DeleteRecordAsync(store, key, revision, ct).ConfigureAwait(false);
        await DeleteObjectAsync(files, job.Result!, ct).ConfigureAwait(false);
        await DeletePlanAsync(job, ct).ConfigureAwait(false);
    }

    /// <summary>Sweeps the jobs every <paramref name="every"/> on average (jittered between half and one and a half times
    /// it) until the node stops: each sweep runs the jobs it can take, one at a time (<see cref="SweepAsync"/>).</summary>
    public void StartWorking(TimeSpan every) => _loop = BackgroundLoop.Jittered(every, SweepAsync, e => LogSweepFailed(_log, e), _stop.Token);

    /// <summary>One sweep: lists the job keys and, for each job queued or taken by a node that has left the cluster,
    /// takes it (compare-and-set: of nodes sweeping together one wins) and runs it (<see cref="RunAsync"/>).</summary>
    internal async Task SweepAsync(CancellationToken ct)
    {
        await _sweeping.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var store = await StoreAsync(ct).ConfigureAwait(false);
            var keys = new List<string>();
            try
            {
                await foreach (var key in store.GetKeysAsync(cancellationToken: ct).ConfigureAwait(false))
                {
                    keys.Add(key);
                }
            }
            catch (NatsKVException)
            {
                // An empty bucket has no keys to list.
            }

            foreach (var key in keys)
            {
                if (await ReadRecordAsync(store, key, ct).ConfigureAwait(false) is not { } read)
                {
                    continue;
                }

                var job = IndexBuildJob.FromBytes(read.Value);
                if (job.State == WorkState.Queued || (job.State == WorkState.Taken && job.Taker != _here() && await _gone(job.Taker!, ct).ConfigureAwait(false)))
                {
                    await RunAsync(store, key, job, read.Revision, ct).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _sweeping.Release();
        }
    }

    /// <summary>Takes the job at <paramref name="revision"/> and runs it; a job another node took first is left to it.</summary>
    private async Task RunAsync(INatsKVStore store, string key, IndexBuildJob job, ulong revision, CancellationToken ct)
    {
        var taken = job with { State = WorkState.Taken, Taker = _here(), Attempt = job.Attempt + 1 };
        if (await KvLandedRecords.ReplaceAsync(store, key, taken.ToBytes(), revision, RecordTimeout, ct).ConfigureAwait(false) is not { } held)
        {
            // Another node took it first.
            return;
        }

        LogTaken(_log, key, taken.Attempt, job.Taker);
        var folder = WorkFolder();
        try
        {
            if (await FilesAsync(job.Storage, ct).ConfigureAwait(false) is not { } files)
            {
                // The shard's storage was deleted (its collection dropped): nobody waits for this build.
                if (await ReadRecordAsync(store, key, ct).ConfigureAwait(false) is { } stands && stands.Revision == held)
                {
                    await DeleteRecordAsync(store, key, stands.Head, ct).ConfigureAwait(false);
                }


                return;
            }

            var (output, name) = job.Build is { } build
                ? await BuildHereAsync(files, job.Segment!, build, folder, ct).ConfigureAwait(false)
                : await MergeHereAsync(files, job, folder, ct).ConfigureAwait(false);
            var result = string.Create(CultureInfo.InvariantCulture, $"work/{name}.{taken.Attempt}");
            await using (var file = File.OpenRead(output))
            {
                await Retry.UntilAsync(RecordTimeout, async c =>
                {
                    file.Position = 0;
                    return await files.PutAsync(result, file, leaveOpen: true, c).ConfigureAwait(false);
                }, ct).ConfigureAwait(false);
            }

            if (BeforeCommit is { } before)
            {
                await before(taken).ConfigureAwait(false);
            }

            if (await KvLandedRecords.ReplaceAsync(store, key, (taken with { State = WorkState.Done, Result = result }).ToBytes(), held, RecordTimeout, ct).ConfigureAwait(false) is not null)
            {
                Interlocked.Increment(ref job.Build is null ? ref _merged : ref _built);
                LogBuilt(_log, key, taken.Attempt);
            }
            else
            {
                // Taken over (this node was declared gone) or finished by another node: its result stands, not this one.
                Interlocked.Increment(ref _lost);
                LogLost(_log, key, taken.Attempt);
                await DeleteObjectAsync(files, result, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The node is stopping: the job goes back to the queue for another node (if nobody took it meanwhile).
            await ReleaseAsync(store, key, job, held).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFailed(_log, key, e);
            // Not written when taken over meanwhile: the other taker's outcome stands.
            await KvLandedRecords.ReplaceAsync(store, key, (taken with { State = WorkState.Failed, Error = e.Message }).ToBytes(), held, RecordTimeout, ct).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Downloads the segment's file into <paramref name="folder"/> and builds the index there; answers the
    /// index's file and its name.</summary>
    private static async Task<(string File, string Name)> BuildHereAsync(INatsObjStore files, string segmentObject, SegmentIndexBuild build, string folder, CancellationToken ct)
    {
        var segment = Path.Combine(folder, "segment");
        await DownloadAsync(files, segmentObject, segment, ct).ConfigureAwait(false);
        var index = Path.Combine(folder, "index");
        await Task.Run(() => build.Run(PhysicalFileSystem.Instance, segment, index, Environment.ProcessorCount, ct), ct).ConfigureAwait(false);
        return (index, IndexMeta.FileName(build.Index.Id, build.SegmentId));
    }

    /// <summary>Puts a job this stopping node holds back in the queue, within a few seconds or not at all (then it is
    /// taken over once the node has left).</summary>
    private async Task ReleaseAsync(INatsKVStore store, string key, IndexBuildJob job, ulong held)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await KvLandedRecords.ReplaceAsync(store, key, (job with { State = WorkState.Queued, Taker = null }).ToBytes(), held, RecordTimeout, bound.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsKVException or OperationCanceledException or NATS.Client.Core.NatsException)
        {
            // Left taken: the sweeps of the other nodes take it over once this node has left the cluster.
        }
    }

    /// <summary>The record under <paramref name="key"/>: its latest value that landed (<see cref="KvLandedRecords"/>: on
    /// nats-server 2.9.10 two nodes' writes over one revision can both be stored, and only the first counts), that
    /// value's revision and the key's current one; null when there is none (never written, or deleted).</summary>
    private static Task<LandedRecord?> ReadRecordAsync(INatsKVStore store, string key, CancellationToken ct) =>
        Retry.UntilAsync(RecordTimeout, c => KvLandedRecords.ReadAsync(store, key, c), ct);

    /// <summary>The shard's object store, or null when it no longer exists.</summary>
    private async Task<INatsObjStore?> FilesAsync(string storage, CancellationToken ct)
    {
        try
        {
            return await Retry.UntilAsync(RecordTimeout, async c => await new NatsObjContext(_node.JetStream).GetObjectStoreAsync($"{storage}-files", c).ConfigureAwait(false), ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            return null;
        }
    }

    /// <summary>A new scratch folder of this node's work (deleted by its user).</summary>
    private string WorkFolder()
    {
        var folder = Path.Combine(Path.GetFullPath(_node.Config.DataPath), "work", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    private static async Task DownloadAsync(INatsObjStore files, string name, string path, CancellationToken ct)
    {
        await using var file = File.Create(path);
        await Retry.UntilAsync(RecordTimeout, async c =>
        {
            file.SetLength(0);
            await files.GetAsync(name, file, leaveOpen: true, c).ConfigureAwait(false);
            return true;
        }, ct).ConfigureAwait(false);
    }

    private static Task DeleteRecordAsync(INatsKVStore store, string key, ulong revision, CancellationToken ct) =>
        Retry.UntilAsync(RecordTimeout, async c =>
        {
            try
            {
                await store.DeleteAsync(key, new NatsKVDeleteOpts { Revision = revision }, c).ConfigureAwait(false);
            }
            catch (NatsKVWrongLastRevisionException)
            {
                // Deleted already (an earlier attempt whose answer was lost).
            }

            return true;
        }, ct);

    private static Task DeleteObjectAsync(INatsObjStore files, string name, CancellationToken ct) =>
        Retry.UntilAsync(RecordTimeout, async c =>
        {
            try
            {
                await files.DeleteAsync(name, c).ConfigureAwait(false);
            }
            catch (NatsObjNotFoundException)
            {
            }

            return true;
        }, ct);

    /// <summary>The object name of <paramref name="path"/> (a file of the engine at <paramref name="cacheRoot"/>) in its
    /// shard's object store (<see cref="JetStreamStorage"/>: <c>data/</c> and the path below the data folder).</summary>
    private static string ObjectName(string cacheRoot, string path) =>
        "data/" + Path.GetRelativePath(Path.GetFullPath(cacheRoot), Path.GetFullPath(path)).Replace(Path.DirectorySeparatorChar, '/');

    private async Task<INatsKVStore> StoreAsync(CancellationToken ct) =>
        _store ??= WrapStore is { } wrap ? wrap(await _open(ct).ConfigureAwait(false)) : await _open(ct).ConfigureAwait(false);

    /// <summary>Stops the sweeps, waiting for the one running; a second call does nothing (tests stop a worker to read
    /// its counts, then leave it to <c>await using</c>).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await BackgroundLoop.StopAsync(_stop, _loop).ConfigureAwait(false);
        _sweeping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "work {Key}: queued")]
    private static partial void LogQueued(ILogger log, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "work {Key}: taken here (attempt {Attempt}; before: {Before})")]
    private static partial void LogTaken(ILogger log, string key, int attempt, string? before);

    [LoggerMessage(Level = LogLevel.Information, Message = "work {Key}: built here and committed (attempt {Attempt})")]
    private static partial void LogBuilt(ILogger log, string key, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "work {Key}: built here (attempt {Attempt}) but taken over meanwhile; this result is deleted")]
    private static partial void LogLost(ILogger log, string key, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "work {Key}: the job failed here")]
    private static partial void LogFailed(ILogger log, string key, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "work {Key}: the shard adopted the result of {Taker} (attempt {Attempt})")]
    private static partial void LogAdopted(ILogger log, string key, string? taker, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "a sweep of the work jobs failed; the next one runs as planned")]
    private static partial void LogSweepFailed(ILogger log, Exception exception);
}
