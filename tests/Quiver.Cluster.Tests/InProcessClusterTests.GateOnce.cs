using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Testing;
using MilvusMutation = Quiver.Protocol.Milvus.MutationResult;
using MilvusQuery = Quiver.Protocol.Milvus.QueryRequest;
using ProtoStatus = Quiver.Protocol.Common.Status;

namespace Quiver.Cluster.Tests;

/// <summary>A node's gRPC calls pass the standalone server's gate once, with the default request limits too, and are
/// parsed once on their way through the node (<c>MilvusRouting.CallAsync</c>).</summary>
public sealed partial class InProcessClusterTests
{
    [NatsFact]
    public async Task EveryGrpcCall_PassesTheGateWithTheDefaultLimits_BeforeItIsSplit_AndIsParsedOnce()
    {
        await using var cluster = await StartAsync();
        var kv = new NatsKVContext(new NatsJSContext(nats.Connection));
        await using var security = await ClusterSecurity.OpenAsync(kv, _context!.Config, CancellationToken.None);
        _context.Security = security;
        var services = new ServiceCollection();
        NodeSecurity.Register(services, _context.Security, _context.Config);
        await using var provider = services.BuildServiceProvider();
        var routing = new MilvusRouting(cluster.Client, _context);
        using var folder = new TempFolder("quiver-oracle");
        await using var oracle = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{oracle.Port}", new GrpcChannelOptions { MaxSendMessageSize = null });
        var standalone = new MilvusService.MilvusServiceClient(channel);
        const string Name = "gate_once";

        async Task<byte[]> Call(string rpc, IMessage request)
        {
            var context = new TestCallContext(rpc);
            context.UserState["__HttpContext"] = new DefaultHttpContext { RequestServices = provider };
            return await routing.CallAsync(MilvusService.Descriptor.FindMethodByName(rpc), request.ToByteArray(), context);
        }

        // Each call of a collection of three shards (a create, an insert split three ways, a load, a search and a query
        // merged from three shards) is parsed once.
        var create = ThreeShards(Name);
        var parses = routing.RequestParses;
        AssertOk(ProtoStatus.Parser.ParseFrom(await Call("CreateCollection", create)));
        AssertOk(await standalone.CreateCollectionAsync(create));
        Assert.Equal(1, routing.RequestParses - parses);

        parses = routing.RequestParses;
        var inserted = MilvusMutation.Parser.ParseFrom(await Call("Insert", Rows(Name, 0, 30, extra: false)));
        AssertOk(inserted.Status);
        Assert.Equal(30L, inserted.InsertCnt);
        Assert.Equal(1, routing.RequestParses - parses);

        parses = routing.RequestParses;
        AssertOk(ProtoStatus.Parser.ParseFrom(await Call("LoadCollection", new LoadCollectionRequest { CollectionName = Name })));
        Assert.Equal(1, routing.RequestParses - parses);

        parses = routing.RequestParses;
        var search = L2Search(Name, [1f, 0f], 5);
        var found = SearchResults.Parser.ParseFrom(await Call("Search", search));
        AssertOk(found.Status);
        Assert.Equal(5, found.Results.Ids.IntId.Data.Count);
        Assert.Equal(1, routing.RequestParses - parses);

        var count = new MilvusQuery { CollectionName = Name, OutputFields = { "count(*)" }, ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong };
        parses = routing.RequestParses;
        var counted = QueryResults.Parser.ParseFrom(await Call("Query", count));
        AssertOk(counted.Status);
        Assert.Equal(30L, counted.FieldsData.Single().Scalars.LongData.Data.Single());
        Assert.Equal(1, routing.RequestParses - parses);

        // One row past the default rows-per-insert limit: refused whole, in the standalone server's words, though each
        // shard's part alone would be under the limit; nothing is stored.
        var tooMany = Rows(Name, 1_000, 1_000_001, extra: false);
        var single = await standalone.InsertAsync(tooMany);
        var refused = MilvusMutation.Parser.ParseFrom(await Call("Insert", tooMany));
        Assert.Contains("exceeds the limit of 1000000 rows per request", single.Status.Reason, StringComparison.Ordinal);
        Assert.Equal((single.Status.Code, single.Status.Reason), (refused.Status.Code, refused.Status.Reason));
        counted = QueryResults.Parser.ParseFrom(await Call("Query", count));
        AssertOk(counted.Status);
        Assert.Equal(30L, counted.FieldsData.Single().Scalars.LongData.Data.Single());
    }
}
