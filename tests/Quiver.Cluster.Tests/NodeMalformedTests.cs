using Google.Protobuf;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>gRPC request bodies that are not valid protobuf for their message (a node parses a client's raw bytes itself,
/// where the standalone server's guarded marshallers parse them): a node answers each as the standalone server does (gRPC
/// INVALID_ARGUMENT naming the message, docs/errors.md grpc-malformed-request), and serves the next valid call.</summary>
public sealed class NodeMalformedTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Bodies no Milvus request parses from: a length-delimited field 1 whose length runs past the end, a tag
    /// of wire type 7 (none exists), a varint of eleven bytes, a field number 0.</summary>
    private static readonly byte[][] Malformed =
    [
        [0x0A, 0x7F, 0x61],
        [0x0F],
        [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
        [0x00, 0x01],
    ];

    private static readonly string[] Rpcs = ["HasCollection", "CreateCollection", "Insert", "Search", "Query", "LoadCollection", "ListDatabases"];

    [NatsFact]
    public async Task MalformedProtobufBodies_AreAnsweredAsTheStandaloneServerAnswersThem_AndTheNodeServesOn()
    {
        await using var pair = await NodeBesideStandalone.StartAsync();
        var (node, single) = (pair.Node, pair.Standalone);
        foreach (var rpc in Rpcs)
        {
            foreach (var body in Malformed)
            {
                Assert.Throws<InvalidProtocolBufferException>(() => MilvusService.Descriptor.FindMethodByName(rpc).InputType.Parser.ParseFrom(body));
                var expected = await AnswerAsync(single, rpc, body);
                var actual = await AnswerAsync(node, rpc, body);
                output.WriteLine($"{rpc} {Convert.ToHexString(body)}: standalone {expected}; node {actual}");
                // A client's mistake, named (docs/errors.md, grpc-malformed-request), not UNKNOWN "Exception was thrown by handler."
                Assert.StartsWith($"grpc InvalidArgument the request is not a valid {MilvusService.Descriptor.FindMethodByName(rpc).InputType.Name} message: ", expected, StringComparison.Ordinal);
                Assert.Equal(expected, actual);
            }
        }

        // The node serves on: a valid call answers.
        Assert.Equal(await AnswerAsync(single, "HasCollection", new HasCollectionRequest { CollectionName = "nowhere" }.ToByteArray()),
            await AnswerAsync(node, "HasCollection", new HasCollectionRequest { CollectionName = "nowhere" }.ToByteArray()));
    }

    /// <summary>The gRPC status of a call of <paramref name="rpc"/> with <paramref name="body"/> as its raw request, or
    /// "answered" and the answer's bytes when it succeeds.</summary>
    private static Task<string> AnswerAsync(CallInvoker invoker, string rpc, byte[] body) =>
        RawGrpc.DescribeAsync(invoker, rpc, body, bytes => $"answered {Convert.ToHexString(bytes)}");
}
