using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Net.Client;
using Quiver.Protocol.Milvus;
using Quiver.Server.Clients;
using Quiver.Server.Hosting;

namespace Quiver.Bench;

/// <summary>
/// <c>ingestpath</c>: the same rows inserted through the engine (<c>QuiverEngine.InsertAsync</c> with rows), over gRPC
/// (<c>Insert</c> with column <c>FieldData</c>, as the SDKs send it) and over REST (<c>/v2/vectordb/entities/insert</c>,
/// JSON rows), into a fresh collection each, one client, for each dimension: rows/s and MB/s of vector data (4 bytes a
/// float), and the ratios server / engine. Seeded uniform vectors; every batch is built before its clock starts, so a
/// figure is the insert path alone (for gRPC and REST: serialization by the client included, as a client pays it).
/// Durability <c>Never</c> (no fsync: the path, not the disk); <c>bench/ingest.sh</c> measures the fsync policies.
/// </summary>
internal static class IngestPath
{
    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("dims", "rows", "batch", "md", "dir");
        var dims = ServerBench.Ints(args.Text("dims", "128,768"));
        var rows = args.Int("rows", 100_000);
        var batch = args.Int("batch", 1000);
        var markdown = args.Text("md");
        var folder = Path.Combine(args.Text("dir") ?? Path.GetTempPath(), "quiver-bench-ingestpath-" + Guid.NewGuid().ToString("N"));
        var c = CultureInfo.InvariantCulture;
        var table = new StringBuilder();
        table.AppendLine(c, $"Ingest paths: {rows} rows a run, batches of {batch}, one client, durability Never. Machine: {Report.Machine()}.");
        table.AppendLine();
        table.AppendLine(c, $"Command: `dotnet bench/Quiver.Bench/bin/Release/net10.0/Quiver.Bench.dll {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}`");
        table.AppendLine();
        table.AppendLine("| dim | path | rows/s | MB/s (vectors) | / engine |");
        table.AppendLine("| ---: | --- | ---: | ---: | ---: |");
        try
        {
            await using var server = await QuiverServer.StartAsync(ServerBench.BenchOptions(folder));
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
            var stub = new MilvusService.MilvusServiceClient(channel);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
            // Untimed: a few batches down every path first, so that no figure carries the JIT's first compilations.
            await RunPathsAsync(server, stub, http, dims[0], Math.Min(rows, batch * 5), batch, null);
            foreach (var dim in dims)
            {
                foreach (var line in await RunPathsAsync(server, stub, http, dim, rows, batch, c))
                {
                    Console.WriteLine(line);
                    table.AppendLine(line);
                }
            }
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        if (markdown is not null)
        {
            await File.WriteAllTextAsync(markdown, table.ToString());
            Console.WriteLine($"wrote {markdown}");
        }
        return 0;
    }

    /// <summary>Inserts <paramref name="rows"/> seeded rows of <paramref name="dim"/> through each path into a fresh
    /// collection; returns one table line per path (none when <paramref name="c"/> is null: a warm-up).</summary>
    private static async Task<List<string>> RunPathsAsync(QuiverServer server, MilvusService.MilvusServiceClient stub, HttpClient http,
        int dim, int rows, int batch, CultureInfo? c)
    {
        var lines = new List<string>();
        var random = new Random(42);
        var vectors = new float[(long)rows * dim];
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] = random.NextSingle();
        }
        double engineRate = 0;
        foreach (var path in new[] { "engine", "grpc", "rest" })
        {
            var name = $"ingest_{path}_{dim}";
            await server.Engine.CreateCollectionAsync(name, new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", dim, MetricType.L2)],
            });
            var seconds = 0.0;
            for (var first = 0; first < rows; first += batch)
            {
                var n = Math.Min(batch, rows - first);
                var ids = Enumerable.Range(first, n).Select(i => (long)i).ToArray();
                var slice = vectors.AsSpan(first * dim, n * dim);
                Func<Task> insert = path switch
                {
                    "engine" => EngineBatch(server.Engine, name, ids, slice.ToArray(), dim),
                    "grpc" => GrpcBatch(stub, name, ids, slice, dim),
                    _ => RestBatch(http, name, ids, slice.ToArray(), dim),
                };
                var started = Stopwatch.GetTimestamp();
                await insert();
                seconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
            }
            var count = (await server.Engine.DescribeCollectionAsync(name)).RowCount;
            if (count != rows)
            {
                throw new InvalidOperationException($"{path} at {dim}-d: {count} rows in the collection, {rows} inserted");
            }
            await server.Engine.DropCollectionAsync(name);
            var rate = rows / seconds;
            engineRate = path == "engine" ? rate : engineRate;
            if (c is not null)
            {
                lines.Add(string.Create(c, $"| {dim} | {path} | {rate:F0} | {rate * dim * sizeof(float) / 1e6:F1} | {rate / engineRate:F3} |"));
            }
        }
        return lines;
    }

    private static Func<Task> EngineBatch(QuiverEngine engine, string name, long[] ids, float[] vectors, int dim)
    {
        var batch = ids.Select((id, i) => new Quiver.Row { ["id"] = id, ["vector"] = vectors.AsSpan(i * dim, dim).ToArray() }).ToList();
        return () => engine.InsertAsync(name, batch);
    }

    private static Func<Task> GrpcBatch(MilvusService.MilvusServiceClient stub, string name, long[] ids, ReadOnlySpan<float> vectors, int dim)
    {
        var request = MilvusRequests.Insert(name, ids, vectors, dim);
        return async () =>
        {
            var response = await stub.InsertAsync(request);
            if (response.Status.Code != 0)
            {
                throw new InvalidOperationException($"gRPC Insert answered code {response.Status.Code}: {response.Status.Reason}");
            }
        };
    }

    private static Func<Task> RestBatch(HttpClient http, string name, long[] ids, float[] vectors, int dim)
    {
        var data = new JsonArray(ids.Select((id, i) => (JsonNode?)new JsonObject
        {
            ["id"] = id,
            ["vector"] = new JsonArray(vectors.AsSpan(i * dim, dim).ToArray().Select(v => (JsonNode?)v).ToArray()),
        }).ToArray());
        var body = Encoding.UTF8.GetBytes(new JsonObject { ["collectionName"] = name, ["data"] = data }.ToJsonString());
        return async () =>
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync("/v2/vectordb/entities/insert", content);
            var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync());
            if (answer?["code"]?.GetValue<int>() is not 0)
            {
                throw new InvalidOperationException($"REST insert answered {answer?.ToJsonString()}");
            }
        };
    }
}
