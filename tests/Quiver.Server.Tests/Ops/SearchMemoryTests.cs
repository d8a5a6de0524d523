using System.Globalization;
using Quiver.Protocol.Milvus;
using Quiver.Testing;
using Xunit.Abstractions;
using static Quiver.Server.Tests.Data.Columns;

namespace Quiver.Server.Tests.Ops;

/// <summary>
/// Issue 12's memory observation, measured on <c>quiver serve</c> as a child process: one search of nq 1,000 (50 in CI)
/// × topk 16,384 over a 128-d collection (FLAT, and HNSW with ef 16,384 in the long tier). Run once with the result budget
/// lifted (the behaviour before the budget) and once with the default budget, which refuses it before it runs. Prints
/// the server's RSS before, at its peak during, and after each search; asserts only outcomes (a full answer, or code
/// 1102), never memory or time. 20k rows in CI, 100k in the long tier (<c>QUIVER_LONG=1</c>).
/// </summary>
[Trait("Category", "Long")]
public sealed class SearchMemoryTests(ITestOutputHelper output)
{
    private const int Dim = 128;
    private static readonly int Nq = TestTier.Pick(50, 1_000);
    private const int TopK = 16_384;

    [Fact]
    public async Task LargestSearchInsideTheLimits_Unbudgeted_vs_Budgeted_PrintsRss()
    {
        using var folder = new TempFolder();
        var rows = TestTier.Pick(20_000, 100_000);
        var indexes = TestTier.IsLong ? new[] { "FLAT", "HNSW" } : ["FLAT"];
        foreach (var index in indexes)
        {
            await PrepareAsync(folder.Path, "c_" + index.ToLowerInvariant(), rows, index);
        }
        foreach (var index in indexes)
        {
            var collection = "c_" + index.ToLowerInvariant();
            await MeasureAsync(folder.Path, collection, index, rows, unbudgeted: true);
            await MeasureAsync(folder.Path, collection, index, rows, unbudgeted: false);
        }
    }

    private static async Task PrepareAsync(string path, string name, int rows, string indexType)
    {
        await using var engine = await QuiverEngine.OpenAsync(path, new QuiverOptions { BackgroundMaintenance = false });
        await engine.CreateCollectionAsync(name, Ops.ObservabilityTests.Schema(Dim));
        for (var first = 0; first < rows; first += 5_000)
        {
            await engine.InsertAsync(name, Ops.ObservabilityTests.Rows(first, Math.Min(5_000, rows - first), Dim));
        }
        await engine.FlushAsync(name);
        await engine.CreateIndexAsync(name, new IndexDefinition
        {
            FieldName = "vector",
            IndexType = indexType,
            Params = indexType == "HNSW" ? new Dictionary<string, string> { ["M"] = "16", ["efConstruction"] = "64" } : new Dictionary<string, string>(),
        });
        using var wait = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        await engine.WaitForIndexAsync(name, cancellationToken: wait.Token);
    }

    private async Task MeasureAsync(string path, string collection, string index, int rows, bool unbudgeted)
    {
        var arguments = unbudgeted ? new[] { "--set", $"Memory:MaxResultBytes={long.MaxValue}" } : [];
        await using var serve = await ServeProcess.StartAsync(path, arguments);
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{serve.Port}",
            new Grpc.Net.Client.GrpcChannelOptions { MaxReceiveMessageSize = null });
        var client = new MilvusService.MilvusServiceClient(channel);
        {
            Assert.Equal(0, (await client.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = collection })).Code);
            var random = new Random(3);
            var queries = Enumerable.Range(0, Nq).Select(_ => Enumerable.Range(0, Dim).Select(_ => random.NextSingle()).ToArray()).ToList();
            var request = new Protocol.Milvus.SearchRequest
            {
                CollectionName = collection,
                Nq = Nq,
                PlaceholderGroup = TestPlaceholders.Group(queries),
                SearchParams =
                {
                    Kv("anns_field", "vector"), Kv("topk", TopK.ToString(CultureInfo.InvariantCulture)),
                    Kv("params", index == "HNSW" ? $"{{\"ef\": {TopK}}}" : "{}"),
                },
            };
            // A warm-up search so that "before" includes the code and the collection's pages, not just an idle process.
            var warm = await client.SearchAsync(new Protocol.Milvus.SearchRequest(request) { Nq = 1, PlaceholderGroup = TestPlaceholders.Group([queries[0]]) });
            Assert.Equal(0, warm.Status.Code);
            var before = Rss(serve.Pid);
            var peak = before;
            using var stop = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    peak = Math.Max(peak, Rss(serve.Pid));
                    await Task.Delay(20, CancellationToken.None);
                }
            });
            var started = DateTime.UtcNow;
            var response = await client.SearchAsync(request, deadline: DateTime.UtcNow.AddHours(1));
            var seconds = (DateTime.UtcNow - started).TotalSeconds;
            var code = response.Status.Code;
            var hits = response.Results?.Ids?.IntId?.Data.Count ?? 0;
            var answered = response.CalculateSize();
            response = null;
            if (unbudgeted)
            {
                Assert.Equal(0, code);
                Assert.Equal(Nq * Math.Min(TopK, rows), hits);
            }
            else
            {
                Assert.Equal(1102, code);
            }
            await Task.Delay(TimeSpan.FromSeconds(5));
            var after = Rss(serve.Pid);
            await stop.CancelAsync();
            await sampler;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{index} {(unbudgeted ? "budget lifted " : "default budget")}: code {code}, {hits} hits, RSS before {before / 1e6:F0} MB, peak {peak / 1e6:F0} MB, 5 s after {after / 1e6:F0} MB; answer {answered / 1e6:F1} MB in {seconds:F1} s"));
        }
    }

    /// <summary>Resident set size of a process, in bytes (Linux /proc).</summary>
    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }
}
