namespace Quiver.Server.Import;

/// <summary>
/// Runs one bulk-import job inside the server (Milvus's <c>Import</c> RPC and REST <c>/v2/vectordb/jobs/import/*</c>).
/// The server keeps the jobs; the host supplies the importer (<c>quiver serve</c> plugs in the toolbox's importer, the
/// one <c>quiver import</c> uses), so the server does not depend on the file formats. Without one, import calls answer
/// that bulk import is not available.
/// </summary>
public interface IBulkImporter
{
    /// <summary>Imports every file of <paramref name="job"/> into its collection, advancing
    /// <see cref="BulkImportJob.ImportedRows"/> as batches are acknowledged. Every row is checked before the first is
    /// written, so bad data fails the job with nothing imported; returns normally when every row is in, throws
    /// (with a message naming file, row and field) otherwise.</summary>
    Task ImportAsync(QuiverEngine engine, BulkImportJob job, CancellationToken cancellationToken);
}

/// <summary>States of a bulk-import job, with Milvus's names.</summary>
public enum BulkImportState
{
    /// <summary>Queued behind other jobs.</summary>
    Pending,

    /// <summary>Checking and importing rows.</summary>
    Importing,

    /// <summary>Every row is in.</summary>
    Completed,

    /// <summary>Stopped; <see cref="BulkImportJob.Reason"/> says why.</summary>
    Failed,
}

/// <summary>One bulk-import job. Counters are updated by the importer and read by progress calls from any thread.</summary>
public sealed class BulkImportJob
{
    private long _importedRows;
    private long _totalRows = -1;
    private volatile string? _reason;
    private readonly ImportRoot _root;
    private readonly Dictionary<string, FileIdentity> _opened = new(StringComparer.Ordinal);
    private int _state;

    internal BulkImportJob(ImportRoot root, long id, string database, string collection, string? partition, IReadOnlyList<string> files, IReadOnlyDictionary<string, string> options)
    {
        _root = root;
        Id = id;
        Database = database;
        Collection = collection;
        Partition = partition;
        Files = files;
        Options = options;
        Created = DateTimeOffset.UtcNow;
    }

    /// <summary>Job id (unique within a server process).</summary>
    public long Id { get; }

    /// <summary>Target database.</summary>
    public string Database { get; }

    /// <summary>Target collection.</summary>
    public string Collection { get; }

    /// <summary>Target partition, or null for the default one.</summary>
    public string? Partition { get; }

    /// <summary>Full paths of the files, all under the server's import root.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The request's options (e.g. <c>format</c>, <c>vector_field</c>, <c>id_start</c>).</summary>
    public IReadOnlyDictionary<string, string> Options { get; }

    /// <summary>When the job was submitted.</summary>
    public DateTimeOffset Created { get; }

    /// <summary>When it completed or failed.</summary>
    public DateTimeOffset? Finished { get; private set; }

    /// <summary>The state.</summary>
    public BulkImportState State => (BulkImportState)Volatile.Read(ref _state);

    /// <summary>Rows acknowledged so far.</summary>
    public long ImportedRows => Interlocked.Read(ref _importedRows);

    /// <summary>Rows in the files once counted, or null before.</summary>
    public long? TotalRows => Interlocked.Read(ref _totalRows) is var t && t >= 0 ? t : null;

    /// <summary>Why the job failed.</summary>
    public string? Reason => _reason;

    /// <summary>Progress in percent (0..100): imported over total rows, 100 when completed.</summary>
    public int Progress => Milvus.ImportJobView.ProgressOf(State, ImportedRows, TotalRows);

    /// <summary>Opens <paramref name="file"/> (one of <see cref="Files"/>) for reading, confined to the import root by
    /// <see cref="ImportRoot.Open"/>: no link is followed, and hard-linked or non-regular files are refused. Every open of
    /// the same file in this job must find the very file the first open found (a check pass and an import pass read one
    /// file, not two). Throws <see cref="ImportPathException"/> naming the file and the problem; the caller owns the
    /// stream. Called by the importer, from one thread at a time.</summary>
    public FileStream OpenFile(string file)
    {
        var stream = _root.Open(file, out var identity);
        lock (_opened)
        {
            if (_opened.TryGetValue(file, out var first) && first != identity)
            {
                stream.Dispose();
                throw new ImportPathException($"import: '{_root.Relative(file)}' was replaced by another file while the job ran");
            }

            _opened[file] = identity;
        }

        return stream;
    }

    /// <summary>Adds acknowledged rows (the importer calls this).</summary>
    public void AddImported(long rows) => Interlocked.Add(ref _importedRows, rows);

    /// <summary>Sets the number of rows in the files (the importer calls this after its checking pass).</summary>
    public void SetTotalRows(long rows) => Interlocked.Exchange(ref _totalRows, rows);

    internal void Start() => Volatile.Write(ref _state, (int)BulkImportState.Importing);

    internal void Complete()
    {
        Finished = DateTimeOffset.UtcNow;
        Volatile.Write(ref _state, (int)BulkImportState.Completed);
    }

    internal void Fail(string reason)
    {
        _reason = reason;
        Finished = DateTimeOffset.UtcNow;
        Volatile.Write(ref _state, (int)BulkImportState.Failed);
    }
}

/// <summary>Bulk-import settings (config section <c>Import</c>).</summary>
public sealed class BulkImportOptions
{
    /// <summary>The folder import files are read from; a job's file paths are relative to it and may not leave it.
    /// Default <c>import</c> under the data folder. Config key <c>Import:Root</c>.</summary>
    public string? Root { get; set; }

    /// <summary>What runs the jobs; set by the host (<c>quiver serve</c> sets the toolbox's importer), never read from
    /// configuration. Null: import calls answer that bulk import is not available.</summary>
    public IBulkImporter? Importer { get; set; }
}
