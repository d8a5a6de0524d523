using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>RPCs that name no collection and that the standalone server does not serve either (Milvus's component,
/// resource-group, segment and replication calls): a node answers them as the standalone server does, in its words,
/// rather than with a cluster refusal that says "yet".</summary>
public sealed class NodeUnservedTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly string[] NotServedStandalone =
    [
        "GetMetrics", "GetComponentStates", "CalcDistance", "GetPersistentSegmentInfo", "GetQuerySegmentInfo",
        "AllocTimestamp", "ListResourceGroups", "DescribeResourceGroup", "GetCompactionState", "FlushAll",
    ];

    /// <summary>Each of those RPCs through a node answers the standalone server's status (code and message); the
    /// RPCs the standalone server serves and a node does not yet (rename) keep the cluster's refusal.</summary>
    [NatsFact]
    public async Task RpcsTheStandaloneServerDoesNotServe_AnswerAsItDoes()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 1);
        using var folder = new TempFolder("quiver-oracle");
        await using var oracle = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        using var node = GrpcChannel.ForAddress($"http://{nodes.Endpoint(0)}");
        using var single = GrpcChannel.ForAddress($"http://127.0.0.1:{oracle.Port}");
        foreach (var name in NotServedStandalone)
        {
            var expected = await StatusAsync(single, name);
            var actual = await StatusAsync(node, name);
            output.WriteLine($"{name}: standalone {expected}; node {actual}");
            Assert.StartsWith("code 10 ", expected, StringComparison.Ordinal);
            Assert.Equal(expected, actual);
        }

        Assert.Equal("code 10 RenameCollection is not served by a Quiver cluster node yet (docs/cluster.md)", await StatusAsync(node, "RenameCollection"));
    }

    /// <summary>The Milvus status (or the gRPC status) of an empty request of <paramref name="rpc"/>.</summary>
    private static async Task<string> StatusAsync(GrpcChannel channel, string rpc)
    {
        var method = MilvusService.Descriptor.FindMethodByName(rpc);
        var call = new Method<byte[], byte[]>(MethodType.Unary, "milvus.proto.milvus.MilvusService", rpc,
            Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        try
        {
            var bytes = await channel.CreateCallInvoker().AsyncUnaryCall(call, null, new CallOptions(), method.InputType.Parser.ParseFrom(ByteString.Empty).ToByteArray());
            var response = method.OutputType.Parser.ParseFrom(bytes);
            var status = method.OutputType == Protocol.Common.Status.Descriptor
                ? (Protocol.Common.Status)response
                : method.OutputType.FindFieldByName("status") is { FieldType: FieldType.Message } field ? (Protocol.Common.Status)field.Accessor.GetValue(response) : null;
            return $"code {status?.Code ?? 0} {status?.Reason}";
        }
        catch (RpcException e)
        {
            return $"grpc {e.StatusCode} {e.Status.Detail}";
        }
    }
}
