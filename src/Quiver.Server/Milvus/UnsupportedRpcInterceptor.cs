using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Status = Quiver.Protocol.Common.Status;

namespace Quiver.Server.Milvus;

/// <summary>
/// Turns every failure of a unary call into a Milvus response carrying an error status, as Milvus SDKs expect: an RPC
/// that Quiver does not implement (the generated base method throws UNIMPLEMENTED) answers code 10 naming the RPC, and
/// an exception a handler did not catch answers its mapped code. The response message is created from its descriptor,
/// so one interceptor serves all 143 methods whether the response is a bare <c>Status</c> or carries one in field
/// <c>status</c>.
/// </summary>
internal sealed partial class UnsupportedRpcInterceptor(ILogger<UnsupportedRpcInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            var method = context.Method[(context.Method.LastIndexOf('/') + 1)..];
            return WithStatus<TResponse>(MilvusStatus.Error(MilvusCode.Unimplemented,
                $"Quiver does not support the RPC {method}"), e);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (Exception e)
        {
            var status = MilvusStatus.FromException(e);
            if (status.Code == MilvusCode.Unexpected)
            {
                LogUnexpected(logger, context.Method, e);
            }
            return WithStatus<TResponse>(status, e);
        }
    }

    /// <summary>A response of type <typeparamref name="TResponse"/> that carries <paramref name="status"/>.</summary>
    internal static TResponse WithStatus<TResponse>(Status status, Exception original)
    {
        if (status is TResponse bare)
        {
            return bare;
        }
        var response = Activator.CreateInstance<TResponse>();
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

    [LoggerMessage(Level = LogLevel.Error, Message = "unexpected error in {Method}")]
    private static partial void LogUnexpected(ILogger logger, string method, Exception exception);
}
