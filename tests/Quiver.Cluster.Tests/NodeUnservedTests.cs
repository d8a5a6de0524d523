using Grpc.Core;
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

    /// <summary>Each of those RPCs through a node answers the standalone server's status (code and message), and so does
    /// an empty rename.</summary>
    [NatsFact]
    public async Task RpcsTheStandaloneServerDoesNotServe_AnswerAsItDoes()
    {
        await using var pair = await NodeBesideStandalone.StartAsync();
        var (node, single) = (pair.Node, pair.Standalone);
        foreach (var name in NotServedStandalone)
        {
            var expected = await StatusAsync(single, name);
            var actual = await StatusAsync(node, name);
            output.WriteLine($"{name}: standalone {expected}; node {actual}");
            Assert.StartsWith("code 10 ", expected, StringComparison.Ordinal);
            Assert.Equal(expected, actual);
        }

        // Rename is served since session 36: an empty one is refused in the standalone server's words.
        Assert.Equal(await StatusAsync(single, "RenameCollection"), await StatusAsync(node, "RenameCollection"));
    }

    /// <summary>The Milvus status (or the gRPC status) of an empty request of <paramref name="rpc"/>.</summary>
    private static Task<string> StatusAsync(CallInvoker invoker, string rpc) =>
        RawGrpc.DescribeAsync(invoker, rpc, RawGrpc.EmptyRequest(rpc), bytes => RawGrpc.StatusOf(rpc, bytes) is { } status ? $"code {status.Code} {status.Reason}" : "code 0 ");
}
