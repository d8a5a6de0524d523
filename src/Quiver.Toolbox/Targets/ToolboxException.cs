using Quiver.Toolbox.Import;

namespace Quiver.Toolbox;

/// <summary>What kind of problem a <see cref="ToolboxException"/> reports, for a program that acts on it.</summary>
public enum ToolboxErrorKind
{
    /// <summary>The input is wrong: a malformed or unreadable file, a value that does not fit, too few rows.</summary>
    InvalidInput,

    /// <summary>An option is out of range or options contradict each other; the message names the options property
    /// (<c>ImportOptions.BatchSize</c>).</summary>
    InvalidOptions,

    /// <summary>Something named does not exist: a file, a collection, a partition, a field, a data folder.</summary>
    NotFound,

    /// <summary>Something is in the way: a backup path or a collection that exists already, an unfinished import's
    /// checkpoint.</summary>
    Conflict,

    /// <summary>The target could not be opened or answered out of turn (a folder in use, a server's HTTP endpoint
    /// refusing).</summary>
    Target,

    /// <summary>An import stopped at a bad row or a refused batch (<see cref="ImportAbortedException"/>); batches
    /// acknowledged before it stay imported.</summary>
    ImportAborted,

    /// <summary>A backup failed verification (a file missing, truncated or changed, the manifest unreadable or not
    /// matching its checksum): <see cref="BackupDamagedException"/> lists every problem; nothing was restored.</summary>
    DamagedBackup,
}

/// <summary>A toolbox call refused or failed because of its input: bad options, an unreadable or malformed file, a
/// missing collection or field, too few rows. The message names the problem (file, line or row, field, value) and,
/// where an option is at fault, the options property (<c>ImportOptions.BatchSize</c>), never a command-line flag;
/// <see cref="Kind"/> says what kind of problem it is. The command line prints it as one line
/// (<c>quiver CMD: error: MESSAGE</c>, the properties re-worded as its flags) with exit code 1. Failures of the database
/// itself surface as they are (<c>QuiverException</c>, <c>QuiverServerException</c>).</summary>
public class ToolboxException : Exception
{
    /// <summary>A failure with its message (kind <see cref="ToolboxErrorKind.InvalidInput"/>).</summary>
    public ToolboxException(string message)
        : this(ToolboxErrorKind.InvalidInput, message)
    {
    }

    /// <summary>A failure with its message and cause (kind <see cref="ToolboxErrorKind.InvalidInput"/>).</summary>
    public ToolboxException(string message, Exception inner)
        : this(ToolboxErrorKind.InvalidInput, message, inner)
    {
    }

    /// <summary>A failure of a given kind with its message.</summary>
    public ToolboxException(ToolboxErrorKind kind, string message)
        : base(message) => Kind = kind;

    /// <summary>A failure of a given kind with its message and cause.</summary>
    public ToolboxException(ToolboxErrorKind kind, string message, Exception? inner)
        : base(message, inner) => Kind = kind;

    /// <summary>What kind of problem this is.</summary>
    public ToolboxErrorKind Kind { get; }
}

/// <summary>An import that stopped at a bad row (with <see cref="OnRowError.Abort"/>) or at a batch the target refused:
/// <see cref="Result"/> says how far it got (rows imported before, the error, the checkpoint kept for
/// <see cref="ImportOptions.Resume"/>). Batches acknowledged before the stop stay imported; the batch holding the bad
/// row was never sent.</summary>
public sealed class ImportAbortedException : ToolboxException
{
    /// <summary>An aborted import with what it did.</summary>
    public ImportAbortedException(ImportResult result)
        : base(ToolboxErrorKind.ImportAborted, (result ?? throw new ArgumentNullException(nameof(result))).Error ?? "the import stopped")
        => Result = result;

    /// <summary>What the import did before it stopped; <see cref="ImportResult.Aborted"/> is true.</summary>
    public ImportResult Result { get; }
}

/// <summary>A backup that failed verification before anything was restored (<c>quiver restore</c> exits 2 on it):
/// <see cref="Problems"/> names each damaged file and what is wrong with it.</summary>
public sealed class BackupDamagedException : ToolboxException
{
    /// <summary>A damaged backup with what verification found.</summary>
    /// <param name="path">The backup folder or archive.</param>
    /// <param name="problems">Every problem, each naming its file; at least one.</param>
    /// <param name="filesVerified">Data files whose size and checksum were checked.</param>
    /// <param name="bytesVerified">Their bytes.</param>
    public BackupDamagedException(string path, IReadOnlyList<string> problems, int filesVerified, long bytesVerified)
        : base(ToolboxErrorKind.DamagedBackup, Describe(path, problems))
    {
        Path = path;
        Problems = problems;
        FilesVerified = filesVerified;
        BytesVerified = bytesVerified;
    }

    /// <summary>The backup folder or archive.</summary>
    public string Path { get; }

    /// <summary>Every problem verification found, each naming its file (<c>default/products/p0001/part-00000.parquet:
    /// truncated...</c>).</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>Data files whose size and checksum were checked.</summary>
    public int FilesVerified { get; }

    /// <summary>Their bytes.</summary>
    public long BytesVerified { get; }

    private static string Describe(string path, IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(problems);
        var more = problems.Count > 1 ? $" (and {problems.Count - 1} more problems)" : "";
        return $"backup {path} is damaged; nothing was restored: {(problems.Count > 0 ? problems[0] : "verification failed")}{more}";
    }
}
