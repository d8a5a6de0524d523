using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Status = Quiver.Protocol.Common.Status;
using Quiver.Protocol.Milvus;

namespace Quiver.Testing;

/// <summary>Unary calls of Milvus's service with the request as raw bytes (what a client that is not an SDK may send: a
/// body that is not valid protobuf, an empty message), for the tests that compare how a server and a cluster node
/// answer them.</summary>
public static class RawGrpc
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);
    private static readonly ConcurrentDictionary<string, Method<byte[], byte[]>> Methods = new(StringComparer.Ordinal);

    /// <summary>The unary method <paramref name="rpc"/> of <c>milvus.proto.milvus.MilvusService</c>, bytes in and out.</summary>
    public static Method<byte[], byte[]> Method(string rpc) =>
        Methods.GetOrAdd(rpc, name => new Method<byte[], byte[]>(MethodType.Unary, MilvusService.Descriptor.FullName, name, Bytes, Bytes));

    /// <summary>The answer's bytes; a gRPC status other than OK is thrown as <see cref="RpcException"/>.</summary>
    public static async Task<byte[]> CallAsync(CallInvoker invoker, string rpc, byte[] body, CallOptions options = default) =>
        await invoker.AsyncUnaryCall(Method(rpc), null, options, body).ResponseAsync.ConfigureAwait(false);

    /// <summary>The answer described by <paramref name="describe"/> (given the answer's bytes), or
    /// <c>grpc CODE detail</c> when the call ends with a gRPC status other than OK; the call is given three minutes.</summary>
    public static async Task<string> DescribeAsync(CallInvoker invoker, string rpc, byte[] body, Func<byte[], string> describe)
    {
        try
        {
            return describe(await CallAsync(invoker, rpc, body, new CallOptions(deadline: DateTime.UtcNow.AddMinutes(3))).ConfigureAwait(false));
        }
        catch (RpcException e)
        {
            return $"grpc {e.StatusCode} {e.Status.Detail}";
        }
    }

    /// <summary>The Milvus status an answer of <paramref name="rpc"/> carries: the answer itself when it is a
    /// <see cref="Status"/>, else its <c>status</c> field, else null.</summary>
    public static Status? StatusOf(string rpc, byte[] answer)
    {
        var output = MilvusService.Descriptor.FindMethodByName(rpc).OutputType;
        var response = output.Parser.ParseFrom(answer);
        return response as Status
            ?? (output.FindFieldByName("status") is { FieldType: FieldType.Message } field && field.MessageType == Status.Descriptor
                ? (Status)field.Accessor.GetValue(response)
                : null);
    }

    /// <summary>An empty request of <paramref name="rpc"/> (every field at its default).</summary>
    public static byte[] EmptyRequest(string rpc) =>
        MilvusService.Descriptor.FindMethodByName(rpc).InputType.Parser.ParseFrom(ByteString.Empty).ToByteArray();
}
