using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Cli.Ops.Import;
using Quiver.Server.Hosting;
using Quiver.Server.Rest;
using Quiver.Server.Tests.Data;
using Quiver.Server.Tests.Rest;
using Quiver.Server.Tests.Security;
using Quiver.Testing;
using Xunit.Abstractions;
using static Quiver.Server.Tests.Data.Columns;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests;

/// <summary>
/// Walks the table of docs/errors.md: for every row, the request in <see cref="Cases"/> that triggers it must answer the
/// row's code (and HTTP status over REST). A row without a case, or a case without a row, fails. To add a refusal, add a
/// row there and a case here (docs/errors.md, "Adding a row").
/// </summary>
public sealed partial class ErrorTableTests(ITestOutputHelper output)
{
    /// <summary>What a request got back: the Milvus code (or <c>gRPC NAME</c> for a transport status), the HTTP status
    /// over REST, and the message.</summary>
    private sealed record Answer(string Code, int? Http, string Message)
    {
        public static Answer Of(Protocol.Common.Status status) => new(status.Code.ToString(CultureInfo.InvariantCulture), null, status.Reason);
    }

    /// <summary>A row of the table.</summary>
    private sealed record Row(string Case, string Wire, string Code, string Http);

    private static string DocsPath([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "docs", "errors.md"));

    [GeneratedRegex(@"^\|\s*`(?<case>[a-z0-9-]+)`\s*\|\s*(?<wire>[^|]+?)\s*\|\s*(?<code>[^|]+?)\s*\|\s*(?<http>[^|]+?)\s*\|")]
    private static partial Regex RowPattern();

    /// <summary>The heading of the cluster nodes' refusals, which tests/Quiver.Cluster.Tests checks (a cluster is not
    /// started here): the table above it is this test's.</summary>
    private const string ClusterSection = "## Cluster nodes";

    private static List<Row> ReadTable() =>
        [.. File.ReadLines(DocsPath())
            .TakeWhile(line => !line.StartsWith(ClusterSection, StringComparison.Ordinal))
            .Select(line => RowPattern().Match(line))
            .Where(m => m.Success)
            .Select(m => new Row(m.Groups["case"].Value, m.Groups["wire"].Value, m.Groups["code"].Value, m.Groups["http"].Value))];

    [Fact]
    public void Table_HasACaseForEveryRow_AndARowForEveryCase()
    {
        var rows = ReadTable();
        Assert.NotEmpty(rows);
        var names = rows.Select(r => r.Case).ToList();
        Assert.Equal(names.Distinct(StringComparer.Ordinal).Count(), names.Count);
        var withoutCase = names.Except(Cases.Keys, StringComparer.Ordinal).ToList();
        var withoutRow = Cases.Keys.Except(names, StringComparer.Ordinal).ToList();
        Assert.True(withoutCase.Count == 0, "rows of docs/errors.md without a case in ErrorTableTests.Cases: " + string.Join(", ", withoutCase));
        Assert.True(withoutRow.Count == 0, "cases in ErrorTableTests.Cases without a row in docs/errors.md: " + string.Join(", ", withoutRow));
    }

    [Fact]
    public async Task EveryRow_IsAnsweredWithItsCodeAndHttpStatus()
    {
        await using var servers = await Servers.StartAsync();
        var problems = new List<string>();
        foreach (var row in ReadTable())
        {
            if (!Cases.TryGetValue(row.Case, out var run))
            {
                continue; // reported by Table_HasACaseForEveryRow_AndARowForEveryCase
            }
            var answer = await run(servers);
            output.WriteLine($"{row.Case}: {answer.Code} HTTP {answer.Http?.ToString(CultureInfo.InvariantCulture) ?? "-"}: {answer.Message}");
            if (answer.Code != row.Code)
            {
                problems.Add($"{row.Case}: expected code {row.Code}, got {answer.Code} ({answer.Message})");
            }
            // A row of both wires whose case went over gRPC: its HTTP status is the REST adapter's mapping of the code.
            var http = answer.Http?.ToString(CultureInfo.InvariantCulture) ?? (row.Wire == "both" ? RestHttpStatusOf(answer.Code) : "—");
            if (http != row.Http)
            {
                problems.Add($"{row.Case}: expected HTTP {row.Http}, got {http} ({answer.Message})");
            }
            if (row.Wire == "REST" && answer.Http is null || row.Wire == "gRPC" && answer.Http is not null)
            {
                problems.Add($"{row.Case}: the row says {row.Wire}, the case used the other wire");
            }
            if (string.IsNullOrWhiteSpace(answer.Message))
            {
                problems.Add($"{row.Case}: no message");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>The HTTP status the REST adapter answers with a code (MilvusRestV2.RunAsync).</summary>
    private static string RestHttpStatusOf(string code) => code switch
    {
        "1400" or "1800" => "401",
        "1401" => "403",
        _ => "200",
    };

    // ---- the servers and their data ----

    /// <summary>Five servers: <c>Plain</c> (authentication off, at most 2 rows per insert), <c>Secure</c>
    /// (authentication on), <c>Throttled</c> (one call per second), <c>Small</c> (small body, in-flight and result
    /// budgets; the toolbox's bulk importer) and <c>Guarded</c> (authentication on, for the failed-login limit alone, so
    /// that its spent budget cannot touch another case).</summary>
    private sealed class Servers : IAsyncDisposable
    {
        public const int Dim = 4;

        /// <summary><c>Small</c>'s body limit (<c>Security:MaxMessageBytes</c>).</summary>
        public const int SmallMessageBytes = 64 * 1024;

        /// <summary><c>Small</c>'s in-flight budget: one body of <see cref="SmallMessageBytes"/> and a bit more.</summary>
        public const int SmallInFlightBytes = 100 * 1024;

        /// <summary><c>Small</c>'s result budget: less than three hits or rows of <c>docs</c>.</summary>
        public const int SmallResultBytes = 1000;

        private Servers(TestServer plain, TestServer secure, TestServer throttled, TestServer small, TestServer guarded)
        {
            Plain = plain;
            Secure = secure;
            Throttled = throttled;
            Small = small;
            Guarded = guarded;
        }

        public TestServer Plain { get; }

        public TestServer Secure { get; }

        public TestServer Throttled { get; }

        public TestServer Small { get; }

        public TestServer Guarded { get; }

        /// <summary><c>Small</c>'s import root (the default, <c>import</c> in its data folder).</summary>
        public string ImportRoot => Path.Combine(Small.DataPath, "import");

        public static async Task<Servers> StartAsync()
        {
            var plain = await TestServer.StartAsync(o =>
            {
                o.Security.MaxRowsPerInsert = 2;
                UnreachableEmbeddingService(o);
            });
            var secure = await AuthTests.StartAuthAsync();
            var throttled = await TestServer.StartAsync(o => o.Security.RequestsPerSecondPerUser = 1);
            var small = await TestServer.StartAsync(o =>
            {
                o.Security.MaxMessageBytes = SmallMessageBytes;
                o.Memory.MaxInFlightBytes = SmallInFlightBytes;
                o.Memory.MaxResultBytes = SmallResultBytes;
                o.Import.Importer = new ToolboxBulkImporter();
                o.Console.Toolbox = new Quiver.Cli.Serve.ConsoleToolbox();
            });
            var guarded = await AuthTests.StartAuthAsync();
            var servers = new Servers(plain, secure, throttled, small, guarded);
            await servers.SeedAsync();
            return servers;
        }

        /// <summary><c>docs</c> (id, price, embedding L2, loaded, rows 1..3, alias <c>a1</c>), <c>cold</c> (not loaded),
        /// <c>parts</c> (partition <c>p1</c>, only <c>_default</c> loaded), <c>notes</c> (id, JSON meta, embedding), <c>places</c>
        /// (id, nullable Geometry geo and Timestamptz tsz, embedding; loaded, empty),
        /// <c>analyzed</c> (loaded, empty; VarChar <c>text</c> with enable_match, VarChar <c>plain</c> without). On
        /// <c>Small</c>: <c>docs</c> as on <c>Plain</c>, and the import root.</summary>
        private async Task SeedAsync()
        {
            var schema = new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("price", Quiver.DataType.Double), FieldSchema.Vector("embedding", Dim, MetricType.L2)],
            };
            foreach (var server in new[] { Plain, Small })
            {
                await server.CreateLoadedCollectionAsync("docs", schema);
                await server.Server.Engine.InsertAsync("docs",
                [
                    .. Enumerable.Range(1, 3).Select(i => new Dictionary<string, object?>
                    {
                        ["id"] = (long)i,
                        ["price"] = i * 1.5,
                        ["embedding"] = new float[] { i, 0, 0, 1 },
                    }),
                ]);
            }
            Directory.CreateDirectory(ImportRoot);
            await Plain.CreateLoadedCollectionAsync("places", new CollectionSchema
            {
                Fields =
                [
                    FieldSchema.Int64Key("id"),
                    new FieldSchema { Name = "geo", DataType = Quiver.DataType.Geometry, Nullable = true },
                    new FieldSchema { Name = "tsz", DataType = Quiver.DataType.Timestamptz, Nullable = true },
                    FieldSchema.Vector("embedding", Dim, MetricType.L2),
                ],
            });
            await SeedEmbeddingAsync(Plain);
            await Plain.Server.Engine.CreateCollectionAsync("notes", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Json("meta"), FieldSchema.Vector("embedding", Dim, MetricType.L2)],
            });
            await Plain.Server.Engine.CreateCollectionAsync("cold", schema);
            await Plain.CreateLoadedCollectionAsync("analyzed", new CollectionSchema
            {
                Fields =
                [
                    FieldSchema.Int64Key("id"), FieldSchema.Vector("embedding", Dim, MetricType.L2),
                    FieldSchema.VarChar("text", 64) with { EnableAnalyzer = true, EnableMatch = true }, FieldSchema.VarChar("plain", 64),
                ],
            });
            await Plain.Server.Engine.CreateCollectionAsync("parts", schema);
            await Plain.Server.Engine.CreateIndexAsync("parts", new IndexDefinition { FieldName = "embedding", IndexType = "FLAT" });
            Ok(await Plain.Milvus.CreatePartitionAsync(new CreatePartitionRequest { CollectionName = "parts", PartitionName = "p1" }));
            Ok(await Plain.Milvus.LoadPartitionsAsync(new LoadPartitionsRequest { CollectionName = "parts", PartitionNames = { "_default" } }));
            Ok(await Plain.Milvus.CreateAliasAsync(new CreateAliasRequest { CollectionName = "docs", Alias = "a1" }));
            await Secure.Server.Engine.CreateCollectionAsync("docs", schema);
            await AuthTests.CreateUserWithRoleAsync(Secure, "alice", "Alice-Pass-1", "reader");
        }

        private static void Ok(Protocol.Common.Status status) => Assert.True(status.Code == 0, status.Reason);

        public async ValueTask DisposeAsync()
        {
            await Plain.DisposeAsync();
            await Secure.DisposeAsync();
            await Throttled.DisposeAsync();
            await Small.DisposeAsync();
            await Guarded.DisposeAsync();
        }
    }

    // ---- request helpers ----

    private static Task<Answer> RestAsync(TestServer server, string path, string body, string? bearer = null) =>
        RestBytesAsync(server, path, Encoding.UTF8.GetBytes(body), bearer);

    private static async Task<Answer> RestBytesAsync(TestServer server, string path, byte[] body, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(MilvusRestV2.Prefix + path, UriKind.Relative))
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        using var response = await server.Http.SendAsync(request);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        return new Answer(json["code"]!.GetValue<int>().ToString(CultureInfo.InvariantCulture), (int)response.StatusCode,
            json["message"]?.GetValue<string>() ?? "");
    }

    /// <summary>Announces <paramref name="contentLength"/> bytes of body, sends <paramref name="body"/>, and reads the
    /// answer (for bodies HttpClient would not send as they are).</summary>
    private static async Task<Answer> RawRestAsync(TestServer server, string path, long contentLength, byte[] body)
    {
        await using var client = await RawHttp.StartAsync(server.Server.Port, MilvusRestV2.Prefix + path, contentLength);
        await client.WriteAsync(body);
        var (status, reply) = await client.ReadResponseAsync();
        return new Answer(reply["code"]!.GetValue<int>().ToString(CultureInfo.InvariantCulture), status, reply["message"]?.GetValue<string>() ?? "");
    }

    /// <summary>A filter of <paramref name="depth"/> nested parentheses around <c>id > 0</c>.</summary>
    private static string Parenthesized(int depth) => new string('(', depth) + "id > 0" + new string(')', depth);

    /// <summary>A JSON text of <paramref name="depth"/> nested arrays around <c>1</c>.</summary>
    private static string NestedArrays(int depth) => new string('[', depth) + "1" + new string(']', depth);

    /// <summary>A template list value nested <paramref name="depth"/> levels deep.</summary>
    private static TemplateValue NestedTemplate(int depth)
    {
        var value = new TemplateArrayValue { LongData = new LongArray { Data = { 1 } } };
        for (var i = 1; i < depth; i++)
        {
            value = new TemplateArrayValue { ArrayData = new TemplateArrayValueArray { Data = { value } } };
        }
        return new TemplateValue { ArrayVal = value };
    }

    /// <summary>Submits an import of <paramref name="file"/> into <c>docs</c> on <c>Small</c> over gRPC.</summary>
    private static async Task<Answer> ImportAsync(Servers s, string file) =>
        Answer.Of((await s.Small.Milvus.ImportAsync(new ImportRequest { CollectionName = "docs", Files = { file } })).Status);

    /// <summary>A file of rows beside <c>Small</c>'s import root (not under it).</summary>
    private static string OutsideFile(Servers s, string name)
    {
        var path = Path.Combine(s.Small.DataPath, name);
        File.WriteAllText(path, "{\"rows\":[]}");
        return path;
    }

    /// <summary>Sends rounds of concurrent logins with a wrong password to <c>Guarded</c> until one is refused by the
    /// failed-login limit (a burst of 10, then 2 a second, per address): a round outnumbers what the bucket can refill
    /// while it is sent, whatever the machine's speed; the round count is a hang guard only.</summary>
    private static async Task<Answer> FailedLoginsAsync(Servers s)
    {
        for (var round = 0; round < 20; round++)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
                RestAsync(s.Guarded, "/collections/list", "{}", "root:wrong-guess-" + i.ToString(CultureInfo.InvariantCulture))));
            if (answers.FirstOrDefault(a => a.Code != "1800") is { } other)
            {
                return other;
            }
        }
        return new Answer("1800", 401, "twenty rounds of 40 wrong passwords were all checked");
    }

    /// <summary>Holds a request of 60 KiB open on <c>Small</c> (in-flight budget 100 KiB), sends one of 50 KiB, and
    /// waits until the held bytes are given back, so that later cases find the budget free.</summary>
    private static async Task<Answer> InFlightFullAsync(Servers s)
    {
        Answer answer;
        await using (await MemoryBudgetTests.HoldAsync(s.Small, 60 * 1024))
        {
            var body = Encoding.ASCII.GetBytes("{\"collectionName\":\"docs\",\"pad\":\"" + new string('x', 50 * 1024) + "\"}");
            answer = await RawRestAsync(s.Small, "/collections/has", body.Length, body);
        }
        var budget = s.Small.Server.Services.GetRequiredService<InFlightBytes>();
        using var guard = new CancellationTokenSource(RawHttp.Patience);
        while (budget.Used > 0)
        {
            await Task.Delay(10, guard.Token);
        }
        return answer;
    }

    private static Protocol.Milvus.SearchRequest Search(string collection = "docs", int dim = Servers.Dim, int nq = 1, string topk = "3",
        string metric = "", string annsField = "embedding", string paramsJson = "{}")
    {
        var vectors = Enumerable.Range(0, nq).Select(_ => Enumerable.Repeat(0.5f, dim).ToArray()).ToList();
        return new Protocol.Milvus.SearchRequest
        {
            CollectionName = collection,
            Nq = nq,
            DslType = Protocol.Common.DslType.BoolExprV1,
            PlaceholderGroup = nq == 0 ? new Protocol.Common.PlaceholderGroup().ToByteString() : TestPlaceholders.Group(vectors),
            SearchParams =
            {
                Kv("anns_field", annsField),
                Kv("topk", topk),
                Kv("metric_type", metric),
                Kv("params", paramsJson),
            },
        };
    }

    private static async Task<Answer> SearchAsync(TestServer server, Protocol.Milvus.SearchRequest request) =>
        Answer.Of((await server.Milvus.SearchAsync(request)).Status);

    private static async Task<Answer> AlterFieldAsync(TestServer server, string collection, string field, string key, string value) =>
        Answer.Of(await server.Milvus.AlterCollectionFieldAsync(new AlterCollectionFieldRequest
        {
            CollectionName = collection,
            FieldName = field,
            Properties = { Kv(key, value) },
        }));

    /// <summary>A hybrid search of <c>docs</c>: two searches of <c>embedding</c>, fused by <paramref name="rank"/>.</summary>
    private static Protocol.Milvus.HybridSearchRequest Hybrid(params Protocol.Common.KeyValuePair[] rank) =>
        new() { CollectionName = "docs", Requests = { Search(), Search() }, RankParams = { rank } };

    private static async Task<Answer> HybridAsync(TestServer server, params Protocol.Common.KeyValuePair[] rank) =>
        Answer.Of((await server.Milvus.HybridSearchAsync(Hybrid(rank))).Status);

    /// <summary>A REST hybrid_search body over <c>docs</c> with two searches of <c>embedding</c> and <paramref name="rerank"/>.</summary>
    private static string HybridBody(string rerank) =>
        "{\"collectionName\": \"docs\", \"search\": [{\"data\": [[0.5, 0.5, 0.5, 0.5]], \"annsField\": \"embedding\", \"limit\": 3}, " +
        "{\"data\": [[0.5, 0.5, 0.5, 0.5]], \"annsField\": \"embedding\", \"limit\": 3}], \"rerank\": " + rerank + ", \"limit\": 3}";

    private static async Task<Answer> QueryAsync(TestServer server, Protocol.Milvus.QueryRequest request) =>
        Answer.Of((await server.Milvus.QueryAsync(request)).Status);

    private static async Task<Answer> InsertAsync(TestServer server, params FieldData[] columns) =>
        Answer.Of((await server.Milvus.InsertAsync(new InsertRequest { CollectionName = "docs", NumRows = (uint)RowsOf(columns[0]), FieldsData = { columns } })).Status);

    /// <summary>One row into <c>places</c>: id 1, a zero vector and <paramref name="column"/>.</summary>
    private static async Task<Answer> InsertPlacesAsync(TestServer server, FieldData column) =>
        Answer.Of((await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "places", NumRows = 1, FieldsData = { Long("id", 1), Vectors("embedding", Servers.Dim, [1, 0, 0, 0]), column },
        })).Status);

    private static int RowsOf(FieldData column) => column.Scalars?.LongData?.Data.Count ?? 1;

    private static CreateCollectionRequest CreateCollection(string name, params Protocol.Schema.FieldSchema[] fields) => new()
    {
        CollectionName = name,
        Schema = new Protocol.Schema.CollectionSchema { Name = name, Fields = { fields } }.ToByteString(),
        ShardsNum = 1,
    };

    private static Protocol.Schema.FieldSchema Field(string name, ProtoType type, bool primary = false, params (string Key, string Value)[] typeParams)
    {
        var field = new Protocol.Schema.FieldSchema { Name = name, DataType = type, IsPrimaryKey = primary };
        field.TypeParams.Add(typeParams.Select(p => Kv(p.Key, p.Value)));
        return field;
    }

    private static CreateIndexRequest Index(string field, string metric, string paramsJson) => new()
    {
        CollectionName = "docs",
        FieldName = field,
        ExtraParams = { Kv("index_type", "HNSW"), Kv("metric_type", metric), Kv("params", paramsJson) },
    };

    private static Metadata Basic(string credential) =>
        new() { { "authorization", Convert.ToBase64String(Encoding.UTF8.GetBytes(credential)) } };

    // ---- the cases, one per row of docs/errors.md ----

    private static readonly Dictionary<string, Func<Servers, Task<Answer>>> Cases = WithEveryPartialFilesCases(new(StringComparer.Ordinal)
    {
        ["unsupported-rpc"] = async s => Answer.Of(await s.Plain.Milvus.CreateResourceGroupAsync(new CreateResourceGroupRequest { ResourceGroup = "rg" })),
        ["collection-not-found"] = s => SearchAsync(s.Plain, Search("nope")),
        ["collection-not-loaded"] = s => SearchAsync(s.Plain, Search("cold")),
        ["partition-not-found"] = async s => Answer.Of(await s.Plain.Milvus.DropPartitionAsync(new DropPartitionRequest { CollectionName = "docs", PartitionName = "nope" })),
        ["partition-not-loaded"] = s =>
        {
            var search = Search("parts");
            search.PartitionNames.Add("p1");
            return SearchAsync(s.Plain, search);
        },
        ["index-not-found"] = async s => Answer.Of(await s.Plain.Milvus.DropIndexAsync(new DropIndexRequest { CollectionName = "cold", FieldName = "embedding" })),
        ["database-not-found"] = async s => Answer.Of(await s.Plain.Milvus.DropDatabaseAsync(new DropDatabaseRequest { DbName = "nope" })),
        ["field-not-found"] = async s => Answer.Of(await s.Plain.Milvus.CreateIndexAsync(Index("nope", "L2", "{}"))),
        ["alias-not-found"] = async s => Answer.Of(await s.Plain.Milvus.DropAliasAsync(new DropAliasRequest { Alias = "nope" })),
        ["alias-is-collection-name"] = async s => Answer.Of(await s.Plain.Milvus.CreateAliasAsync(new CreateAliasRequest { CollectionName = "docs", Alias = "cold" })),
        ["alias-exists"] = async s => Answer.Of(await s.Plain.Milvus.CreateAliasAsync(new CreateAliasRequest { CollectionName = "cold", Alias = "a1" })),
        ["collection-exists"] = async s => Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("docs",
            Field("id", ProtoType.Int64, primary: true), Field("embedding", ProtoType.FloatVector, typeParams: ("dim", "4"))))),
        ["schema-invalid"] = async s =>
        {
            var key = Field("k", ProtoType.Int64);
            key.IsClusteringKey = true;
            return Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("bad",
                Field("id", ProtoType.Int64, primary: true), key, Field("v", ProtoType.FloatVector, typeParams: ("dim", "4")))));
        },
        ["schema-type-param-twice"] = async s => Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("twice",
            Field("id", ProtoType.Int64, primary: true), Field("v", ProtoType.FloatVector, typeParams: [("dim", "4"), ("dim", "8")])))),
        ["schema-default-not-finite"] = async s =>
        {
            var score = Field("score", ProtoType.Double);
            score.DefaultValue = new ValueField { DoubleData = double.NaN };
            return Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("nan",
                Field("id", ProtoType.Int64, primary: true), score, Field("v", ProtoType.FloatVector, typeParams: ("dim", "4")))));
        },
        ["schema-default-on-json"] = async s =>
        {
            var meta = Field("meta", ProtoType.Json);
            meta.DefaultValue = new ValueField { StringData = "{}" };
            return Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("jsondefault",
                Field("id", ProtoType.Int64, primary: true), meta, Field("v", ProtoType.FloatVector, typeParams: ("dim", "4")))));
        },
        ["schema-default-kind-mismatch"] = async s =>
        {
            var n = Field("n", ProtoType.Int32);
            n.DefaultValue = new ValueField { StringData = "x" };
            return Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("kinddefault",
                Field("id", ProtoType.Int64, primary: true), n, Field("v", ProtoType.FloatVector, typeParams: ("dim", "4")))));
        },
        ["schema-dimension-too-large"] = async s => Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("wide",
            Field("id", ProtoType.Int64, primary: true), Field("v", ProtoType.FloatVector, typeParams: ("dim", "40000"))))),
        ["schema-analyzer-params-invalid"] = async s => Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("analyzer",
            Field("id", ProtoType.Int64, primary: true), Field("v", ProtoType.FloatVector, typeParams: ("dim", "4")),
            Field("s", ProtoType.VarChar, typeParams: [("max_length", "8"), ("enable_analyzer", "true"), ("analyzer_params", "{\"tokenizer\":\"icu\"}")])))),
        ["schema-text-setting-not-varchar"] = async s => Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("analyzer",
            Field("id", ProtoType.Int64, primary: true), Field("v", ProtoType.FloatVector, typeParams: ("dim", "4")),
            Field("n", ProtoType.Int64, typeParams: ("enable_analyzer", "true"))))),
        ["schema-match-without-analyzer"] = async s => Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("analyzer",
            Field("id", ProtoType.Int64, primary: true), Field("v", ProtoType.FloatVector, typeParams: ("dim", "4")),
            Field("s", ProtoType.VarChar, typeParams: [("max_length", "8"), ("enable_match", "true")])))),
        ["schema-text-flag-not-bool"] = async s => Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("analyzer",
            Field("id", ProtoType.Int64, primary: true), Field("v", ProtoType.FloatVector, typeParams: ("dim", "4")),
            Field("s", ProtoType.VarChar, typeParams: [("max_length", "8"), ("enable_analyzer", "yes")])))),
        ["text-match-without-enable-match"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest { CollectionName = "docs", Expr = "TEXT_MATCH(price, 'x')" }),
        ["phrase-match-bad-slop"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest { CollectionName = "analyzed", Expr = "PHRASE_MATCH(text, 'a b', -1)" }),
        ["phrase-match-too-long"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest
        {
            CollectionName = "analyzed",
            Expr = "PHRASE_MATCH(text, '" + string.Join(' ', Enumerable.Repeat("w", 200)) + "')", // the limit is 64 tokens
        }),
        ["run-analyzer-invalid-params"] = async s => Answer.Of((await s.Plain.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest { AnalyzerParams = "{\"tokenizer\":\"jieba\"}" })).Status),
        ["run-analyzer-field-without-analyzer"] = async s => Answer.Of((await s.Plain.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest { CollectionName = "analyzed", FieldName = "plain" })).Status),
        ["run-analyzer-unknown-field"] = async s => Answer.Of((await s.Plain.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest { CollectionName = "analyzed", FieldName = "nope" })).Status),
        ["run-analyzer-field-without-collection"] = async s => Answer.Of((await s.Plain.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest { FieldName = "text" })).Status),
        ["run-analyzer-multi-analyzer"] = async s => Answer.Of((await s.Plain.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest { AnalyzerNames = { "en" } })).Status),
        ["run-analyzer-too-many-texts"] = async s => Answer.Of((await s.Plain.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest
        {
            Placeholder = { Enumerable.Repeat(ByteString.CopyFromUtf8("x"), Quiver.Server.Milvus.MilvusGrpcService.MaxAnalyzerTexts + 1) },
        })).Status),
        ["run-analyzer-invalid-utf8"] = async s => Answer.Of((await s.Plain.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest
        {
            Placeholder = { ByteString.CopyFrom(0xC3, 0x28) },
        })).Status),
        ["insert-unknown-field"] = s => InsertAsync(s.Plain, Long("id", 10), Double("price", 1), Vectors("embedding", Servers.Dim, [1, 2, 3, 4]), Long("nope", 1)),
        ["insert-wrong-dimension"] = s => InsertAsync(s.Plain, Long("id", 10), Double("price", 1), Vectors("embedding", 3, [1, 2, 3])),
        ["insert-too-many-rows"] = s => InsertAsync(s.Plain, Long("id", 10, 11, 12), Double("price", 1, 2, 3),
            Vectors("embedding", Servers.Dim, [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4])),
        ["insert-duplicate-key"] = s => InsertAsync(s.Plain, Long("id", 1), Double("price", 1), Vectors("embedding", Servers.Dim, [1, 2, 3, 4])),
        ["upsert-partial-update"] = async s => Answer.Of((await s.Plain.Milvus.UpsertAsync(new UpsertRequest { CollectionName = "docs", PartialUpdate = true })).Status),
        ["delete-empty-filter"] = async s => Answer.Of((await s.Plain.Milvus.DeleteAsync(new DeleteRequest { CollectionName = "docs", Expr = " " })).Status),
        ["filter-invalid"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest { CollectionName = "docs", Expr = "price >" }),
        ["geometry-invalid-wkt"] = s => InsertPlacesAsync(s.Plain, new FieldData
        {
            FieldName = "geo", Type = ProtoType.Geometry, Scalars = new ScalarField { GeometryWktData = new GeometryWktArray { Data = { "POINT (1)" } } },
        }),
        ["timestamptz-invalid"] = s => InsertPlacesAsync(s.Plain, new FieldData
        {
            FieldName = "tsz", Type = ProtoType.Timestamptz, Scalars = new ScalarField { StringData = new StringArray { Data = { "2025-13-01T00:00:00Z" } } },
        }),
        ["filter-geometry-operator"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest { CollectionName = "places", Expr = "ST_Intersects(geo, 'POINT (1 1)')" }),
        ["filter-time-literal-invalid"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest { CollectionName = "places", Expr = "tsz > ISO 'soon'" }),
        ["filter-too-deep"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest { CollectionName = "docs", Expr = Parenthesized(Quiver.Filtering.FilterLimits.MaxDepth + 1) }),
        ["template-too-deep"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest
        {
            CollectionName = "docs",
            Expr = "id in {x}",
            ExprTemplateValues = { ["x"] = NestedTemplate(Quiver.Filtering.FilterLimits.MaxTemplateValueDepth + 2) },
        }),
        ["json-value-too-deep"] = async s => Answer.Of((await s.Plain.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "notes",
            NumRows = 1,
            FieldsData = { Long("id", 1), Json("meta", NestedArrays(JsonLimits.MaxDepth + 1)), Vectors("embedding", Servers.Dim, [1, 2, 3, 4]) },
        })).Status),
        ["delete-template-not-finite"] = async s => Answer.Of((await s.Plain.Milvus.DeleteAsync(new DeleteRequest
        {
            CollectionName = "docs",
            Expr = "price > {x}",
            ExprTemplateValues = { ["x"] = new TemplateValue { FloatVal = double.NaN } },
        })).Status),
        ["template-unsupported"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest
        {
            CollectionName = "docs",
            Expr = "id == {x}",
            ExprTemplateValues = { ["x"] = new TemplateValue { BytesVal = ByteString.CopyFromUtf8("1") } },
        }),
        ["query-count-with-fields"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest { CollectionName = "docs", Expr = "id > 0", OutputFields = { "count(*)", "price" } }),
        ["query-empty-filter-without-limit"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest { CollectionName = "docs" }),
        ["search-result-too-large"] = s => SearchAsync(s.Small, Search()),
        ["query-result-too-large"] = s => QueryAsync(s.Small, new Protocol.Milvus.QueryRequest { CollectionName = "docs", Expr = "id > 0", QueryParams = { Kv("limit", "3") } }),
        ["query-window-too-large"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest
        {
            CollectionName = "docs",
            Expr = "id > 0",
            QueryParams = { Kv("limit", "10000"), Kv("offset", "10000") },
        }),
        ["query-params-invalid"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest { CollectionName = "docs", Expr = "id > 0", QueryParams = { Kv("limit", "x") } }),
        ["output-field-unknown"] = s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest { CollectionName = "docs", Expr = "id > 0", OutputFields = { "nope" } }),
        ["topk-out-of-range"] = s => SearchAsync(s.Plain, Search(topk: "0")),
        ["offset-out-of-range"] = s =>
        {
            var search = Search(topk: "10");
            search.SearchParams.Add(Kv("offset", "16384"));
            return SearchAsync(s.Plain, search);
        },
        ["nq-out-of-range"] = s => SearchAsync(s.Plain, Search(nq: 0)),
        ["nq-mismatch"] = s =>
        {
            var search = Search();
            search.Nq = 3;
            return SearchAsync(s.Plain, search);
        },
        ["metric-mismatch"] = s => SearchAsync(s.Plain, Search(metric: "IP")),
        ["metric-unsupported"] = s => SearchAsync(s.Plain, Search(metric: "MANHATTAN")),
        ["query-vector-wrong-dimension"] = s => SearchAsync(s.Plain, Search(dim: 3)),
        ["query-vector-too-large"] = s => SearchAsync(s.Plain, Search(dim: 40_000)),
        ["placeholder-invalid"] = s =>
        {
            var search = Search();
            search.PlaceholderGroup = ByteString.CopyFrom(0xff, 0xff, 0xff);
            return SearchAsync(s.Plain, search);
        },
        ["placeholder-type"] = s =>
        {
            var search = Search();
            var group = Protocol.Common.PlaceholderGroup.Parser.ParseFrom(search.PlaceholderGroup);
            group.Placeholders[0].Type = Protocol.Common.PlaceholderType.BinaryVector;
            search.PlaceholderGroup = group.ToByteString();
            return SearchAsync(s.Plain, search);
        },
        ["anns-field-unknown"] = s => SearchAsync(s.Plain, Search(annsField: "nope")),
        ["anns-field-not-vector"] = s => SearchAsync(s.Plain, Search(annsField: "price")),
        ["group-by-unknown"] = s =>
        {
            var search = Search();
            search.SearchParams.Add(Kv("group_by_field", "nope"));
            return SearchAsync(s.Plain, search);
        },
        ["search-params-invalid"] = s => SearchAsync(s.Plain, Search(paramsJson: "[1]")),
        ["search-list-below-topk"] = s => SearchAsync(s.Plain, Search(topk: "10", paramsJson: "{\"search_list\": 5}")),
        ["search-iterator-token"] = s =>
        {
            var search = Search();
            search.SearchParams.Add([Kv("iterator", "true"), Kv("search_iter_v2", "true"), Kv("search_iter_last_bound", "0.5"), Kv("search_iter_id", "not-a-token")]);
            return SearchAsync(s.Plain, search);
        },
        ["search-by-missing-key"] = s =>
        {
            var search = Search();
            search.Ids = new IDs { IntId = new LongArray { Data = { 99 } } };
            return SearchAsync(s.Plain, search);
        },
        ["hybrid-rank-type"] = s => RestAsync(s.Plain, "/entities/hybrid_search", HybridBody("{\"strategy\": \"bogus\", \"params\": {}}")),
        ["hybrid-weights-count"] = s => RestAsync(s.Plain, "/entities/hybrid_search", HybridBody("{\"strategy\": \"weighted\", \"params\": {\"weights\": [1]}}")),
        ["hybrid-weight-range"] = s => HybridAsync(s.Plain, Kv("strategy", "weighted"), Kv("params", "{\"weights\": [0.5, 2]}")),
        ["hybrid-rrf-k"] = s => HybridAsync(s.Plain, Kv("strategy", "rrf"), Kv("params", "{\"k\": 0}")),
        ["hybrid-rerank-function"] = async s =>
        {
            var hybrid = Hybrid();
            hybrid.FunctionScore = new Protocol.Schema.FunctionScore
            {
                Functions = { new Protocol.Schema.FunctionSchema { Name = "d", Type = Protocol.Schema.FunctionType.Rerank, Params = { Kv("reranker", "decay") } } },
            };
            return Answer.Of((await s.Plain.Milvus.HybridSearchAsync(hybrid)).Status);
        },
        ["hybrid-nq-mismatch"] = async s =>
        {
            var hybrid = Hybrid();
            hybrid.Requests[1] = Search(nq: 2);
            return Answer.Of((await s.Plain.Milvus.HybridSearchAsync(hybrid)).Status);
        },
        // Over REST (collections/fields/alter_properties); the other alter-field rows go over gRPC.
        ["alter-field-property"] = s => RestAsync(s.Plain, "/collections/fields/alter_properties",
            "{\"collectionName\":\"docs\",\"fieldName\":\"price\",\"fieldParams\":{\"analyzer_params\":{}}}"),
        ["alter-field-mmap"] = s => AlterFieldAsync(s.Plain, "docs", "price", "mmap.enabled", "true"),
        ["alter-field-type"] = s => AlterFieldAsync(s.Plain, "docs", "price", "max_length", "16"),
        ["alter-field-shrink"] = async s =>
        {
            await s.Plain.Server.Engine.CreateCollectionAsync("alter", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("title", 8), FieldSchema.Vector("embedding", Servers.Dim, MetricType.L2)],
            });
            return await AlterFieldAsync(s.Plain, "alter", "title", "max_length", "4");
        },
        ["index-params-invalid"] = async s => Answer.Of(await s.Plain.Milvus.CreateIndexAsync(Index("embedding", "L2", "[1]"))),
        ["index-diskann-beam-width"] = async s => Answer.Of(await s.Plain.Milvus.CreateIndexAsync(new CreateIndexRequest
        {
            CollectionName = "docs",
            FieldName = "embedding",
            ExtraParams = { Kv("index_type", "DISKANN"), Kv("metric_type", "L2"), Kv("params", "{\"beam_width_ratio\": 4}") },
        })),
        ["index-metric-unsupported"] = async s => Answer.Of(await s.Plain.Milvus.CreateIndexAsync(Index("embedding", "MANHATTAN", "{}"))),
        ["load-partitions-empty"] = async s => Answer.Of(await s.Plain.Milvus.LoadPartitionsAsync(new LoadPartitionsRequest { CollectionName = "docs" })),
        ["describe-by-id"] = async s => Answer.Of((await s.Plain.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionID = 7 })).Status),
        ["import-unavailable"] = async s => Answer.Of((await s.Plain.Milvus.ImportAsync(new ImportRequest { CollectionName = "docs", Files = { "rows.json" } })).Status),
        ["import-path-nul"] = s => ImportAsync(s, "rows\0.json"),
        ["import-symbolic-link"] = s =>
        {
            var link = Path.Combine(s.ImportRoot, "linked.json");
            if (!File.Exists(link))
            {
                File.CreateSymbolicLink(link, OutsideFile(s, "linked-target.json"));
            }
            return ImportAsync(s, "linked.json");
        },
        ["import-hard-link"] = s =>
        {
            var link = Path.Combine(s.ImportRoot, "hard.json");
            if (!File.Exists(link))
            {
                HardLinks.Create(OutsideFile(s, "hard-target.json"), link);
            }
            return ImportAsync(s, "hard.json");
        },
        ["import-task-unknown"] = async s => Answer.Of((await s.Plain.Milvus.GetImportStateAsync(new GetImportStateRequest { Task = 42 })).Status),
        ["user-admin-without-auth"] = async s => Answer.Of(await s.Plain.Milvus.CreateCredentialAsync(new CreateCredentialRequest { Username = "bob", Password = AuthTests.B64("Bob-Pass-1") })),
        ["grpc-unauthenticated"] = async s =>
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await s.Secure.Milvus.ShowCollectionsAsync(new ShowCollectionsRequest()));
            return new Answer("gRPC " + e.StatusCode.ToString().ToUpperInvariant(), null, e.Status.Detail);
        },
        ["rest-unauthenticated"] = s => RestAsync(s.Secure, "/collections/list", "{}"),
        ["privilege-denied"] = s => RestAsync(s.Secure, "/entities/query", "{\"collectionName\":\"docs\",\"filter\":\"id > 0\"}", "alice:Alice-Pass-1"),
        ["rate-limited"] = async s =>
        {
            // The bucket holds one second's worth (one call): a burst of calls meets the limit whatever the machine's speed.
            // Flush is counted (metadata reads such as ShowCollections are not, as in Milvus).
            for (var i = 0; i < 50; i++)
            {
                var flushed = await s.Throttled.Milvus.FlushAsync(new FlushRequest());
                if (flushed.Status.Code != 0)
                {
                    return Answer.Of(flushed.Status);
                }
            }
            return new Answer("0", null, "fifty calls in a row were all served");
        },
        ["failed-login-limited"] = FailedLoginsAsync,
        ["rest-body-too-large"] = s => RawRestAsync(s.Small, "/collections/list", Servers.SmallMessageBytes + 1, Encoding.ASCII.GetBytes("{}")),
        ["in-flight-full"] = InFlightFullAsync,
        ["rest-duplicate-key"] = s => RestAsync(s.Plain, "/collections/describe", "{\"collectionName\":\"docs\",\"collectionName\":\"cold\"}"),
        ["rest-too-deep"] = s => RestAsync(s.Plain, "/collections/list", "{\"pad\":" + NestedArrays(RestBody.MaxDepth) + "}"),
        ["rest-invalid-utf8"] = s => RestBytesAsync(s.Plain, "/collections/describe", [.. "{\"collectionName\":\""u8, 0xff, .. "\"}"u8]),
        ["rest-empty-body"] = s => RestAsync(s.Plain, "/collections/list", ""),
        ["rest-invalid-json"] = s => RestAsync(s.Plain, "/collections/list", "{\"dbName\": "),
        ["rest-body-not-object"] = s => RestAsync(s.Plain, "/collections/list", "[1]"),
        ["rest-wrong-type"] = s => RestAsync(s.Plain, "/collections/describe", "{\"collectionName\": 5}"),
        ["rest-unpaired-surrogate"] = s => RestAsync(s.Plain, "/collections/describe", "{\"collectionName\":\"\\uD83D\"}"),
        ["rest-default-out-of-range"] = s => RestAsync(s.Plain, "/collections/create",
            "{\"collectionName\":\"range\",\"schema\":{\"fields\":[{\"fieldName\":\"id\",\"dataType\":\"Int64\",\"isPrimary\":true}," +
            "{\"fieldName\":\"n\",\"dataType\":\"Int32\",\"defaultValue\":9999999999},{\"fieldName\":\"v\",\"dataType\":\"FloatVector\",\"elementTypeParams\":{\"dim\":4}}]}}"),
        ["rest-missing-parameter"] = s => RestAsync(s.Plain, "/collections/describe", "{}"),
        ["rest-index-field-unknown"] = s => RestAsync(s.Plain, "/collections/create",
            "{\"collectionName\":\"withindex\",\"schema\":{\"fields\":[{\"fieldName\":\"id\",\"dataType\":\"Int64\",\"isPrimary\":true}," +
            "{\"fieldName\":\"v\",\"dataType\":\"FloatVector\",\"elementTypeParams\":{\"dim\":4}}]},\"indexParams\":[{\"fieldName\":\"nope\",\"metricType\":\"L2\"}]}"),
        ["vector-binary-dim"] = BinaryDimensionAsync,
        ["vector-schema-metric-for-type"] = SchemaMetricForTypeAsync,
        ["vector-index-metric-for-type"] = IndexMetricForTypeAsync,
        ["vector-index-type-for-type"] = IndexTypeForTypeAsync,
        ["vector-bytes-length"] = VectorBytesLengthAsync,
        ["vector-int8-component"] = Int8ComponentAsync,
        ["vector-placeholder-type"] = PlaceholderForTypeAsync,
        ["rest-invalid-row"] = s => RestAsync(s.Plain, "/entities/insert", "{\"collectionName\":\"docs\",\"data\":[{\"id\":20,\"price\":\"x\",\"embedding\":[1,2,3,4]}]}"),
        ["rest-row-number-out-of-range"] = s => RestAsync(s.Plain, "/entities/insert", "{\"collectionName\":\"docs\",\"data\":[{\"id\":20,\"price\":1e400,\"embedding\":[1,2,3,4]}]}"),
        ["rest-member-name-unpaired-surrogate"] = s => RestAsync(s.Plain, "/entities/insert", "{\"collectionName\":\"docs\",\"data\":[{\"id\":20,\"price\":1,\"embedding\":[1,2,3,4],\"\\uD83D\":1}]}"),
        ["rest-expr-param-not-a-value"] = s => RestAsync(s.Plain, "/entities/query", "{\"collectionName\":\"docs\",\"filter\":\"price > {t}\",\"exprParams\":{\"t\":{\"a\":1}}}"),
        ["rest-invalid-search-vector"] = s => RestAsync(s.Plain, "/entities/search", "{\"collectionName\":\"docs\",\"data\":[[1,2]]}"),
        ["rest-unknown-anns-field"] = s => RestAsync(s.Plain, "/entities/search", "{\"collectionName\":\"docs\",\"annsField\":\"nope\",\"data\":[[1,2,3,4]]}"),
        ["rest-invalid-data-type"] = s => RestAsync(s.Plain, "/collections/create",
            "{\"collectionName\":\"typo\",\"schema\":{\"fields\":[{\"fieldName\":\"id\",\"dataType\":\"Nope\",\"isPrimary\":true}]}}"),
        ["rest-quick-create-without-dimension"] = s => RestAsync(s.Plain, "/collections/create", "{\"collectionName\":\"quick\"}"),
        ["rest-invalid-consistency"] = s => RestAsync(s.Plain, "/entities/query", "{\"collectionName\":\"docs\",\"filter\":\"id > 0\",\"consistencyLevel\":\"Nope\"}"),
    });

    /// <summary><paramref name="cases"/> with the rows of every partial file added. A partial file contributes rows by
    /// declaring <c>private static Dictionary&lt;string, Func&lt;Servers, Task&lt;Answer&gt;&gt;&gt; With<i>Area</i>Cases(Dictionary&lt;…&gt; cases)</c>;
    /// it is found here by that name and shape, so no file has to list the others (the nested calls that did were a
    /// merge hazard). Applied in name order; a key added twice throws, and a file whose method is misnamed leaves its
    /// rows uncovered, which <see cref="Table_HasACaseForEveryRow_AndARowForEveryCase"/> reports.</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithEveryPartialFilesCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        var composers = typeof(ErrorTableTests)
            .GetMethods(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)
            .Where(m => m.Name.StartsWith("With", StringComparison.Ordinal) && m.Name.EndsWith("Cases", StringComparison.Ordinal)
                && m.Name != nameof(WithEveryPartialFilesCases)
                && m.ReturnType == cases.GetType()
                && m.GetParameters() is [{ } only] && only.ParameterType == cases.GetType())
            .OrderBy(m => m.Name, StringComparer.Ordinal);
        foreach (var composer in composers)
            cases = (Dictionary<string, Func<Servers, Task<Answer>>>)composer.Invoke(null, [cases])!;
        return cases;
    }
}
