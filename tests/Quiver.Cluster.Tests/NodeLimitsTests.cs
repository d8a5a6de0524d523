using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Clients;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;
using Quiver.Server.Security;
using Quiver.Testing;
using MilvusQuery = Quiver.Protocol.Milvus.QueryRequest;
using MilvusSearch = Quiver.Protocol.Milvus.SearchRequest;
using ProtoDataType = Quiver.Protocol.Schema.DataType;
using ProtoFieldSchema = Quiver.Protocol.Schema.FieldSchema;
using ProtoKeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoSchema = Quiver.Protocol.Schema.CollectionSchema;

namespace Quiver.Cluster.Tests;

/// <summary>Request limits other than the defaults on cluster nodes (docs/cluster.md, "Security on a node"): three
/// nodes and a standalone server with the same <c>security</c> limits answer every call at and past each limit alike,
/// over gRPC and REST, on collections of one and of three shards (whose inserts the node splits, so a limit that only
/// the shards checked would pass a batch of more rows than the limit).</summary>
public sealed class NodeLimitsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int MaxMessageBytes = 65_536;
    private const int MaxNq = 2;
    private const int MaxTopK = 10;
    private const int MaxDimension = 16;
    private const int MaxRows = 5;
    private const int Dim = 8;

    /// <summary>Each call past a limit (schema dimension, rows per insert, nq, top-k, offset + top-k, query vector
    /// dimension, message bytes with and without a declared length) and each call at the limits: the same Milvus code and
    /// message (and HTTP status over REST, gRPC status for a message too large) through the nodes, in turn, as from the
    /// standalone server.</summary>
    [NatsFact]
    public async Task Nodes_RequestLimitsOtherThanTheDefaults_AnswerAsAStandaloneServer()
    {
        var limits = new Dictionary<string, object>
        {
            ["maxMessageBytes"] = MaxMessageBytes,
            ["maxNq"] = MaxNq,
            ["maxTopK"] = MaxTopK,
            ["maxDimension"] = MaxDimension,
            ["maxRowsPerInsert"] = MaxRows,
        };
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3, settings: new Dictionary<string, object> { ["security"] = limits });
        using var folder = new TempFolder("quiver-oracle");
        var settings = new SecurityOptions { MaxMessageBytes = MaxMessageBytes, MaxNq = MaxNq, MaxTopK = MaxTopK, MaxDimension = MaxDimension, MaxRowsPerInsert = MaxRows };
        await using var oracle = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0, Security = settings });

        var single = await RunAsync([$"127.0.0.1:{oracle.Port}"]);
        var cluster = await RunAsync([.. Enumerable.Range(0, 3).Select(nodes.Endpoint)]);
        output.WriteLine("standalone:\n  " + string.Join("\n  ", single));
        output.WriteLine("cluster:\n  " + string.Join("\n  ", cluster));
        Assert.Equal(single, cluster);
        // The refusals are the limits' own, not some other error the two sides happen to share.
        Assert.Contains(single, a => a.Contains($"exceeds the limit of {MaxRows} rows per request", StringComparison.Ordinal));
        Assert.Contains(single, a => a.Contains($"it should be in range [1, {MaxNq}]", StringComparison.Ordinal));
        Assert.Contains(single, a => a.Contains($"topk + offset should be at most {MaxTopK}", StringComparison.Ordinal));
        Assert.Contains(single, a => a.Contains($"exceeds the limit of {MaxDimension}", StringComparison.Ordinal));
        Assert.Contains(single, a => a.Contains($"exceeds the limit of {MaxMessageBytes} bytes", StringComparison.Ordinal));
    }

    /// <summary>The sequence of calls, the k-th through <paramref name="endpoints"/>[k % count]: each answer as text.</summary>
    private static async Task<List<string>> RunAsync(string[] endpoints)
    {
        var answers = new List<string>();
        var turn = 0;
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(3) };
        var channels = endpoints.Select(e => GrpcChannel.ForAddress($"http://{e}", new GrpcChannelOptions { MaxSendMessageSize = null })).ToArray();
        try
        {
            string Next() => endpoints[turn++ % endpoints.Length];
            MilvusService.MilvusServiceClient Client() => new(channels[turn++ % endpoints.Length]);
            async Task Rest(string what, string path, string body, bool declared = true)
            {
                HttpContent content = declared
                    ? new StringContent(body, Encoding.UTF8, "application/json")
                    : new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
                using (content)
                {
                    using var response = await http.PostAsync(new Uri($"http://{Next()}/v2/vectordb{path}"), content);
                    answers.Add($"{what}: REST HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }

            async Task Call<T>(string what, Func<MilvusService.MilvusServiceClient, AsyncUnaryCall<T>> call, Func<T, string>? more = null)
                where T : IMessage
            {
                try
                {
                    var response = await call(Client()).ResponseAsync;
                    var status = CallPipeline.StatusOf(response);
                    answers.Add($"{what}: code {status?.Code ?? 0} {status?.Reason}{(status is { Code: 0 } or null && more is not null ? " " + more(response) : "")}");
                }
                catch (RpcException e)
                {
                    answers.Add($"{what}: grpc {e.StatusCode} {e.Status.Detail}");
                }
            }

            await Rest("create past maxDimension", "/collections/create", $$"""{"collectionName":"wide","dimension":{{MaxDimension + 1}}}""");
            await Call("create past maxDimension", g => g.CreateCollectionAsync(Create("wide", MaxDimension + 1)));
            foreach (var (name, shards) in new[] { ("one", 1), ("three", 3) })
            {
                await Rest($"create {name}", "/collections/create", $$"""{"collectionName":"{{name}}","dimension":{{Dim}},"params":{"shardsNum":{{shards}}} }""");
                await Rest($"{name}: REST insert past maxRowsPerInsert", "/entities/insert", InsertBody(name, 100, MaxRows + 1));
                await Rest($"{name}: REST insert at maxRowsPerInsert", "/entities/insert", InsertBody(name, 100, MaxRows));
                await Call($"{name}: insert past maxRowsPerInsert", g => g.InsertAsync(Insert(name, 200, MaxRows + 1)));
                await Call($"{name}: insert at maxRowsPerInsert", g => g.InsertAsync(Insert(name, 200, MaxRows)), r => $"inserted {r.InsertCnt}");
                await Rest($"{name}: REST search past maxNq", "/entities/search", SearchBody(name, MaxNq + 1, Dim, 3, 0));
                await Rest($"{name}: REST search past maxTopK", "/entities/search", SearchBody(name, 1, Dim, MaxTopK + 1, 0));
                await Rest($"{name}: REST search past offset + maxTopK", "/entities/search", SearchBody(name, 1, Dim, 6, 5));
                await Rest($"{name}: REST search past maxDimension", "/entities/search", SearchBody(name, 1, MaxDimension + 4, 3, 0));
                await Call($"{name}: search past maxNq", g => g.SearchAsync(Search(name, MaxNq + 1, Dim, 3, 0)));
                await Call($"{name}: search past maxTopK", g => g.SearchAsync(Search(name, 1, Dim, MaxTopK + 1, 0)));
                await Call($"{name}: search past offset + maxTopK", g => g.SearchAsync(Search(name, 1, Dim, 6, 5)));
                await Call($"{name}: search past maxDimension", g => g.SearchAsync(Search(name, 1, MaxDimension + 4, 3, 0)));
                await Call($"{name}: search at the limits", g => g.SearchAsync(Search(name, MaxNq, Dim, 5, 5)), r => $"nq {r.Results.NumQueries}");
                var filter = new string('x', MaxMessageBytes);
                await Rest($"{name}: REST body past maxMessageBytes", "/entities/query", $$"""{"collectionName":"{{name}}","filter":"{{filter}}"}""");
                await Rest($"{name}: REST body past maxMessageBytes, no length", "/entities/query", $$"""{"collectionName":"{{name}}","filter":"{{filter}}"}""", declared: false);
                await Call($"{name}: message past maxMessageBytes", g => g.QueryAsync(new MilvusQuery { CollectionName = name, Expr = filter }));
            }
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }

        return answers;
    }

    private static float[] Vector(int seed, int dim) => [.. Enumerable.Range(0, dim).Select(i => (float)Math.Round(Math.Sin((seed * 31) + i), 3))];

    private static string InsertBody(string collection, int first, int rows) =>
        $$"""{"collectionName":"{{collection}}","data":[{{string.Join(',', Enumerable.Range(first, rows).Select(id => $$"""{"id":{{id}},"vector":[{{string.Join(',', Vector(id, Dim).Select(f => f.ToString(System.Globalization.CultureInfo.InvariantCulture)))}}]}"""))}}]}""";

    private static string SearchBody(string collection, int nq, int dim, int limit, int offset) =>
        $$"""{"collectionName":"{{collection}}","data":[{{string.Join(',', Enumerable.Range(0, nq).Select(q => "[" + string.Join(',', Vector(q, dim).Select(f => f.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]"))}}],"limit":{{limit}},"offset":{{offset}}}""";

    private static CreateCollectionRequest Create(string name, int dim) => new()
    {
        CollectionName = name,
        Schema = new ProtoSchema
        {
            Name = name,
            Fields =
            {
                new ProtoFieldSchema { Name = "id", DataType = ProtoDataType.Int64, IsPrimaryKey = true },
                new ProtoFieldSchema { Name = "vector", DataType = ProtoDataType.FloatVector, TypeParams = { new ProtoKeyValuePair { Key = "dim", Value = dim.ToString(System.Globalization.CultureInfo.InvariantCulture) } } },
            },
        }.ToByteString(),
    };

    private static InsertRequest Insert(string collection, int first, int rows)
    {
        var vectors = new FloatArray();
        var ids = new LongArray();
        foreach (var id in Enumerable.Range(first, rows))
        {
            ids.Data.Add(id);
            vectors.Data.Add(Vector(id, Dim));
        }

        return new InsertRequest
        {
            CollectionName = collection,
            NumRows = (uint)rows,
            FieldsData =
            {
                new FieldData { FieldName = "id", Type = ProtoDataType.Int64, Scalars = new ScalarField { LongData = ids } },
                new FieldData { FieldName = "vector", Type = ProtoDataType.FloatVector, Vectors = new VectorField { Dim = Dim, FloatVector = vectors } },
            },
        };
    }

    private static MilvusSearch Search(string collection, int nq, int dim, int topK, int offset)
    {
        return new MilvusSearch
        {
            CollectionName = collection,
            Nq = nq,
            DslType = DslType.BoolExprV1,
            PlaceholderGroup = MilvusRequests.FloatPlaceholderGroup([.. Enumerable.Range(0, nq).SelectMany(q => Vector(q, dim))], dim),
            SearchParams =
            {
                new ProtoKeyValuePair { Key = "anns_field", Value = "vector" },
                new ProtoKeyValuePair { Key = "topk", Value = topK.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                new ProtoKeyValuePair { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                new ProtoKeyValuePair { Key = "metric_type", Value = "COSINE" },
                new ProtoKeyValuePair { Key = "params", Value = "{}" },
            },
        };
    }
}
