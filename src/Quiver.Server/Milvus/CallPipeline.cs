using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Status = Quiver.Protocol.Common.Status;

namespace Quiver.Server.Milvus;

/// <summary>
/// The one path every call takes, gRPC or REST: build the <see cref="CallInfo"/>, pass the security gate, run the
/// handler, turn any failure into a Milvus response that carries an error status (as Milvus SDKs expect), and report the
/// call to the observer. An RPC Quiver does not implement (the generated base method throws UNIMPLEMENTED) answers code
/// 10 naming the RPC. Responses are created from their descriptors, so one pipeline serves all 143 methods whether the
/// response is a bare <c>Status</c> or carries one in its field <c>status</c>.
/// </summary>
internal sealed partial class CallPipeline(ISecurityGate gate, ICallObserver observer, ILogger<CallPipeline> logger)
{
    /// <summary>Runs <paramref name="handler"/> for <paramref name="call"/> through the gate, error mapping and observer.
    /// The REST adapter calls this directly with a context of its own.</summary>
    public async Task<TResponse> RunAsync<TRequest, TResponse>(CallInfo call, TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> handler)
        where TRequest : class
        where TResponse : class
    {
        context.UserState[CallInfo.Key] = call;
        var started = Stopwatch.GetTimestamp();
        TResponse response;
        try
        {
            var message = request as IMessage;
            if (message is not null)
            {
                var (dbField, collectionField) = TargetFields<TRequest>.Of(message);
                var db = dbField?.Accessor.GetValue(message) as string;
                call.TargetDatabase = !string.IsNullOrEmpty(db) ? db : call.Database ?? "default";
                var collection = collectionField?.Accessor.GetValue(message) as string;
                call.TargetCollection = string.IsNullOrEmpty(collection) ? call.TargetCollection : collection;
            }
            else if (request is Data.ICallTarget target)
            {
                // A request read by its transport without a Milvus message (a REST search) names its target itself.
                call.TargetDatabase = !string.IsNullOrEmpty(target.Database) ? target.Database : call.Database ?? "default";
                call.TargetCollection = string.IsNullOrEmpty(target.Collection) ? call.TargetCollection : target.Collection;
            }
            await gate.CheckAsync(call, message, context.CancellationToken).ConfigureAwait(false);
            response = await handler(request, context).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            response = WithStatus<TResponse>(MilvusStatus.Error(MilvusCode.Unimplemented,
                $"Quiver does not support the RPC {call.Method}"), e);
        }
        catch (RpcException)
        {
            observer.Completed(call, Stopwatch.GetElapsedTime(started), MilvusCode.Unexpected, "rpc exception");
            throw;
        }
        catch (Exception e)
        {
            var status = MilvusStatus.FromException(e);
            if (status.Code == MilvusCode.Unexpected)
            {
                LogUnexpected(logger, call.Method, call.RequestId, e);
            }
            response = WithStatus<TResponse>(status, e);
        }
        var outcome = StatusOf(response);
        observer.Completed(call, Stopwatch.GetElapsedTime(started), outcome?.Code ?? 0, outcome?.Reason);
        return response;
    }

    /// <summary>Checks only the credential of <paramref name="call"/> (REST, from the headers, before the body is read);
    /// a refusal is reported to the observer as the call's outcome and rethrown.</summary>
    public async ValueTask AuthenticateAsync(CallInfo call, CancellationToken cancellationToken)
    {
        try
        {
            await gate.AuthenticateAsync(call, cancellationToken).ConfigureAwait(false);
        }
        catch (MilvusException e)
        {
            observer.Completed(call, TimeSpan.Zero, e.Code, e.Message);
            throw;
        }
    }

    /// <summary>Checks the caller's privilege for a step (<paramref name="method"/> on <paramref name="request"/>) of the
    /// admitted call <paramref name="call"/>; the step is not counted, rate-limited or observed apart from its call.</summary>
    public void AuthorizeStep(CallInfo call, string method, IMessage request) => gate.AuthorizeStep(call, method, request);

    private static FieldDescriptor? StringField(MessageDescriptor descriptor, string name) =>
        descriptor.FindFieldByName(name) is { FieldType: FieldType.String, IsRepeated: false } f ? f : null;

    /// <summary>The <c>db_name</c> and <c>collection_name</c> fields of a request type's message, found once per type
    /// (every call looked both names up in its descriptor). Kept with their descriptor and used only for a message of
    /// that descriptor, so a request type shared by several messages is still answered right (found again).</summary>
    private static class TargetFields<TRequest>
    {
        private static Found? _found;

        public static (FieldDescriptor? Db, FieldDescriptor? Collection) Of(IMessage message)
        {
            var descriptor = message.Descriptor;
            var found = _found;
            if (found is null || !ReferenceEquals(found.Descriptor, descriptor))
            {
                _found = found = new Found(descriptor, StringField(descriptor, "db_name"), StringField(descriptor, "collection_name"));
            }
            return (found.Db, found.Collection);
        }

        private sealed record Found(MessageDescriptor Descriptor, FieldDescriptor? Db, FieldDescriptor? Collection);
    }

    /// <summary>The status a response carries, if any.</summary>
    internal static Status? StatusOf(object response) => response switch
    {
        Status s => s,
        ICarriesStatus c => c.Status,
        IMessage m when StatusField(m.Descriptor) is { } f => f.Accessor.GetValue(m) as Status,
        _ => null,
    };

    /// <summary>The <c>status</c> field of a response type's message (null when it has none), found once per descriptor:
    /// every call looked it up by name in the descriptor to read its outcome (a tenth of the pipeline's own CPU samples
    /// in a loopback search's profile, bench/README.md session 37). The descriptors are the generated types' statics,
    /// so the table is bounded by the protocol's message types.</summary>
    private static FieldDescriptor? StatusField(MessageDescriptor descriptor) =>
        StatusFields.TryGetValue(descriptor, out var found) ? found
            : StatusFields.GetOrAdd(descriptor, d => d.FindFieldByName("status") is { FieldType: FieldType.Message } f && f.MessageType == Status.Descriptor ? f : null);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<MessageDescriptor, FieldDescriptor?> StatusFields =
        new(ReferenceEqualityComparer.Instance);

    /// <summary>A response of type <typeparamref name="TResponse"/> that carries <paramref name="status"/>.</summary>
    internal static TResponse WithStatus<TResponse>(Status status, Exception original)
    {
        if (status is TResponse bare)
        {
            return bare;
        }
        var response = Activator.CreateInstance<TResponse>();
        if (response is ICarriesStatus carrier)
        {
            carrier.Status = status;
            return response;
        }
        if (response is IMessage message
            && message.Descriptor.FindFieldByName("status") is { FieldType: FieldType.Message } field
            && field.MessageType == Status.Descriptor)
        {
            field.Accessor.SetValue(message, status);
            return response;
        }
        // No status field to carry the error: let gRPC report it.
        throw new RpcException(new Grpc.Core.Status(StatusCode.Internal, status.Reason), original.Message);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "unexpected error in {Method} (request {RequestId})")]
    private static partial void LogUnexpected(ILogger logger, string method, string requestId, Exception exception);
}

/// <summary>An answer that is not a Milvus message but can carry the status of a failed call (the pipeline sets it).</summary>
internal interface ICarriesStatus
{
    /// <summary>The failure's status; null when the call succeeded.</summary>
    Status? Status { get; set; }
}

/// <summary>The answer of a call that runs through the pipeline without a Milvus response message (a REST endpoint
/// that keeps its result as engine columns): the value on success, else the failure's status.</summary>
internal sealed class Answered<T> : ICarriesStatus
    where T : class
{
    /// <summary>A failed answer (the pipeline sets its status).</summary>
    public Answered()
    {
    }

    /// <summary>A successful answer.</summary>
    public Answered(T value) => Value = value;

    /// <summary>The value; null when the call failed.</summary>
    public T? Value { get; }

    /// <inheritdoc />
    public Status? Status { get; set; }
}

/// <summary>Puts every unary gRPC call through the <see cref="CallPipeline"/>, reading the database and credential from
/// the call's metadata as Milvus SDKs send them.</summary>
internal sealed class GrpcCallInterceptor(CallPipeline pipeline) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        // The two headers are read from the HTTP request: gRPC's RequestHeaders copies every header of the call into a
        // new Metadata (an entry and its strings per header) to hand over two of them.
        var headers = context.GetHttpContext().Request.Headers;
        var call = new CallInfo
        {
            Method = MethodName(context.Method),
            Transport = "grpc",
            Database = LastNonEmpty(headers, "dbname"),
            Credential = LastNonEmpty(headers, "authorization"),
            PeerOf = context,
        };
        // The continuation is handed on as it is: wrapping it in a lambda cost a closure and a delegate per call.
        return pipeline.RunAsync(call, request, context, continuation);
    }

    /// <summary>The RPC's name (<c>Search</c>) of its full gRPC method (<c>/milvus.proto.milvus.MilvusService/Search</c>),
    /// cut once per method and kept: the service's methods are a fixed set, so the table stops growing, and a call no
    /// longer allocates a substring.</summary>
    internal static string MethodName(string fullMethod)
    {
        if (MethodNames.TryGetValue(fullMethod, out var name))
        {
            return name;
        }
        name = fullMethod[(fullMethod.LastIndexOf('/') + 1)..];
        // Only methods the server serves reach an interceptor, so the table is bounded by the services' methods.
        return MethodNames.GetOrAdd(fullMethod, name);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> MethodNames = new(StringComparer.Ordinal);

    /// <summary>The last value of header <paramref name="name"/>, as gRPC's <c>Metadata.GetValue</c> answers it (the last
    /// entry of that key), or null when absent or empty.</summary>
    internal static string? LastNonEmpty(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var values) && values.Count > 0 && values[values.Count - 1] is { Length: > 0 } value ? value : null;
}
