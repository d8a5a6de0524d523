using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Orleans.TestingHost;
using Grpc.Net.Client;
using NATS.Client.JetStream;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Clients;
using Quiver.Server.Hosting;
using Quiver.Testing;
using MilvusMutation = Quiver.Protocol.Milvus.MutationResult;
using MilvusQuery = Quiver.Protocol.Milvus.QueryRequest;
using MilvusSearch = Quiver.Protocol.Milvus.SearchRequest;
using ProtoKeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoStatus = Quiver.Protocol.Common.Status;

namespace Quiver.Cluster.Tests;

/// <summary>A collection whose catalog storage id differs from its name (the state a cluster rename leaves) is routed
/// by the id: every call answers as the standalone server does for the name, and everything stored is named from the
/// id, nothing from the name (docs/cluster.md, storage ids).</summary>
public sealed partial class InProcessClusterTests
{
    [NatsFact]
    public Task AOneShardCollectionWhoseIdIsNotItsName_AnswersAsTheStandalone_AndIsStoredUnderItsId() => IdIsNotNameAsync(1);

    [NatsFact]
    public Task AThreeShardCollectionWhoseIdIsNotItsName_AnswersAsTheStandalone_AndIsStoredUnderItsId() => IdIsNotNameAsync(3);

    /// <summary>One call of <paramref name="rpc"/> through <paramref name="routing"/> with <paramref name="http"/> as its
    /// HTTP context.</summary>
    private static Task<byte[]> CallAsync(MilvusRouting routing, HttpContext http, string rpc, IMessage request)
    {
        var context = new TestCallContext(rpc);
        context.UserState["__HttpContext"] = http;
        return routing.RouteAsync(MilvusService.Descriptor.FindMethodByName(rpc), request.ToByteArray(), context);
    }

    /// <summary>A strong search of <paramref name="collection"/>'s 2-d <c>vector</c> field for <paramref name="probe"/>,
    /// L2, the <paramref name="topK"/> nearest.</summary>
    private static MilvusSearch L2Search(string collection, float[] probe, int topK) => new()
    {
        CollectionName = collection,
        Nq = 1,
        DslType = Quiver.Protocol.Common.DslType.BoolExprV1,
        PlaceholderGroup = MilvusRequests.FloatPlaceholderGroup(probe, 2),
        SearchParams =
        {
            new ProtoKeyValuePair { Key = "anns_field", Value = "vector" },
            new ProtoKeyValuePair { Key = "topk", Value = topK.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            new ProtoKeyValuePair { Key = "metric_type", Value = "L2" },
            new ProtoKeyValuePair { Key = "params", Value = "{}" },
        },
        ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong,
    };

    /// <summary>A collection of <paramref name="shards"/> shards whose id is not its name, through its whole life: create,
    /// insert, delete, flush, index, load with two replicas, search, query, get, count, release, drop.</summary>
    private async Task IdIsNotNameAsync(int shards)
    {
        await using var cluster = await StartAsync();
        var routing = new MilvusRouting(cluster.Client, _context!) { NewStorageId = name => "stored_" + name };
        // Calls on a collection loaded with replicas read the live nodes from the node's services (as GateOnce's calls).
        var http = new DefaultHttpContext { RequestServices = cluster.Cluster.Primary is InProcessSiloHandle silo ? silo.SiloHost.Services : throw new InvalidOperationException("no in-process silo") };
        using var folder = new TempFolder("quiver-oracle");
        await using var oracle = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{oracle.Port}");
        var standalone = new MilvusService.MilvusServiceClient(channel);
        var name = $"renamed_{shards}";
        var id = "stored_" + name;
        var storage = ShardKeys.Storage(_context!.Config.Cluster, $"default/{id}");
        var byName = ShardKeys.Storage(_context.Config.Cluster, $"default/{name}");

        var create = ThreeShards(name);
        create.ShardsNum = shards;
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, http, "CreateCollection", create)));
        AssertOk(await standalone.CreateCollectionAsync(create));
        Assert.Equal((shards, id), await _context.Catalog.EntryAsync("default", name, CancellationToken.None, fresh: true));

        var rows = Rows(name, 0, 60, extra: false);
        var inserted = MilvusMutation.Parser.ParseFrom(await CallAsync(routing, http, "Insert", rows));
        AssertOk(inserted.Status);
        Assert.Equal((await standalone.InsertAsync(rows)).InsertCnt, inserted.InsertCnt);

        var delete = new DeleteRequest { CollectionName = name, Expr = "id in [3, 7, 41, 58]" };
        var deleted = MilvusMutation.Parser.ParseFrom(await CallAsync(routing, http, "Delete", delete));
        AssertOk(deleted.Status);
        Assert.Equal((await standalone.DeleteAsync(delete)).DeleteCnt, deleted.DeleteCnt);

        var flush = new FlushRequest { CollectionNames = { name } };
        AssertOk(FlushResponse.Parser.ParseFrom(await CallAsync(routing, http, "Flush", flush)).Status);
        AssertOk((await standalone.FlushAsync(flush)).Status);

        var index = new CreateIndexRequest
        {
            CollectionName = name,
            FieldName = "vector",
            ExtraParams = { new ProtoKeyValuePair { Key = "index_type", Value = "FLAT" }, new ProtoKeyValuePair { Key = "metric_type", Value = "L2" } },
        };
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, http, "CreateIndex", index)));
        AssertOk(await standalone.CreateIndexAsync(index));
        var describe = new DescribeIndexRequest { CollectionName = name };
        var described = DescribeIndexResponse.Parser.ParseFrom(await CallAsync(routing, http, "DescribeIndex", describe));
        AssertOk(described.Status);
        var expected = await standalone.DescribeIndexAsync(describe);
        Assert.Equal(expected.IndexDescriptions.Select(d => (d.FieldName, d.IndexName, d.TotalRows)), described.IndexDescriptions.Select(d => (d.FieldName, d.IndexName, d.TotalRows)));

        // Loaded with two replicas on the cluster (the standalone serves one): reads go to the replicas.
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, http, "LoadCollection", new LoadCollectionRequest { CollectionName = name, ReplicaNumber = 2 })));
        AssertOk(await standalone.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = name }));
        var replicas = GetReplicasResponse.Parser.ParseFrom(await CallAsync(routing, http, "GetReplicas", new GetReplicasRequest { CollectionName = name }));
        AssertOk(replicas.Status);
        Assert.Equal(2, replicas.Replicas.Count);

        foreach (var probe in new[] { new[] { 1f, 0f }, [0f, 1f], [-0.5f, 0.25f] })
        {
            var search = L2Search(name, probe, 7);
            var found = SearchResults.Parser.ParseFrom(await CallAsync(routing, http, "Search", search));
            AssertOk(found.Status);
            var oracleFound = await standalone.SearchAsync(search);
            Assert.Equal(oracleFound.Results.Ids.IntId.Data, found.Results.Ids.IntId.Data);
            Assert.Equal(oracleFound.Results.Scores, found.Results.Scores);
        }

        // A query by filter and a get by ids (a query of the keys), rows in key order.
        foreach (var expr in new[] { "id >= 10 and id < 30", "id in [0, 3, 9, 41, 59, 77]" })
        {
            var query = new MilvusQuery { CollectionName = name, Expr = expr, OutputFields = { "id" }, ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong };
            var answer = QueryResults.Parser.ParseFrom(await CallAsync(routing, http, "Query", query));
            AssertOk(answer.Status);
            var oracleAnswer = await standalone.QueryAsync(query);
            Assert.Equal(
                oracleAnswer.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data.Order(),
                answer.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data.Order());
        }

        var count = new MilvusQuery { CollectionName = name, OutputFields = { "count(*)" }, ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong };
        Assert.Equal(
            (await standalone.QueryAsync(count)).FieldsData.Single().Scalars.LongData.Data.Single(),
            QueryResults.Parser.ParseFrom(await CallAsync(routing, http, "Query", count)).FieldsData.Single().Scalars.LongData.Data.Single());

        // Stored under the id: the shards' logs, the status's shard keys (the catalog's ids and the placement records),
        // the replica set; nothing under the name.
        var js = new NatsJSContext(nats.Connection);
        var streams = new List<string>();
        await foreach (var stream in js.ListStreamNamesAsync())
        {
            streams.Add(stream);
        }

        foreach (var shard in Enumerable.Range(0, shards))
        {
            var log = ShardKeys.Storage(_context.Config.Cluster, ShardKeys.Of("default", id, shard)) + "-wal-";
            Assert.Contains(streams, s => s.StartsWith(log, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(streams, s => s.StartsWith(byName + "-", StringComparison.Ordinal) || s.Contains("_" + byName + "-", StringComparison.Ordinal));
        Assert.Contains(("default", id, shards), await _context.Catalog.AllIdsAsync(CancellationToken.None));
        var placed = new List<string>();
        await foreach (var key in _context.Placement.GetKeysAsync())
        {
            placed.Add(key);
        }

        Assert.Contains($"default/{id}", placed);
        Assert.DoesNotContain(placed, k => k == $"default/{name}" || k.StartsWith($"default/{name}/", StringComparison.Ordinal));
        Assert.Equal(2, await ReplicaRecords.CountAsync(_context, $"default/{id}", CancellationToken.None));
        Assert.Equal(0, await ReplicaRecords.CountAsync(_context, $"default/{name}", CancellationToken.None));

        // Released and dropped: the standalone's answers, the catalog forgets the name, the id's storage is deleted.
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, http, "ReleaseCollection", new ReleaseCollectionRequest { CollectionName = name })));
        AssertOk(await standalone.ReleaseCollectionAsync(new ReleaseCollectionRequest { CollectionName = name }));
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, http, "DropCollection", new DropCollectionRequest { CollectionName = name })));
        AssertOk(await standalone.DropCollectionAsync(new DropCollectionRequest { CollectionName = name }));
        Assert.Equal(0, (await _context.Catalog.EntryAsync("default", name, CancellationToken.None, fresh: true)).Shards);
        var has = new HasCollectionRequest { CollectionName = name };
        Assert.Equal((await standalone.HasCollectionAsync(has)).Value, BoolResponse.Parser.ParseFrom(await CallAsync(routing, http, "HasCollection", has)).Value);
        var left = new List<string>();
        await foreach (var stream in js.ListStreamNamesAsync())
        {
            left.Add(stream);
        }

        Assert.DoesNotContain(left, s => s.Contains(storage + "-", StringComparison.Ordinal));
    }
}
