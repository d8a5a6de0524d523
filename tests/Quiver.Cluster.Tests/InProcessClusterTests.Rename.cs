using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Http;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Orleans.TestingHost;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Testing;
using MilvusMutation = Quiver.Protocol.Milvus.MutationResult;
using MilvusQuery = Quiver.Protocol.Milvus.QueryRequest;
using ProtoKeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoStatus = Quiver.Protocol.Common.Status;

namespace Quiver.Cluster.Tests;

/// <summary><c>RenameCollection</c> through one node, then calls on the old and new names through another node (its own
/// catalog on the same bucket, which remembered the old name), against a standalone server given the same calls as the
/// oracle: the answers' statuses, descriptions, aliases, searches, queries, inserts and load states are the standalone's.
/// The rename is held after its moment (before its shards are renamed) and its node then dies: the other node's calls on
/// the new name settle the rename first, with no timing.</summary>
public sealed partial class InProcessClusterTests
{
    [NatsFact]
    public Task AOneShardCollection_RenamedThroughOneNode_AnswersAsTheStandaloneThroughAnother() => RenamedAsync(1);

    [NatsFact]
    public Task AThreeShardCollection_RenamedThroughOneNode_AnswersAsTheStandaloneThroughAnother() => RenamedAsync(3);

    private async Task RenamedAsync(int shards)
    {
        await using var cluster = await StartAsync();
        var context = _context!;
        context.Catalog.RenameShards = (d, f, t, n, i, c) => ShardRename.RunAsync(cluster.Client, context, d, f, t, n, i, c);
        var routing = new MilvusRouting(cluster.Client, context);
        // Another node: its own catalog (remembered entries, watch) on the same bucket.
        await using var otherCatalog = await CollectionCatalog.OpenAsync(new NatsKVContext(new NatsJSContext(nats.Connection)), context.Config.Cluster, 3, CancellationToken.None);
        otherCatalog.StartWatching();
        var otherContext = new NodeContext(context.Config, context.JetStream, otherCatalog) { Placement = context.Placement };
        otherCatalog.RenameShards = (d, f, t, n, i, c) => ShardRename.RunAsync(cluster.Client, otherContext, d, f, t, n, i, c);
        var other = new MilvusRouting(cluster.Client, otherContext);
        var http = new DefaultHttpContext { RequestServices = cluster.Cluster.Primary is InProcessSiloHandle silo ? silo.SiloHost.Services : throw new InvalidOperationException("no in-process silo") };
        using var folder = new TempFolder("quiver-oracle");
        await using var oracle = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{oracle.Port}");
        var standalone = new MilvusService.MilvusServiceClient(channel);
        var invoker = channel.CreateCallInvoker();
        var (name, renamed, alias, taken) = ($"before_{shards}", $"after_{shards}", $"al_{shards}", $"taken_{shards}");

        async Task<T> BothAsync<T>(MilvusRouting through, string rpc, IMessage request, MessageParser<T> parser, Func<T, IMessage>? compared = null)
            where T : IMessage<T>
        {
            var answer = parser.ParseFrom(await CallAsync(through, http, rpc, request));
            var expected = parser.ParseFrom(await invoker.AsyncUnaryCall(
                new Grpc.Core.Method<byte[], byte[]>(Grpc.Core.MethodType.Unary, MilvusRouting.ServiceName, rpc, MilvusRouting.Bytes, MilvusRouting.Bytes), null, new Grpc.Core.CallOptions(), request.ToByteArray()));
            var (want, got) = ((compared ?? (m => m))(expected).ToString(), (compared ?? (m => m))(answer).ToString());
            Assert.True(want == got, $"{rpc} {request}: the standalone answered {want}, the node {got}");
            return answer;
        }

        var create = ThreeShards(name);
        create.ShardsNum = shards;
        AssertOk(await BothAsync(routing, "CreateCollection", create, ProtoStatus.Parser));
        create = ThreeShards(taken);
        create.ShardsNum = 1;
        AssertOk(await BothAsync(routing, "CreateCollection", create, ProtoStatus.Parser));
        AssertOk((await BothAsync(routing, "Insert", Rows(name, 0, 60, extra: false), MilvusMutation.Parser, m => new MilvusMutation { Status = m.Status, InsertCnt = m.InsertCnt })).Status);
        AssertOk(await BothAsync(routing, "CreateAlias", new CreateAliasRequest { CollectionName = name, Alias = alias }, ProtoStatus.Parser));
        var index = new CreateIndexRequest
        {
            CollectionName = name,
            FieldName = "vector",
            ExtraParams = { new ProtoKeyValuePair { Key = "index_type", Value = "FLAT" }, new ProtoKeyValuePair { Key = "metric_type", Value = "L2" } },
        };
        AssertOk(await BothAsync(routing, "CreateIndex", index, ProtoStatus.Parser));
        // Loaded with two replicas on the cluster (the standalone serves one): reads go to the replicas, which must take
        // the new name too.
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, http, "LoadCollection", new LoadCollectionRequest { CollectionName = name, ReplicaNumber = 2 })));
        AssertOk(await standalone.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = name }));
        // The other node reads the old name, so it remembers it.
        await AssertSameSearchesAsync(other, name);

        // Refusals as the standalone's: a taken target, an alias as target, a missing source, a bad new name, through an
        // alias; nothing changes.
        foreach (var refused in new[]
        {
            new RenameCollectionRequest { OldName = name, NewName = taken },
            new RenameCollectionRequest { OldName = name, NewName = alias },
            new RenameCollectionRequest { OldName = name, NewName = name },
            new RenameCollectionRequest { OldName = "missing", NewName = "nowhere" },
            new RenameCollectionRequest { OldName = name, NewName = "bad-name" },
            new RenameCollectionRequest { OldName = alias, NewName = "via_alias" },
        })
        {
            Assert.NotEqual(0, (await BothAsync(other, "RenameCollection", refused, ProtoStatus.Parser)).Code);
        }

        // Into a database that does not exist: the standalone's refusal. Into another database: the cluster's own
        // (docs/errors.md, cluster-rename-database).
        Assert.NotEqual(0, (await BothAsync(other, "RenameCollection", new RenameCollectionRequest { OldName = name, NewName = renamed, NewDBName = "elsewhere" }, ProtoStatus.Parser)).Code);
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, http, "CreateDatabase", new CreateDatabaseRequest { DbName = "elsewhere" })));
        var across = ProtoStatus.Parser.ParseFrom(await CallAsync(routing, http, "RenameCollection", new RenameCollectionRequest { OldName = name, NewName = renamed, NewDBName = "elsewhere" }));
        Assert.Equal((10, ProtoStatus.Parser.ParseFrom(MilvusRouting.RenameAcrossDatabases(MilvusService.Descriptor.FindMethodByName("RenameCollection"), name, "default", "elsewhere")).Reason), (across.Code, across.Reason));

        // The renamer stops after its moment, before its shards are renamed (its node dies there): a call on the new
        // name through the other node settles the rename first, then answers as the standalone after the rename.
        AssertOk(await standalone.RenameCollectionAsync(new RenameCollectionRequest { OldName = name, NewName = renamed }));
        routing.AfterRenameMoment = async () =>
        {
            // A node reads by the entries it remembers, kept by its watch: once the moment's write is delivered there,
            // the old name is not found through it (its own reads of the new name are fresh).
            await CatalogStorageIdTests.WaitAsync(() => otherCatalog.RevisionOf("default", name) == 0);
            await AssertRenamedAsync();
            throw new RenamerDied();
        };
        await Assert.ThrowsAsync<RenamerDied>(() => CallAsync(routing, http, "RenameCollection", new RenameCollectionRequest { OldName = name, NewName = renamed }));
        routing.AfterRenameMoment = null;
        await AssertRenamedAsync();
        Assert.Equal(0, await otherCatalog.SettleRenamesAsync(CancellationToken.None));

        // Writes and a rename back through the renaming node, reads through the other.
        AssertOk((await BothAsync(routing, "Insert", Rows(renamed, 60, 40, extra: false), MilvusMutation.Parser, m => new MilvusMutation { Status = m.Status, InsertCnt = m.InsertCnt })).Status);
        await AssertSameSearchesAsync(other, renamed);
        AssertOk(await BothAsync(routing, "RenameCollection", new RenameCollectionRequest { OldName = renamed, NewName = name }, ProtoStatus.Parser));
        await AssertSameSearchesAsync(other, name);
        await AssertSameSearchesAsync(other, alias);
        Assert.False((await BothAsync(other, "HasCollection", new HasCollectionRequest { CollectionName = renamed }, BoolResponse.Parser)).Value);

        async Task AssertRenamedAsync()
        {
            foreach (var through in new[] { other, routing })
            {
                Assert.False((await BothAsync(through, "HasCollection", new HasCollectionRequest { CollectionName = name }, BoolResponse.Parser)).Value);
                Assert.NotEqual(0, (await BothAsync(through, "DescribeCollection", new DescribeCollectionRequest { CollectionName = name }, DescribeCollectionResponse.Parser, d => d.Status)).Status.Code);
                Assert.True((await BothAsync(through, "HasCollection", new HasCollectionRequest { CollectionName = renamed }, BoolResponse.Parser)).Value);
                await BothAsync(through, "DescribeCollection", new DescribeCollectionRequest { CollectionName = renamed }, DescribeCollectionResponse.Parser,
                    d => new DescribeCollectionResponse { Status = d.Status, CollectionName = d.CollectionName, Aliases = { d.Aliases } });
                await BothAsync(through, "DescribeAlias", new DescribeAliasRequest { Alias = alias }, DescribeAliasResponse.Parser);
                await BothAsync(through, "GetLoadState", new GetLoadStateRequest { CollectionName = renamed }, GetLoadStateResponse.Parser);
                await AssertSameSearchesAsync(through, renamed);
                await AssertSameSearchesAsync(through, alias);
            }
        }

        async Task AssertSameSearchesAsync(MilvusRouting through, string collection)
        {
            foreach (var probe in new[] { new[] { 1f, 0f }, [-0.5f, 0.25f] })
            {
                await BothAsync(through, "Search", L2Search(collection, probe, 7), SearchResults.Parser,
                    r => new SearchResults { Status = r.Status, Results = new Protocol.Schema.SearchResultData { Ids = r.Results?.Ids, Scores = { r.Results?.Scores ?? [] } } });
            }

            var query = new MilvusQuery { CollectionName = collection, Expr = "id >= 10 and id < 30", OutputFields = { "count(*)" }, ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong };
            await BothAsync(through, "Query", query, QueryResults.Parser, q => new QueryResults { Status = q.Status, FieldsData = { q.FieldsData.Select(f => f.Scalars) .Select(s => new Protocol.Schema.FieldData { Scalars = s }) } });
        }
    }

    private sealed class RenamerDied : Exception;
}
