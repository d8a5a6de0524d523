using Grpc.Core;

namespace Quiver.Server.Milvus;

/// <summary>
/// What the server knows about one call, whichever transport brought it: the RPC name (REST endpoints name the RPC they
/// perform), the database chosen by the client, the caller once authenticated, and a request id for logs. Stored in
/// <see cref="ServerCallContext.UserState"/> under <see cref="Key"/> so that service handlers can read it.
/// </summary>
internal sealed class CallInfo
{
    /// <summary>The key of the call's <see cref="CallInfo"/> in <see cref="ServerCallContext.UserState"/>.</summary>
    public const string Key = "quiver.call";

    /// <summary>The MilvusService method name, e.g. <c>Search</c>.</summary>
    public required string Method { get; init; }

    /// <summary><c>grpc</c> or <c>rest</c>.</summary>
    public required string Transport { get; init; }

    private string? _requestId;
    private string? _peer;

    /// <summary>Short id that ties the call's log lines together; returned to REST clients in <c>X-Request-Id</c>. When
    /// not given, made on its first read: most calls are never logged, and a gRPC call need not pay for an id.</summary>
    public string RequestId
    {
        get => _requestId ??= NewRequestId();
        init => _requestId = value;
    }

    /// <summary>The database the client chose for the connection (gRPC metadata <c>dbname</c>, REST <c>dbName</c>),
    /// or null for <c>default</c>. A request's own <c>db_name</c> field, when set, wins (see
    /// <see cref="MilvusGrpcService"/>'s database resolution).</summary>
    public string? Database { get; init; }

    /// <summary>The database the call acts on, resolved: the request's own <c>db_name</c> when set, else
    /// <see cref="Database"/>, else <c>default</c>. Filled by the pipeline (gRPC) or the REST adapter before the gate.</summary>
    public string TargetDatabase { get; set; } = "default";

    /// <summary>The collection the call acts on (its <c>collection_name</c>), or null for calls on no collection.</summary>
    public string? TargetCollection { get; set; }

    /// <summary>The credential the client sent: gRPC metadata <c>authorization</c> (base64 of <c>user:password</c> or an
    /// API key, as Milvus SDKs send it) or REST <c>Authorization: Bearer</c> token. Null when none.</summary>
    public string? Credential { get; init; }

    /// <summary>The client's address, for the audit log. When not given, read from <see cref="PeerOf"/> on first use:
    /// gRPC formats the address as a new string each time it is asked, and most calls never need it.</summary>
    public string? Peer
    {
        get => _peer ??= PeerOf?.Peer;
        init => _peer = value;
    }

    /// <summary>The gRPC call whose peer address <see cref="Peer"/> reads when it was not given.</summary>
    public ServerCallContext? PeerOf { get; init; }

    /// <summary>A read the web console repeats while something runs (a tool's progress, an index build's, the health
    /// charts' metrics): not counted against <c>Security:RequestsPerSecondPerUser</c>, as Milvus's rate limits count only
    /// DDL, DML, search and query requests and never a progress read. Still authenticated, authorized, observed and
    /// audited. Set only by the console's own endpoints.</summary>
    public bool Polling { get; init; }

    /// <summary>The authenticated user, set by the security gate; null when authentication is off.</summary>
    public string? User { get; set; }

    /// <summary>The searches of a call whose transport read them itself (REST search and hybrid search): the gate's limit
    /// checks and the handler take their typed values in place of the request's <c>search_params</c>. Null for gRPC.</summary>
    public IReadOnlyList<Data.TypedSearch>? Searches { get; set; }

    /// <summary>The number of rows of a write whose transport read it itself (REST insert and upsert): the gate's
    /// rows-per-request limit counts these in place of a request message's <c>num_rows</c> and columns. Null for gRPC.</summary>
    public long? WriteRows { get; set; }

    /// <summary>The estimated size of the answer in bytes, set by search and query: once the answer is sent, the
    /// transport reports it to <see cref="Hosting.MemoryReclaimer"/>.</summary>
    public long ResultBytes { get; set; }

    /// <summary>Returns the call info of a context (a fallback one for calls that bypassed the pipeline).</summary>
    public static CallInfo Of(ServerCallContext context) =>
        context.UserState.TryGetValue(Key, out var value) && value is CallInfo info
            ? info
            : new CallInfo { Method = context.Method, Transport = "grpc" };

    /// <summary>A new short request id.</summary>
    public static string NewRequestId() => Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()));
}

/// <summary>Authentication, authorization and limits, run before every call's handler. The security part of the server
/// implements it; <see cref="OpenGate"/> (no authentication) is the default.</summary>
internal interface ISecurityGate
{
    /// <summary>Checks <paramref name="call"/>'s credential, the caller's privilege for <see cref="CallInfo.Method"/> on
    /// <see cref="CallInfo.TargetDatabase"/> / <see cref="CallInfo.TargetCollection"/>, and the request limits (the
    /// request is the gRPC message, or null from REST); sets <see cref="CallInfo.User"/>. Throws
    /// <see cref="MilvusException"/> to refuse the call.</summary>
    ValueTask CheckAsync(CallInfo call, Google.Protobuf.IMessage? request, CancellationToken cancellationToken);

    /// <summary>Checks only <paramref name="call"/>'s credential (when authentication is on) and sets
    /// <see cref="CallInfo.User"/>: REST runs this on the headers before it reads a byte of the body. Throws
    /// <see cref="MilvusException"/> to refuse the call.</summary>
    ValueTask AuthenticateAsync(CallInfo call, CancellationToken cancellationToken);

    /// <summary>Checks the privilege of <paramref name="method"/> on <paramref name="request"/> for a step of
    /// <paramref name="call"/>, a call already admitted by <see cref="CheckAsync"/> (a REST endpoint that performs several
    /// RPCs, such as create with indexes and load): the caller's privilege only, as Milvus checks each step, with no
    /// second authentication, rate token or limit. Throws <see cref="MilvusException"/> (1401) to refuse the step.</summary>
    void AuthorizeStep(CallInfo call, string method, Google.Protobuf.IMessage request);
}

/// <summary>The gate when authentication is off: every call passes.</summary>
internal sealed class OpenGate : ISecurityGate
{
    public ValueTask CheckAsync(CallInfo call, Google.Protobuf.IMessage? request, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask AuthenticateAsync(CallInfo call, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void AuthorizeStep(CallInfo call, string method, Google.Protobuf.IMessage request)
    {
    }
}

/// <summary>Observes every call after it completes: metrics and the request log. The observability part of the server
/// implements it; <see cref="NoCallObserver"/> is the default.</summary>
internal interface ICallObserver
{
    /// <summary>Called once per call with its duration and the Milvus status code it answered (0 = success).</summary>
    void Completed(CallInfo call, TimeSpan elapsed, int statusCode, string? reason);
}

/// <summary>An observer that records nothing.</summary>
internal sealed class NoCallObserver : ICallObserver
{
    public void Completed(CallInfo call, TimeSpan elapsed, int statusCode, string? reason)
    {
    }
}
