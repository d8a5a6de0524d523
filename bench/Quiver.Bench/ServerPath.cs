using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Clients;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;

namespace Quiver.Bench;

/// <summary>
/// <c>serverpath</c>: where the time of one gRPC search goes, stage by stage, one client, serial calls on one data set:
/// the engine's <see cref="QuiverEngine.SearchAsync"/>; the gRPC handler called in process (no transport); the same
/// handler through the <see cref="CallPipeline"/> (gate, error mapping, observer); the whole call over loopback HTTP/2;
/// CheckHealth over loopback (the transport with an empty message); and a REST v2 search over loopback HTTP/1.1; then a
/// query of k consecutive keys (both fields as output) through the engine, gRPC and REST. Each stage runs the same queries after a
/// warm-up (until the JIT is quiet, as in <see cref="ServerBench"/>) and reports p50, mean, the CPU time of the
/// process per call and the managed bytes it allocated per call, so that the difference between two adjacent stages is what the outer one adds.
/// </summary>
internal static class ServerPath
{
    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("base", "queries", "groundtruth", "synthetic", "nq", "k", "M", "efc", "ef", "dir", "rounds", "stages", "alloc-types", "interleave");
        var k = args.Int("k", 10);
        var set = ServerBench.Load(args, k);
        var nq = Math.Min(args.Int("nq", 2000), set.QueryCount);
        var ef = args.Int("ef", 16);
        var rounds = args.Int("rounds", 3);
        var folder = Path.Combine(args.Text("dir") ?? Path.GetTempPath(), "quiver-bench-serverpath-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var server = await QuiverServer.StartAsync(ServerBench.BenchOptions(folder));
            var engine = server.Engine;
            await ServerBench.LoadCollection(engine, set, args.Int("M", 16), args.Int("efc", 200));
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
            var stub = new MilvusService.MilvusServiceClient(channel);
            await stub.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = ServerBench.Collection });
            var service = server.Services.GetRequiredService<MilvusGrpcService>();
            var pipeline = server.Services.GetRequiredService<CallPipeline>();
            var queries = Enumerable.Range(0, nq).Select(q => set.Queries.AsSpan(q * set.Dim, set.Dim).ToArray()).ToArray();
            var paramsJson = $$"""{"ef":{{ef}}}""";
            var requests = queries.Select(q => MilvusRequests.Search(ServerBench.Collection, q, set.Dim, k, "L2", paramsJson)).ToArray();
            var context = new BenchCallContext();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
            var restBodies = queries.Select(q => ScaleBench.RestBody(q, k, paramsJson, "")).ToArray();
            // A query of k consecutive keys with both fields as output: the same rows through the engine, gRPC and REST.
            var filters = Enumerable.Range(0, nq).Select(q => $"id >= {q * k % Math.Max(1, set.Count - k)} and id < {q * k % Math.Max(1, set.Count - k) + k}").ToArray();
            var grpcQueries = filters.Select(f => new Quiver.Protocol.Milvus.QueryRequest { CollectionName = ServerBench.Collection, Expr = f, OutputFields = { "id", "vector" },
                QueryParams = { new Quiver.Protocol.Common.KeyValuePair { Key = "limit", Value = k.ToString(CultureInfo.InvariantCulture) } } }).ToArray();
            var restQueries = filters.Select(f => System.Text.Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject
            {
                ["collectionName"] = ServerBench.Collection,
                ["filter"] = f,
                ["outputFields"] = new System.Text.Json.Nodes.JsonArray("id", "vector"),
                ["limit"] = k,
            }.ToJsonString())).ToArray();
            Console.WriteLine($"serverpath: {set.Name}, {set.Count} x {set.Dim}, {nq} queries, top-{k}, ef {ef}, {rounds} rounds (best round kept)");

            var stages = new (string Name, Func<int, Task> Call)[]
            {
                ("engine SearchAsync", q => engine.SearchAsync(ServerBench.Collection, ServerBench.SearchOf(queries[q], k, ef))),
                ("engine DescribeCollectionAsync", q => engine.DescribeCollectionAsync(ServerBench.Collection)),
                ("handler in process", q => service.Search(requests[q], context)),
                ("pipeline + handler in process", q => pipeline.RunAsync(new CallInfo { Method = "Search", Transport = "grpc", RequestId = CallInfo.NewRequestId() },
                    requests[q], context, service.Search)),
                ("gRPC Search, loopback", async q => await stub.SearchAsync(requests[q])),
                ("gRPC CheckHealth, loopback", async q => await stub.CheckHealthAsync(new CheckHealthRequest())),
                ("REST search, loopback (HTTP/1.1)", async q => await ScaleBench.RestSearchAsync(http, restBodies[q])),
                ("engine QueryColumnsAsync", q => engine.QueryColumnsAsync(ServerBench.Collection, new Quiver.QueryRequest { Filter = filters[q], OutputFields = ["id", "vector"] })),
                ("gRPC Query, loopback", async q => Rows(await stub.QueryAsync(grpcQueries[q]), k)),
                ("REST query, loopback (HTTP/1.1)", async q => await RestQueryAsync(http, restQueries[q], k)),
            };
            Console.WriteLine("| stage | p50 ms | mean ms | CPU ms per call | bytes allocated per call |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
            var only = args.Text("stages") is { } list ? list.Split(',').Select(int.Parse).ToHashSet() : null;
            var typesShown = args.Int("alloc-types", 0);
            using var sampler = typesShown > 0 ? new AllocationSampler() : null;
            var sampled = new List<(string Stage, IReadOnlyList<(string Type, long Samples, double Share)> Types)>();
            var chosen = stages.Select((stage, i) => (stage.Name, stage.Call, Index: i)).Where(s => only is null || only.Contains(s.Index)).ToArray();
            foreach (var (name, call, _) in chosen)
            {
                (double P50, double Mean, double Cpu, double Bytes) best = (double.MaxValue, 0, 0, 0);
                for (var round = 0; round < rounds; round++)
                {
                    await WarmUpAsync(call, nq);
                    var measured = await MeasureAsync(call, nq);
                    if (measured.P50 < best.P50)
                    {
                        best = measured;
                    }
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {best.P50:F3} | {best.Mean:F3} | {best.Cpu:F3} | {best.Bytes:F0} |"));
                if (sampler is not null)
                {
                    // One more pass over the queries, sampled (the sampling's own cost stays out of the rounds above).
                    sampler.Start();
                    for (var q = 0; q < nq; q++)
                    {
                        await call(q);
                    }
                    sampled.Add((name, sampler.Stop()));
                }
            }
            await InterleaveAsync(chosen.Select(c => (c.Name, c.Call)).ToArray(), nq, args.Int("interleave", 0));
            foreach (var (stage, types) in sampled)
            {
                // Each sample stands for about 100 kB allocated; the share is of all samples of the stage.
                Console.WriteLine($"allocations sampled in '{stage}' ({types.Sum(t => t.Samples)} samples of ~100 kB):");
                foreach (var (type, samples, share) in types.Take(typesShown))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {share,6:P1} {samples,6} {type}"));
                }
            }
            return 0;
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static Task WarmUpAsync(Func<int, Task> call, int nq) => ServerBench.WarmUpAsync(async () =>
    {
        for (var q = 0; q < Math.Min(nq, 1000); q++)
        {
            await call(q);
        }
    });

    /// <summary>One pass over the queries: p50 and mean latency, the process's CPU and managed bytes per call.</summary>
    private static async Task<(double P50, double Mean, double Cpu, double Bytes)> MeasureAsync(Func<int, Task> call, int nq)
    {
        var latencies = new double[nq];
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        for (var q = 0; q < nq; q++)
        {
            var begin = Stopwatch.GetTimestamp();
            await call(q);
            latencies[q] = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
        }
        var wall = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var cpuPerCall = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / nq;
        var bytesPerCall = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocated) / nq;
        return (Stats.Percentile(latencies, 50), wall / nq, cpuPerCall, bytesPerCall);
    }

    /// <summary><c>--interleave N</c>: N more rounds after the table, each running every chosen stage once in turn (the
    /// stages alternate, so a change in the machine's load falls on all of them), printing each round's p50s and the
    /// difference of every stage's p50 from the first chosen stage's in that round; then, per stage, the median, minimum
    /// and maximum over the rounds of its p50 and of that difference (with stages 0 and 4: gRPC over embedded).</summary>
    private static async Task InterleaveAsync((string Name, Func<int, Task> Call)[] chosen, int nq, int rounds)
    {
        if (rounds <= 0 || chosen.Length == 0)
        {
            return;
        }

        var c = CultureInfo.InvariantCulture;
        var p50s = new double[chosen.Length][];
        for (var s = 0; s < chosen.Length; s++)
        {
            p50s[s] = new double[rounds];
        }

        Console.WriteLine(string.Create(c, $"interleaved rounds ({nq} calls per stage per round), p50 ms, and minus '{chosen[0].Name}':"));
        for (var r = 0; r < rounds; r++)
        {
            for (var s = 0; s < chosen.Length; s++)
            {
                p50s[s][r] = (await MeasureAsync(chosen[s].Call, nq)).P50;
            }

            Console.WriteLine(string.Create(c, $"round {r}: ") + string.Join("; ", chosen.Select((stage, s) =>
                string.Create(c, $"{stage.Name} {p50s[s][r]:F3} (+{p50s[s][r] - p50s[0][r]:F3})"))));
        }

        Console.WriteLine("| stage | p50 median ms | p50 min | p50 max | minus first stage: median | min | max |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (var s = 0; s < chosen.Length; s++)
        {
            var own = p50s[s];
            var diff = own.Select((v, r) => v - p50s[0][r]).ToArray();
            Console.WriteLine(string.Create(c,
                $"| {chosen[s].Name} | {Stats.Percentile(own, 50):F3} | {own.Min():F3} | {own.Max():F3} | {Stats.Percentile(diff, 50):F3} | {diff.Min():F3} | {diff.Max():F3} |"));
        }
    }

    /// <summary>A server call context for handlers called in process: no headers, no deadline, never cancelled.</summary>
    private sealed class BenchCallContext : ServerCallContext
    {
        private readonly Dictionary<object, object> _state = [];

        protected override string MethodCore => "/milvus.proto.milvus.MilvusService/Search";

        protected override string HostCore => "127.0.0.1";

        protected override string PeerCore => "ipv4:127.0.0.1:0";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore { get; } = new(null, []);

        protected override IDictionary<object, object> UserStateCore => _state;

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }

    /// <summary>Checks that a gRPC query answered <paramref name="k"/> rows.</summary>
    private static int Rows(QueryResults answer, int k)
    {
        var count = answer.FieldsData.Count > 0 ? answer.FieldsData[0].Scalars.LongData.Data.Count : 0;
        return answer.Status.Code == 0 && count == k ? count
            : throw new InvalidOperationException($"gRPC Query answered code {answer.Status.Code} with {count} rows: {answer.Status.Reason}");
    }

    /// <summary>POSTs a REST v2 query body and checks that it answered <paramref name="k"/> rows.</summary>
    /// <summary>A REST query over loopback, its answer read as a client that wants the rows reads it: streamed into a
    /// pooled buffer and walked once with a <see cref="System.Text.Json.Utf8JsonReader"/> (every token read and checked,
    /// the rows of <c>data</c> counted), as the gRPC stage parses its protobuf answer. Parsing the answer into a
    /// <c>JsonObject</c> (the whole document's token table, then a node per value) was 64% of this stage's sampled
    /// allocations, all of them the client's (session 36: EventPipe allocation ticks with stacks, bench/TraceTop ALLOC=Byte).</summary>
    private static async Task<int> RestQueryAsync(HttpClient http, byte[] body, int k)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/vectordb/entities/query") { Content = content };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var length = 0;
            await using (var stream = await response.Content.ReadAsStreamAsync())
            {
                int read;
                while ((read = await stream.ReadAsync(buffer.AsMemory(length))) > 0)
                {
                    length += read;
                    if (length == buffer.Length)
                    {
                        var larger = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(larger);
                        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                }
            }
            var (code, count) = CodeAndRows(buffer.AsSpan(0, length));
            return code == 0 && count == k
                ? count
                : throw new InvalidOperationException($"REST query answered {System.Text.Encoding.UTF8.GetString(buffer, 0, length)}");
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The <c>code</c> of a REST answer and the number of rows in its <c>data</c> array (-1 when absent), every
    /// token of the answer read.</summary>
    private static (int Code, int Rows) CodeAndRows(ReadOnlySpan<byte> json)
    {
        var reader = new System.Text.Json.Utf8JsonReader(json);
        var (code, rows) = (-1, -1);
        while (reader.Read())
        {
            if (reader.CurrentDepth != 1 || reader.TokenType != System.Text.Json.JsonTokenType.PropertyName)
            {
                continue;
            }
            if (reader.ValueTextEquals("code"u8))
            {
                reader.Read();
                code = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                if (reader.TokenType != System.Text.Json.JsonTokenType.StartArray)
                {
                    continue;
                }
                rows = 0;
                while (reader.Read() && reader.TokenType != System.Text.Json.JsonTokenType.EndArray)
                {
                    rows++;
                    reader.Skip();
                }
            }
        }
        return (code, rows);
    }
}
