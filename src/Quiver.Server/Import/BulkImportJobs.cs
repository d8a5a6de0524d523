using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Quiver.Server.Milvus;

namespace Quiver.Server.Import;

/// <summary>
/// The server's bulk-import jobs: submitted by <c>Import</c> / <c>jobs/import/create</c>, run one at a time in
/// submission order by <see cref="IBulkImporter"/>, listed and polled by id. Files are paths on the server's machine
/// and must lie under <see cref="BulkImportOptions.Root"/> (so a remote caller cannot make the server read arbitrary
/// files): they are checked when the job is submitted and again, through <see cref="ImportRoot"/>, whenever the importer
/// opens one. Jobs are kept in memory: after a restart they are gone (the rows they imported stay).
/// </summary>
public sealed partial class BulkImportJobs : IAsyncDisposable
{
    private readonly QuiverEngine _engine;
    private readonly IBulkImporter? _importer;
    private readonly ImportRoot _root;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<long, BulkImportJob> _jobs = new();
    private readonly Channel<BulkImportJob> _queue = Channel.CreateUnbounded<BulkImportJob>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _worker;
    private long _nextId = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;

    /// <summary>Starts the job runner.</summary>
    public BulkImportJobs(QuiverEngine engine, IBulkImporter? importer, string root, ILogger<BulkImportJobs> log)
    {
        _engine = engine;
        _importer = importer;
        _root = new ImportRoot(root);
        _log = log;
        _worker = Task.Run(RunAsync);
    }

    /// <summary>The import root: every file a job names is resolved against it and must stay inside it.</summary>
    public string Root => _root.Path;

    /// <summary>Queues a job after checking the collection, the partition and every file. Throws
    /// <see cref="MilvusException"/> naming the problem.</summary>
    public async Task<BulkImportJob> SubmitAsync(
        string database, string collection, string? partition, IReadOnlyList<string> files, IReadOnlyDictionary<string, string> options,
        CancellationToken cancellationToken)
    {
        if (_importer is null)
        {
            throw new MilvusException(MilvusCode.Unimplemented, "bulk import is not available in this server (no importer configured)");
        }

        if (files.Count == 0)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, "import: no files given");
        }

        if (!await _engine.HasCollectionAsync(collection, database, cancellationToken).ConfigureAwait(false))
        {
            throw new MilvusException(MilvusCode.CollectionNotFound, $"collection not found[database={database}][collection={collection}]");
        }

        if (!string.IsNullOrEmpty(partition) && !await _engine.HasPartitionAsync(collection, partition, database, cancellationToken).ConfigureAwait(false))
        {
            throw new MilvusException(MilvusCode.PartitionNotFound, $"partition not found[partition={partition}]");
        }

        var resolved = files.Select(Resolve).ToList();
        var job = new BulkImportJob(_root, Interlocked.Increment(ref _nextId), database, collection, string.IsNullOrEmpty(partition) ? null : partition, resolved, options);
        _jobs[job.Id] = job;
        await _queue.Writer.WriteAsync(job, cancellationToken).ConfigureAwait(false);
        return job;
    }

    /// <summary>The job with <paramref name="id"/>, or null.</summary>
    public BulkImportJob? Get(long id) => _jobs.TryGetValue(id, out var job) ? job : null;

    /// <summary>Jobs of a database (and collection, when given), newest first, at most <paramref name="limit"/> (0: all).</summary>
    public IReadOnlyList<BulkImportJob> List(string database, string? collection, int limit)
    {
        var jobs = _jobs.Values
            .Where(j => j.Database == database && (string.IsNullOrEmpty(collection) || j.Collection == collection))
            .OrderByDescending(j => j.Id);
        return [.. limit > 0 ? jobs.Take(limit) : jobs];
    }

    private string Resolve(string file) => Resolve(_root, file);

    /// <summary>The full path of <paramref name="file"/> under <paramref name="root"/>, opened once and checked
    /// (<see cref="ImportRoot.Open"/>); throws <see cref="MilvusException"/> (parameter invalid) naming the problem.</summary>
    internal static string Resolve(ImportRoot root, string file)
    {
        try
        {
            // Open it now so that the caller hears of a missing file or a link at once; the importer opens it again
            // the same way when it reads, since the file may be replaced in between.
            using var opened = root.Open(file, out _);
            return Path.Combine(root.Path, root.Relative(file));
        }
        catch (ImportPathException e)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, e.Message);
        }
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach (var job in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                job.Start();
                try
                {
                    await _importer!.ImportAsync(_engine, job, _stop.Token).ConfigureAwait(false);
                    job.Complete();
                    LogCompleted(_log, job.Id, job.Collection, job.ImportedRows);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    job.Fail("the server stopped during the import");
                    return;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    job.Fail(e.Message);
                    LogFailed(_log, job.Id, job.Collection, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        await _worker.ConfigureAwait(false);
        foreach (var job in _jobs.Values.Where(j => j.State is BulkImportState.Pending))
        {
            job.Fail("the server stopped before the import started");
        }

        _stop.Dispose();
    }

    [LoggerMessage(EventId = 601, Level = LogLevel.Information, Message = "import job {Id} into {Collection} completed: {Rows} rows")]
    private static partial void LogCompleted(ILogger log, long id, string collection, long rows);

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "import job {Id} into {Collection} failed: {Reason}")]
    private static partial void LogFailed(ILogger log, long id, string collection, string reason);
}
