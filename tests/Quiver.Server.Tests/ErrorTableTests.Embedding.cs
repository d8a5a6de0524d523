using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Quiver.Embeddings;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using static Quiver.Server.Tests.Data.Columns;
using FieldData = Quiver.Protocol.Schema.FieldData;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests;

/// <summary>The refusals of TextEmbedding functions (docs/errors.md): <c>Plain</c> holds <c>texts</c> (id, doc VarChar
/// 64, vec 384 from the local model) and <c>remote</c> (an OpenAI-compatible function whose service does not answer:
/// its base URL is a loopback port nothing listens on).</summary>
public sealed partial class ErrorTableTests
{
    /// <summary>Points the server's OpenAI-compatible provider at a loopback port that refuses connections.</summary>
    private static void UnreachableEmbeddingService(ServerOptions options)
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        options.Embedding = new EmbeddingOptions { OpenAi = new OpenAiOptions { BaseUrl = new Uri($"http://127.0.0.1:{port}/") } };
    }

    private static async Task SeedEmbeddingAsync(TestServer server)
    {
        await server.CreateLoadedCollectionAsync("texts", TextSchema("local", 384));
        await server.CreateLoadedCollectionAsync("remote", TextSchema("openai", 4));
    }

    private static CollectionSchema TextSchema(string provider, int dim) => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("doc", 64), FieldSchema.Vector("vec", dim, MetricType.Cosine)],
        Functions = [CollectionFunction.TextEmbedding("embed", "doc", "vec", ImmutableDictionary<string, string>.Empty.Add("provider", provider))],
    };

    /// <summary>A create of (id, doc, vec dim 384) with one TextEmbedding function of <paramref name="parameters"/>.</summary>
    private static CreateCollectionRequest CreateWithFunction(string name, params (string Key, string Value)[] parameters)
    {
        var schema = new Protocol.Schema.CollectionSchema
        {
            Name = name,
            Fields =
            {
                Field("id", ProtoType.Int64, primary: true),
                Field("doc", ProtoType.VarChar, typeParams: ("max_length", "64")),
                Field("vec", ProtoType.FloatVector, typeParams: ("dim", "384")),
            },
        };
        var function = new Protocol.Schema.FunctionSchema
        {
            Name = "embed",
            Type = Protocol.Schema.FunctionType.TextEmbedding,
            InputFieldNames = { "doc" },
            OutputFieldNames = { "vec" },
        };
        function.Params.Add(parameters.Select(p => Kv(p.Key, p.Value)));
        schema.Functions.Add(function);
        return new CreateCollectionRequest { CollectionName = name, Schema = schema.ToByteString(), ShardsNum = 1 };
    }

    /// <summary>A search of <paramref name="collection"/>'s <paramref name="field"/> by text, as the SDKs send it.</summary>
    private static Task<Answer> SearchTextAsync(TestServer server, string collection, string field, string text)
    {
        var group = new PlaceholderGroup { Placeholders = { new PlaceholderValue { Tag = "$0", Type = PlaceholderType.VarChar, Values = { ByteString.CopyFromUtf8(text) } } } };
        var request = new Protocol.Milvus.SearchRequest { CollectionName = collection, PlaceholderGroup = group.ToByteString(), Nq = 1 };
        request.SearchParams.Add(Kv("anns_field", field));
        request.SearchParams.Add(Kv("topk", "3"));
        return SearchAsync(server, request);
    }

    private static async Task<Answer> InsertTextAsync(TestServer server, string collection, params FieldData[] columns) =>
        Answer.Of((await server.Milvus.InsertAsync(new InsertRequest { CollectionName = collection, NumRows = 1, FieldsData = { columns } })).Status);

    /// <summary><paramref name="cases"/> with the embedding cases added (kept here so the main table stays as it was).</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithEmbeddingCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        foreach (var (name, run) in EmbeddingCases)
        {
            cases.Add(name, run);
        }

        return cases;
    }

    private static (string Case, Func<Servers, Task<Answer>> Run)[] EmbeddingCases =>
    [
        ("function-unknown-provider", async s => Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateWithFunction("fn_unknown", ("provider", "cohere"))))),
        ("function-dim-mismatch", async s => Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateWithFunction("fn_dim", ("provider", "local"), ("dim", "768"))))),
        ("function-output-inserted", s => InsertTextAsync(s.Plain, "texts", Long("id", 1), VarChar("doc", "hello"), Vectors("vec", 384, new float[384]))),
        ("function-text-too-long", s => SearchTextAsync(s.Plain, "texts", "vec", new string('x', 65))),
        ("function-provider-failed", s => InsertTextAsync(s.Plain, "remote", Long("id", 1), VarChar("doc", "hello"))),
        ("search-text-without-function", s => SearchTextAsync(s.Plain, "docs", "embedding", "hello")),
    ];
}
