using Grpc.Core;
using Quiver.Protocol.Common;
using Status = Quiver.Protocol.Common.Status;

namespace Quiver.Client.Remote;

/// <summary>Turns Milvus error statuses and gRPC failures into <see cref="QuiverServerException"/>s with the engine's
/// <see cref="QuiverErrorCode"/> and the server's reason, so that callers handle embedded and remote failures alike.</summary>
internal static class ServerErrors
{
    /// <summary>Throws when <paramref name="status"/> is not a success.</summary>
    public static void ThrowIfError(Status? status, string rpc)
    {
        if (status is null)
        {
            return;
        }

        var code = CodeOf(status);
        if (code != 0)
        {
            throw FromStatus(code, status.Reason, rpc);
        }
    }

    /// <summary>The effective Milvus code of a status: <c>code</c>, or for servers that set only the legacy
    /// <c>error_code</c>, the code that replaced it (0 on success).</summary>
    public static int CodeOf(Status status)
    {
        if (status.Code != 0)
        {
            return status.Code;
        }

#pragma warning disable CS0612 // error_code is deprecated, but older servers set only it.
        return status.ErrorCode switch
        {
            ErrorCode.Success => 0,
            ErrorCode.CollectionNotExists or ErrorCode.CollectionNameNotFound => 100,
            ErrorCode.IndexNotExist => 700,
            ErrorCode.IllegalArgument or ErrorCode.IllegalDimension or ErrorCode.IllegalIndexType or ErrorCode.IllegalCollectionName
                or ErrorCode.IllegalTopk or ErrorCode.IllegalMetricType or ErrorCode.IllegalRowRecord => 1100,
            ErrorCode.PermissionDenied => 1401,
            ErrorCode.RateLimit => 8,
            ErrorCode.MemoryQuotaExhausted => 3,
            ErrorCode.DiskQuotaExhausted => 7,
            _ => 65535,
        };
#pragma warning restore CS0612
    }

    /// <summary>The exception for a Milvus code and reason.</summary>
    public static QuiverServerException FromStatus(int code, string reason, string rpc)
    {
        var message = string.IsNullOrEmpty(reason) ? $"{rpc} failed with Milvus code {code}" : reason;
        return new QuiverServerException(Classify(code, reason), code, message);
    }

    /// <summary>The engine's kind of failure for a Milvus code, refined by the reason where Milvus shares one code among
    /// several kinds (1100 covers bad filters and duplicates as well as bad arguments).</summary>
    public static QuiverErrorCode Classify(int code, string reason)
    {
        if (reason.Contains("already exist", StringComparison.OrdinalIgnoreCase) || code is 702 or 1602)
        {
            return QuiverErrorCode.AlreadyExists;
        }

        return code switch
        {
            100 or 200 or 700 or 800 or 1600 or 1700 => QuiverErrorCode.NotFound,
            1100 or 1101 or 1801 or 1802 or 1804 or 802 or 701 when IsFilterError(reason) => QuiverErrorCode.BadFilter,
            1100 or 1101 or 1801 or 1802 or 1804 or 802 or 701 or 1601 => QuiverErrorCode.InvalidArgument,
            1102 or 3 or 7 or 9 or 102 => QuiverErrorCode.Capacity,
            1400 or 1800 => QuiverErrorCode.Unauthenticated,
            1401 => QuiverErrorCode.PermissionDenied,
            1001 => QuiverErrorCode.Corruption,
            _ => QuiverErrorCode.Unavailable,
        };
    }

    /// <summary>True for the reasons Milvus (and Quiver's server) give for filter expressions that do not parse or bind.</summary>
    public static bool IsFilterError(string reason) =>
        reason.Contains("failed to create query plan", StringComparison.OrdinalIgnoreCase)
        || reason.Contains("cannot parse expression", StringComparison.OrdinalIgnoreCase)
        || reason.Contains("invalid expression", StringComparison.OrdinalIgnoreCase);

    /// <summary>The exception for a gRPC failure (no Milvus status): the server was unreachable, timed out, or refused
    /// the call at the transport level.</summary>
    public static QuiverServerException FromRpc(RpcException exception, string rpc)
    {
        var code = exception.StatusCode switch
        {
            StatusCode.Unauthenticated => QuiverErrorCode.Unauthenticated,
            StatusCode.PermissionDenied => QuiverErrorCode.PermissionDenied,
            StatusCode.InvalidArgument => QuiverErrorCode.InvalidArgument,
            StatusCode.NotFound => QuiverErrorCode.NotFound,
            StatusCode.AlreadyExists => QuiverErrorCode.AlreadyExists,
            StatusCode.ResourceExhausted => QuiverErrorCode.Capacity,
            _ => QuiverErrorCode.Unavailable,
        };
        return new QuiverServerException(code, -1, $"{rpc}: gRPC {exception.StatusCode}: {exception.Status.Detail}", exception);
    }
}
