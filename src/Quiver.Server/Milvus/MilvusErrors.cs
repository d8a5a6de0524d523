using Quiver.Protocol.Common;

namespace Quiver.Server.Milvus;

/// <summary>Milvus's error codes (the <c>code</c> field of <c>common.Status</c>), as its SDKs read them. The legacy
/// <c>error_code</c> enum is set alongside for older clients.</summary>
internal static class MilvusCode
{
    public const int Success = 0;
    public const int ServiceNotReady = 1;
    public const int ServiceUnavailable = 2;
    public const int MemoryLimitExceeded = 3;
    public const int RequestLimitExceeded = 4;
    public const int ServiceInternal = 5;
    public const int DiskLimitExceeded = 7;
    public const int RateLimit = 8;
    public const int QuotaExceeded = 9;
    public const int Unimplemented = 10;
    public const int CollectionNotFound = 100;
    public const int CollectionNotLoaded = 101;
    public const int CollectionNumLimitExceeded = 102;
    public const int PartitionNotFound = 200;
    public const int PartitionNotLoaded = 201;
    public const int IndexNotFound = 700;
    public const int IndexNotSupported = 701;
    public const int IndexDuplicate = 702;
    public const int DatabaseNotFound = 800;
    public const int DatabaseInvalidName = 802;
    public const int IoFailed = 1001;
    public const int ParameterInvalid = 1100;
    public const int ParameterMissing = 1101;
    public const int ParameterTooLarge = 1102;
    public const int NotAuthenticated = 1400;
    public const int PrivilegeNotPermitted = 1401;
    public const int AliasNotFound = 1600;
    public const int AliasCollectionNameConflict = 1601;
    public const int AliasAlreadyExists = 1602;
    public const int FieldNotFound = 1700;
    public const int NeedAuthenticate = 1800;
    public const int IncorrectParameterFormat = 1801;
    public const int MissingRequiredParameters = 1802;
    public const int InvalidInsertData = 1804;
    public const int FunctionFailed = 2400;
    public const int Unexpected = 65535;

    /// <summary>The legacy enum value Milvus sends with a code.</summary>
    public static ErrorCode Legacy(int code) => code switch
    {
        Success => ErrorCode.Success,
        ServiceNotReady => ErrorCode.NotReadyServe,
        RateLimit or RequestLimitExceeded => ErrorCode.RateLimit,
        MemoryLimitExceeded => ErrorCode.MemoryQuotaExhausted,
        DiskLimitExceeded => ErrorCode.DiskQuotaExhausted,
        QuotaExceeded => ErrorCode.ForceDeny,
        CollectionNotFound => ErrorCode.CollectionNotExists,
        IndexNotFound => ErrorCode.IndexNotExist,
        ParameterInvalid or ParameterMissing or ParameterTooLarge => ErrorCode.IllegalArgument,
        NotAuthenticated or PrivilegeNotPermitted or NeedAuthenticate => ErrorCode.PermissionDenied,
        _ => ErrorCode.UnexpectedError,
    };
}

/// <summary>A failure the server reports as a Milvus error status with a specific code. Thrown by the server's own
/// checks; engine errors are mapped by <see cref="MilvusStatus.FromException"/>.</summary>
internal sealed class MilvusException(int code, string reason, bool retriable = false) : Exception(reason)
{
    /// <summary>The Milvus error code (<see cref="MilvusCode"/>).</summary>
    public int Code { get; } = code;

    /// <summary>Whether the client may retry the same request (rate limits, temporary unavailability).</summary>
    public bool Retriable { get; } = retriable;
}

/// <summary>Builds <c>common.Status</c> values: success, a code with a reason, or the mapping of an exception.</summary>
internal static class MilvusStatus
{
#pragma warning disable CS0612 // error_code is deprecated in the protocol, yet older SDKs still read it.
    /// <summary>A new success status (statuses are mutable messages, so never shared).</summary>
    public static Status Ok() => new() { ErrorCode = ErrorCode.Success, Code = MilvusCode.Success };

    /// <summary>An error status with Milvus's code, the legacy enum, and a reason that names the problem.</summary>
    public static Status Error(int code, string reason, bool retriable = false) => new()
    {
        ErrorCode = MilvusCode.Legacy(code),
        Code = code,
        Reason = reason,
        Retriable = retriable,
    };

#pragma warning restore CS0612

    /// <summary>Maps an exception thrown while serving a call to a status. Unexpected exceptions become code 65535 with
    /// a generic reason (the detail goes to the log, not to the client).</summary>
    public static Status FromException(Exception exception) => exception switch
    {
        MilvusException m => Error(m.Code, m.Message, m.Retriable),
        FilterException f => Error(MilvusCode.ParameterInvalid, $"failed to create query plan: {f.Message}"),
        EmbeddingException e => Error(FunctionConversion.CodeOf(e), e.Message),
        // Milvus's proxy refuses writes past its memory protection with merr.ErrServiceQuotaExceeded and this reason.
        MemoryQuotaExceededException m => Error(MilvusCode.QuotaExceeded, $"quota exceeded[reason={MemoryQuotaExceededException.QuotaReason}]: {m.Detail}"),
        QuiverException q => Error(CodeOf(q), q.Message, q.Code == QuiverErrorCode.Unavailable),
        OperationCanceledException => Error(MilvusCode.ServiceUnavailable, "request canceled", retriable: true),
        _ => Error(MilvusCode.Unexpected, "internal error; see the server log"),
    };

    private static int CodeOf(QuiverException q) => q.Code switch
    {
        QuiverErrorCode.NotFound when q.Message.Contains("has no field", StringComparison.Ordinal) => MilvusCode.FieldNotFound,
        QuiverErrorCode.NotFound when q.Message.Contains("has no index", StringComparison.Ordinal) => MilvusCode.IndexNotFound,
        QuiverErrorCode.NotFound when q.Message.StartsWith("database", StringComparison.OrdinalIgnoreCase) => MilvusCode.DatabaseNotFound,
        QuiverErrorCode.NotFound when q.Message.StartsWith("partition", StringComparison.OrdinalIgnoreCase) => MilvusCode.PartitionNotFound,
        QuiverErrorCode.NotFound when q.Message.StartsWith("index", StringComparison.OrdinalIgnoreCase) => MilvusCode.IndexNotFound,
        QuiverErrorCode.NotFound when q.Message.StartsWith("field", StringComparison.OrdinalIgnoreCase) => MilvusCode.FieldNotFound,
        QuiverErrorCode.NotFound => MilvusCode.CollectionNotFound,
        QuiverErrorCode.AlreadyExists when q.Message.Contains("index duplicates[", StringComparison.Ordinal) => MilvusCode.IndexDuplicate,
        QuiverErrorCode.InvalidArgument or QuiverErrorCode.AlreadyExists or QuiverErrorCode.BadFilter => MilvusCode.ParameterInvalid,
        QuiverErrorCode.Capacity => MilvusCode.ParameterTooLarge,
        QuiverErrorCode.Unavailable or QuiverErrorCode.Locked => MilvusCode.ServiceUnavailable,
        QuiverErrorCode.Corruption => MilvusCode.IoFailed,
        QuiverErrorCode.Unauthenticated => MilvusCode.NeedAuthenticate,
        QuiverErrorCode.PermissionDenied => MilvusCode.PrivilegeNotPermitted,
        _ => MilvusCode.Unexpected,
    };
}
