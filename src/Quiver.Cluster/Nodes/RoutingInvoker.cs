using Google.Protobuf;
using Grpc.Core;
using Quiver.Protocol.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary>A gRPC <see cref="CallInvoker"/> whose unary Milvus calls run through this node's
/// <see cref="MilvusRouting.RouteAsync"/> in process (no socket, no gate: a bulk-import job was authorized when it was
/// accepted), so a client over it writes exactly as a client calling the node would: rows split by primary-key hash,
/// auto_id keys from the collection's allocator. A job's inserts and upserts go through <paramref name="writes"/> when given
/// (<see cref="ImportWrites"/>: a resumed job stores no row twice).</summary>
internal sealed class RoutingInvoker(MilvusRouting routing, string database, ImportWrites? writes = null) : CallInvoker
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = RunAsync(method, options, request);
        return new AsyncUnaryCall<TResponse>(call, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
    }

    private async Task<TResponse> RunAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options, TRequest request)
        where TRequest : class
        where TResponse : class
    {
        var descriptor = MilvusService.Descriptor.FindMethodByName(method.Name)
            ?? throw new RpcException(new Status(StatusCode.Unimplemented, $"{method.Name} is not a Milvus method"));
        var message = (IMessage)request;
        var context = new RoutedCallContext(method.FullName, options.Headers ?? [], database, options.CancellationToken);
        var answer = writes is not null && descriptor.Name is "Insert" or "Upsert"
            ? await writes.SendAsync(descriptor, message, (d, m) => routing.RouteAsync(d, m.ToByteArray(), context, m), options.CancellationToken).ConfigureAwait(false)
            : await routing.RouteAsync(descriptor, message.ToByteArray(), context, message).ConfigureAwait(false);
        return (TResponse)descriptor.OutputType.Parser.ParseFrom(answer);
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        AsyncUnaryCall(method, host, options, request).ResponseAsync.GetAwaiter().GetResult();

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "streaming calls are not routed in process"));

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "streaming calls are not routed in process"));

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "streaming calls are not routed in process"));

    /// <summary>The server-side context of a call routed in process: the client's metadata (its <c>dbname</c>, else
    /// <paramref name="database"/>) and cancellation; no peer, no deadline.</summary>
    private sealed class RoutedCallContext(string method, Metadata headers, string database, CancellationToken ct) : ServerCallContext
    {
        private readonly Metadata _headers = headers.Get("dbname") is null ? [.. headers, new Metadata.Entry("dbname", database)] : headers;

        protected override string MethodCore => method;

        protected override string HostCore => "localhost";

        protected override string PeerCore => "in-process";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore => _headers;

        protected override CancellationToken CancellationTokenCore => ct;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore { get; } = new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            throw new NotSupportedException("calls routed in process propagate no context");

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
