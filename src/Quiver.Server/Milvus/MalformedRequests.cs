using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Quiver.Protocol.Milvus;

namespace Quiver.Server.Milvus;

/// <summary>A gRPC request body that does not parse as the message its RPC takes (docs/errors.md,
/// <c>grpc-malformed-request</c>) is the client's mistake: it is answered gRPC INVALID_ARGUMENT naming the message and
/// what the parser found, not UNKNOWN "Exception was thrown by handler." (gRPC's answer to an exception its
/// deserializer throws, which no interceptor sees).</summary>
internal static class MalformedRequests
{
    /// <summary>The refusal of a body that is not a valid <paramref name="messageName"/>.</summary>
    public static RpcException Refusal(string messageName, InvalidProtocolBufferException exception) =>
        new(new Status(StatusCode.InvalidArgument,
            $"the request is not a valid {messageName} message: {exception.Message.TrimEnd('.')}; send the RPC's request message encoded as protobuf"));

    /// <summary><paramref name="marshaller"/> whose deserializer answers a body that does not parse with
    /// <see cref="Refusal"/>.</summary>
    public static Marshaller<T> Guarded<T>(Marshaller<T> marshaller)
    {
        var name = typeof(T).Name;
        var deserialize = marshaller.ContextualDeserializer;
        return new Marshaller<T>(marshaller.ContextualSerializer, context =>
        {
            try
            {
                return deserialize(context);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw Refusal(name, ex);
            }
        });
    }
}

/// <summary>The gRPC endpoint of <see cref="MilvusGrpcService"/>: a type of its own, so that gRPC's binder (which binds a
/// service deriving from the generated base with the generated marshallers) leaves it to <see cref="MilvusGrpcMethods"/>.</summary>
internal sealed class MilvusGrpcEndpoint;

/// <summary>Binds every RPC of <c>MilvusService</c> to the server's <see cref="MilvusGrpcService"/> singleton, as the
/// generated <c>BindService</c> declares them, with each request marshaller <see cref="MalformedRequests.Guarded"/>.</summary>
internal sealed class MilvusGrpcMethods(MilvusGrpcService service) : IServiceMethodProvider<MilvusGrpcEndpoint>
{
    /// <inheritdoc/>
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<MilvusGrpcEndpoint> context) =>
        MilvusService.BindService(new Binder(context), service);

    /// <summary>Adds each method <c>BindService</c> declares; its handlers are never null (the service is given).</summary>
    private sealed class Binder(ServiceMethodProviderContext<MilvusGrpcEndpoint> context) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            context.AddUnaryMethod(Guard(method), [], (_, request, call) => handler!(request, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddServerStreamingMethod(Guard(method), [], (_, request, stream, call) => handler!(request, stream, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddClientStreamingMethod(Guard(method), [], (_, requests, call) => handler!(requests, call));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddDuplexStreamingMethod(Guard(method), [], (_, requests, responses, call) => handler!(requests, responses, call));

        private static Method<TRequest, TResponse> Guard<TRequest, TResponse>(Method<TRequest, TResponse> method)
            where TRequest : class
            where TResponse : class =>
            new(method.Type, method.ServiceName, method.Name, MalformedRequests.Guarded(method.RequestMarshaller), method.ResponseMarshaller);
    }
}
