namespace Quiver;

/// <summary>The kind of a <see cref="QuiverException"/>, stable across versions so that callers and the
/// wire adapters can map it to their own codes.</summary>
public enum QuiverErrorCode
{
    /// <summary>An argument, row or schema broke a rule; the message names the field, row and rule.</summary>
    InvalidArgument = 1,
    /// <summary>A database, collection, partition, field or row does not exist.</summary>
    NotFound = 2,
    /// <summary>A database, collection, partition or primary key exists already.</summary>
    AlreadyExists = 3,
    /// <summary>A filter expression did not parse or bind; the message names the token and its position.</summary>
    BadFilter = 4,
    /// <summary>Data on disk failed a checksum or a format check. The data folder needs attention.</summary>
    Corruption = 5,
    /// <summary>A limit was reached: disk full, too many rows, top-k too large.</summary>
    Capacity = 6,
    /// <summary>The data folder is in use by another process.</summary>
    Locked = 7,
    /// <summary>The engine was disposed, or stopped accepting writes after an I/O failure it could not undo.</summary>
    Unavailable = 8,
    /// <summary>The caller did not authenticate, or its credentials were refused (a server's answer).</summary>
    Unauthenticated = 9,
    /// <summary>The caller is authenticated but lacks the privilege for the operation (a server's answer).</summary>
    PermissionDenied = 10,
}

/// <summary>The one exception type Quiver throws for expected failures. <see cref="Code"/> says which kind.</summary>
public class QuiverException : Exception
{
    /// <summary>Creates an exception of the given kind.</summary>
    public QuiverException(QuiverErrorCode code, string message, Exception? inner = null)
        : base(message, inner) => Code = code;

    /// <summary>The kind of failure.</summary>
    public QuiverErrorCode Code { get; }
}

/// <summary>A filter expression failed to parse or bind.</summary>
public sealed class FilterException : QuiverException
{
    /// <summary>Creates a filter error at a zero-based character position in the expression.</summary>
    public FilterException(string message, int position, string? token)
        : base(QuiverErrorCode.BadFilter, token is null
            ? $"{message} at position {position}"
            : $"{message} at position {position} (near '{token}')")
    {
        Position = position;
        Token = token;
    }

    /// <summary>Zero-based character offset in the expression where the problem starts.</summary>
    public int Position { get; }

    /// <summary>The offending token text, when there is one.</summary>
    public string? Token { get; }
}

/// <summary>Data on disk is damaged: a checksum mismatch, an impossible length, a bad magic number.</summary>
public sealed class CorruptionException : QuiverException
{
    /// <summary>Creates a corruption error naming the file and what was wrong.</summary>
    public CorruptionException(string path, string message, Exception? inner = null)
        : base(QuiverErrorCode.Corruption, $"Corruption in '{path}': {message}", inner) => Path = path;

    /// <summary>The damaged file.</summary>
    public string Path { get; }
}

/// <summary>A write was refused because what the engine holds in memory (growing rows and in-memory indexes) would pass
/// <see cref="QuiverOptions.MemoryBudgetBytes"/> even after its growing segments were sealed to disk. Nothing of the
/// write was stored. <see cref="QuiverException.Code"/> is <see cref="QuiverErrorCode.Capacity"/>; a server answers it
/// with Milvus's quota error (code 9, <c>quota exceeded[reason=memory quota exceeded, please allocate more
/// resources]</c>).</summary>
public sealed class MemoryQuotaExceededException : QuiverException
{
    /// <summary>Milvus's reason for a write refused by its memory quota.</summary>
    public const string QuotaReason = "memory quota exceeded, please allocate more resources";

    /// <summary>Creates the refusal of a write of <paramref name="requestedBytes"/>.</summary>
    public MemoryQuotaExceededException(string detail, long requestedBytes, long usedBytes, long budgetBytes)
        : base(QuiverErrorCode.Capacity, $"{QuotaReason}: {detail}")
    {
        Detail = detail;
        RequestedBytes = requestedBytes;
        UsedBytes = usedBytes;
        BudgetBytes = budgetBytes;
    }

    /// <summary>What was refused and what the engine held, without <see cref="QuotaReason"/>.</summary>
    public string Detail { get; }

    /// <summary>The bytes the refused rows would have taken in memory.</summary>
    public long RequestedBytes { get; }

    /// <summary>The bytes the engine held (growing rows, in-memory indexes, writes in flight) when it refused.</summary>
    public long UsedBytes { get; }

    /// <summary><see cref="QuiverOptions.MemoryBudgetBytes"/>.</summary>
    public long BudgetBytes { get; }
}

internal static class Throw
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Invalid(string message) => throw new QuiverException(QuiverErrorCode.InvalidArgument, message);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void NotFound(string message) => throw new QuiverException(QuiverErrorCode.NotFound, message);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Exists(string message) => throw new QuiverException(QuiverErrorCode.AlreadyExists, message);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Capacity(string message) => throw new QuiverException(QuiverErrorCode.Capacity, message);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Corrupt(string path, string message) => throw new CorruptionException(path, message);
}
