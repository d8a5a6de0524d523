using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus.Data;
using Quiver.Server.Rest;
using Quiver.Server.Tests.Rest;
using static Quiver.Server.Tests.Data.Columns;

namespace Quiver.Server.Tests.Data;

/// <summary>Issue 12: a search or query is refused before its answer is built when the answer's estimated size passes
/// <c>Memory:MaxResultBytes</c>, and a request that would pass the server's in-flight byte budget is refused at once with
/// a retriable code.</summary>
public sealed class MemoryBudgetTests
{
    private const int Dim = 8;
    private const int Rows = 100;

    private static readonly CollectionSchema Schema = new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("title", 1000),
            FieldSchema.Vector("embedding", Dim, MetricType.L2),
        ],
    };

    private static async Task SeedAsync(TestServer server, int rows = Rows)
    {
        await server.CreateLoadedCollectionAsync("c", Schema);
        var random = new Random(7);
        var inserted = await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "c",
            NumRows = (uint)rows,
            FieldsData =
            {
                Long("id", [.. Enumerable.Range(0, rows).Select(i => (long)i)]),
                VarChar("title", [.. Enumerable.Range(0, rows).Select(i => $"title {i}")]),
                Vectors("embedding", Dim, [.. Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray())]),
            },
        });
        Assert.Equal(0, inserted.Status.Code);
    }

    private static Protocol.Milvus.SearchRequest Search(int nq, int topk, params string[] outputFields)
    {
        var request = new Protocol.Milvus.SearchRequest
        {
            CollectionName = "c",
            Nq = nq,
            PlaceholderGroup = TestPlaceholders.Group([.. Enumerable.Range(0, nq).Select(q => Enumerable.Repeat(q / (float)nq, Dim).ToArray())]),
            SearchParams = { Kv("anns_field", "embedding"), Kv("topk", topk.ToString(CultureInfo.InvariantCulture)), Kv("params", "{}") },
        };
        request.OutputFields.AddRange(outputFields);
        return request;
    }

    private static long PerHit(params string[] outputFields) =>
        ResultBudget.BytesPerItem(Schema, OutputFields.Resolve(Schema, outputFields), withScore: true);

    [Fact]
    public async Task Search_AtTheBudget_Runs_AndJustPastIt_IsRefusedNamingTheBudget()
    {
        const int nq = 3;
        const int topk = 20;
        var budget = nq * topk * PerHit();
        await using var server = await TestServer.StartAsync(o => o.Memory.MaxResultBytes = budget);
        await SeedAsync(server);

        var at = await server.Milvus.SearchAsync(Search(nq, topk));
        Assert.Equal(0, at.Status.Code);
        Assert.Equal(nq * topk, at.Results.Ids.IntId.Data.Count);

        var past = await server.Milvus.SearchAsync(Search(nq, topk + 1));
        Assert.Equal(1102, past.Status.Code);
        Assert.Contains(budget.ToString(CultureInfo.InvariantCulture), past.Status.Reason, StringComparison.Ordinal);
        Assert.Contains(ResultBudget.Setting, past.Status.Reason, StringComparison.Ordinal);

        // Output fields count: the same shape with a title per hit no longer fits.
        var withFields = await server.Milvus.SearchAsync(Search(nq, topk, "title"));
        Assert.Equal(1102, withFields.Status.Code);
    }

    [Fact]
    public async Task Search_LargestShapeInsideTheLimits_IsRefusedByTheDefaultBudget_NotBuilt()
    {
        await using var server = await TestServer.StartAsync();
        await SeedAsync(server, 1_000);
        // nq 1,000 x topk 16,384 is inside Milvus's limits; its answer is not inside the default budget (even capped at
        // the collection's 1,000 rows a query).
        var response = await server.Milvus.SearchAsync(Search(1000, 16_384));
        Assert.Equal(1102, response.Status.Code);
        Assert.Contains("nq 1000", response.Status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_TopKBeyondTheRows_IsEstimatedByTheRows()
    {
        // 100 rows: a top-16,384 search returns at most 100 hits a query, so a budget for 3 × 100 hits lets it run.
        await using var server = await TestServer.StartAsync(o => o.Memory.MaxResultBytes = 3 * Rows * PerHit());
        await SeedAsync(server);
        var response = await server.Milvus.SearchAsync(Search(3, 16_384));
        Assert.Equal(0, response.Status.Code);
        Assert.Equal(3 * Rows, response.Results.Ids.IntId.Data.Count);
    }

    [Fact]
    public async Task LargeSearch_SchedulesACollectionAfterwards()
    {
        await using var server = await TestServer.StartAsync();
        await SeedAsync(server, 1_000);
        var reclaimer = server.Server.Services.GetRequiredService<MemoryReclaimer>();
        var before = reclaimer.Collections;
        // 100 x 1,000 hits: an estimate above the reclaimer's threshold.
        Assert.True(100L * 1_000 * PerHit() >= MemoryReclaimer.Threshold);
        Assert.Equal(0, (await server.Milvus.SearchAsync(Search(100, 1_000))).Status.Code);
        using var guard = new CancellationTokenSource(RawHttp.Patience);
        while (reclaimer.Collections == before)
        {
            await Task.Delay(50, guard.Token);
        }
    }

    [Fact]
    public async Task Query_LimitAndUnlimited_AreCheckedAgainstTheBudget()
    {
        await using var server = await TestServer.StartAsync(o => o.Memory.MaxResultBytes =
            50 * ResultBudget.BytesPerItem(Schema, OutputFields.Resolve(Schema, ["title"]), withScore: false));
        await SeedAsync(server);
        Protocol.Milvus.QueryRequest Query(string expr, int? limit)
        {
            var q = new Protocol.Milvus.QueryRequest { CollectionName = "c", Expr = expr, OutputFields = { "title" } };
            if (limit is { } l)
            {
                q.QueryParams.Add(Kv("limit", l.ToString(CultureInfo.InvariantCulture)));
            }
            return q;
        }

        Assert.Equal(0, (await server.Milvus.QueryAsync(Query("", 50))).Status.Code);
        var overLimit = await server.Milvus.QueryAsync(Query("", 51));
        Assert.Equal(1102, overLimit.Status.Code);
        Assert.Contains(ResultBudget.Setting, overLimit.Status.Reason, StringComparison.Ordinal);

        // Without a limit the matches are counted first: 50 match, 51 do not fit.
        Assert.Equal(0, (await server.Milvus.QueryAsync(Query("id < 50", null))).Status.Code);
        var unlimited = await server.Milvus.QueryAsync(Query("id < 51", null));
        Assert.Equal(1102, unlimited.Status.Code);
        Assert.Contains("51 matching rows", unlimited.Status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_MaxInFlightBelowMaxMessage_IsRefusedAtStart()
    {
        var e = Assert.Throws<ArgumentException>(() => ServerConfig.Load(new Dictionary<string, string?>
        {
            ["Memory:MaxInFlightBytes"] = "1000",
        }, new Dictionary<string, string>()));
        Assert.Contains("Memory:MaxInFlightBytes", e.Message, StringComparison.Ordinal);
    }

    private const int MessageLimit = 64 * 1024;

    private static Task<TestServer> StartSmallAsync() => TestServer.StartAsync(o =>
    {
        o.Security.MaxMessageBytes = MessageLimit;
        o.Memory.MaxInFlightBytes = 100 * 1024;
    });

    /// <summary>Holds a REST request open: it announces <paramref name="bytes"/> of body and, until disposed, sends a few
    /// bytes every half second (faster than Kestrel's minimum body data rate, far slower than the body's end), once the
    /// server holds the announced bytes in its in-flight budget.</summary>
    internal static async Task<HeldRequest> HoldAsync(TestServer server, int bytes)
    {
        var held = new HeldRequest(await RawHttp.StartAsync(server.Server.Port, MilvusRestV2.Prefix + "/collections/has", bytes));
        var budget = server.Server.Services.GetRequiredService<InFlightBytes>();
        using var guard = new CancellationTokenSource(RawHttp.Patience);
        while (budget.Used < bytes)
        {
            await Task.Delay(10, guard.Token);
        }
        return held;
    }

    internal sealed class HeldRequest : IAsyncDisposable
    {
        private readonly RawHttp _http;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _trickle;

        public HeldRequest(RawHttp http)
        {
            _http = http;
            _trickle = Task.Run(async () =>
            {
                try
                {
                    await _http.WriteAsync(Encoding.ASCII.GetBytes("{\"collectionName\":\"c\",\"pad\":\""));
                    while (!_stop.IsCancellationRequested)
                    {
                        await _http.WriteAsync(Encoding.ASCII.GetBytes(new string('x', 300)));
                        await Task.Delay(500, _stop.Token);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or IOException)
                {
                    // stopped, or the connection closed
                }
            });
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _trickle;
            await _http.DisposeAsync();
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task InFlightCap_RestRequestThatDoesNotFit_IsRefusedAtOnce_Retriable_ThenServedOnceTheOtherEnds()
    {
        await using var server = await StartSmallAsync();
        var held = await HoldAsync(server, 60 * 1024);

        var body = Encoding.ASCII.GetBytes("{\"collectionName\":\"c\",\"pad\":\"" + new string('x', 50 * 1024) + "\"}");
        await using (var second = await RawHttp.StartAsync(server.Server.Port, MilvusRestV2.Prefix + "/collections/has", body.Length))
        {
            await second.WriteAsync(body);
            var (status, reply) = await second.ReadResponseAsync();
            Assert.Equal(429, status);
            Assert.Equal(4, reply["code"]!.GetValue<int>());
            Assert.Contains("Memory:MaxInFlightBytes", reply["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        await held.DisposeAsync(); // the held request's client goes away; its bytes come back
        var budget = server.Server.Services.GetRequiredService<InFlightBytes>();
        using var guard = new CancellationTokenSource(RawHttp.Patience);
        while (budget.Used > 0)
        {
            await Task.Delay(10, guard.Token);
        }
        using var content = new ByteArrayContent(body);
        using var response = await server.Http.PostAsync(new Uri(MilvusRestV2.Prefix + "/collections/has", UriKind.Relative), content);
        Assert.Contains("\"code\":0", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrpcMessage_AtTheMessageLimit_IsServed_AndPastIt_IsRefusedByGrpc()
    {
        await using var server = await StartSmallAsync();
        await server.CreateLoadedCollectionAsync("c", Schema);
        InsertRequest Insert(int bytes)
        {
            const int rows = 100;
            // Titles of 200 to 1,000 characters all have 2-byte length prefixes, so one character more or less changes the
            // message by exactly one byte.
            var titles = Enumerable.Repeat(new string('x', 200), rows).ToArray();
            var request = new InsertRequest { CollectionName = "c", NumRows = rows };
            while (true)
            {
                request.FieldsData.Clear();
                request.FieldsData.Add(Long("id", [.. Enumerable.Range(0, rows).Select(i => (long)i)]));
                request.FieldsData.Add(VarChar("title", titles));
                request.FieldsData.Add(Vectors("embedding", Dim, [.. Enumerable.Range(0, rows).Select(_ => new float[Dim])]));
                var missing = bytes - request.CalculateSize();
                if (missing == 0)
                {
                    return request;
                }
                if (missing > 0)
                {
                    var row = Array.FindIndex(titles, t => t.Length < 1000);
                    titles[row] += new string('x', Math.Min(missing, 1000 - titles[row].Length));
                }
                else
                {
                    var row = Array.FindLastIndex(titles, t => t.Length > 200);
                    titles[row] = titles[row][..^1];
                }
            }
        }

        var at = await server.Milvus.InsertAsync(Insert(MessageLimit));
        Assert.Equal(0, at.Status.Code);
        var past = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await server.Milvus.InsertAsync(Insert(MessageLimit + 1)));
        Assert.Equal(Grpc.Core.StatusCode.ResourceExhausted, past.StatusCode);
        Assert.Equal(0, server.Server.Services.GetRequiredService<InFlightBytes>().Used);
    }

    [Fact]
    public async Task InFlightCap_GrpcMessageThatDoesNotFit_AnswersCode4Retriable_WithoutAnInternalError()
    {
        await using var server = await StartSmallAsync();
        await server.CreateLoadedCollectionAsync("c", Schema);
        await using var held = await HoldAsync(server, 60 * 1024);

        // About 50 KiB of vectors: under the message limit, over what is left of the in-flight budget.
        const int rows = 1500;
        var insert = new InsertRequest
        {
            CollectionName = "c",
            NumRows = rows,
            FieldsData =
            {
                Long("id", [.. Enumerable.Range(0, rows).Select(i => (long)i)]),
                VarChar("title", [.. Enumerable.Range(0, rows).Select(i => "t")]),
                Vectors("embedding", Dim, [.. Enumerable.Range(0, rows).Select(_ => new float[Dim])]),
            },
        };
        Assert.InRange(insert.CalculateSize(), (100 - 60) * 1024, MessageLimit - 16);
        var response = await server.Milvus.InsertAsync(insert);
        Assert.Equal(4, response.Status.Code);
        Assert.True(response.Status.Retriable);
        Assert.Contains("Memory:MaxInFlightBytes", response.Status.Reason, StringComparison.Ordinal);
        Assert.Equal(0, (await server.Server.Engine.DescribeCollectionAsync("c")).RowCount);

        // A small call still fits and is served.
        Assert.Equal(0, (await server.Milvus.HasCollectionAsync(new HasCollectionRequest { CollectionName = "c" })).Status.Code);
    }
}
