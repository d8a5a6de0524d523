namespace Quiver.Client;

/// <summary>A <see cref="QuiverException"/> answered by a server: <see cref="QuiverException.Code"/> is the engine's kind
/// of failure mapped from the server's Milvus status, and <see cref="ServerCode"/> the Milvus code itself
/// (e.g. 100 collection not found, 1100 invalid parameter, 1800 authentication needed).</summary>
public sealed class QuiverServerException : QuiverException
{
    /// <summary>Creates the exception for a server's error status.</summary>
    public QuiverServerException(QuiverErrorCode code, int serverCode, string message, Exception? inner = null)
        : base(code, message, inner) => ServerCode = serverCode;

    /// <summary>The Milvus error code of the status (<c>common.Status.code</c>), or the legacy <c>error_code</c> when the
    /// server set only that; -1 for transport failures (no status).</summary>
    public int ServerCode { get; }
}
