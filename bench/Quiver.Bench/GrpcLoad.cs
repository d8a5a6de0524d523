using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Grpc.Net.Client;
using Quiver.Protocol.Milvus;
using Quiver.Server.Clients;

namespace Quiver.Bench;

/// <summary>
/// <c>grpcload</c>: the gRPC client of <see cref="ServerBench"/> in a process of its own, so that the server's process
/// does nothing but serve and its CPU time per call can be read apart from the client's. Runs the queries of an
/// <c>.fvecs</c> file as <c>Search</c> calls (one query per call, one HTTP/2 connection per client, requests built as the
/// SDKs build them, before the clock) with <see cref="ServerBench.Measure"/>'s warm-up and timing, and talks to its
/// parent on standard input and output: after each warm-up round a line <c>warmed</c>, answered <c>go</c> once the
/// parent's (the server's) JIT has been quiet for the round too; a line <c>timed start</c> just before the timed run, <c>timed end</c> just after it (the
/// parent reads its own CPU time at both), then one line of JSON with QPS, p50, p99, the client's CPU ms per call and
/// the hit ids. With <c>--rpc checkhealth</c> it sends empty <c>CheckHealth</c> calls instead (the same count, warm-up
/// and timing): what the transport alone costs the server's process and the client's.
/// </summary>
internal static class GrpcLoad
{
    /// <summary>Written before and after the timed run.</summary>
    internal const string TimedStart = "timed start", TimedEnd = "timed end";

    /// <summary>Written after each warm-up round; the parent answers <see cref="Go"/> once its own JIT has been quiet
    /// since the previous round (the server's code is warm too), anything else for one more round.</summary>
    internal const string Warmed = "warmed", Go = "go";

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("address", "queries", "nq", "k", "ef", "clients", "collection", "rpc");
        var address = args.Text("address") ?? throw new ArgumentException("grpcload: --address http://127.0.0.1:PORT is required");
        var path = args.Text("queries") ?? throw new ArgumentException("grpcload: --queries Q.fvecs is required");
        var all = HnswBench.ReadVecs<float>(path, out var dim, out var count);
        var nq = Math.Min(args.Int("nq", count), count);
        var k = args.Int("k", 10);
        var clients = args.Int("clients", 1);
        var collection = args.Text("collection", ServerBench.Collection);
        var empty = args.Text("rpc", "search") switch
        {
            "search" => false,
            "checkhealth" => true,
            var other => throw new ArgumentException($"grpcload: --rpc: expected search or checkhealth, got '{other}'"),
        };
        var paramsJson = string.Create(CultureInfo.InvariantCulture, $$"""{"ef":{{args.Int("ef", 16)}}}""");
        var queries = Enumerable.Range(0, nq).Select(q => all.AsSpan(q * dim, dim).ToArray()).ToArray();
        var requests = new Dictionary<float[], Protocol.Milvus.SearchRequest>(ReferenceEqualityComparer.Instance);
        foreach (var q in queries)
        {
            requests[q] = MilvusRequests.Search(collection, q, dim, k, "L2", paramsJson);
        }

        var channels = Enumerable.Range(0, clients).Select(_ => GrpcChannel.ForAddress(address)).ToArray();
        try
        {
            var stubs = channels.Select(c => new MilvusService.MilvusServiceClient(c)).ToArray();
            var health = new CheckHealthRequest();
            var run = await ServerBench.Measure(clients, queries, async (client, query) =>
            {
                if (empty)
                {
                    return (await stubs[client].CheckHealthAsync(health)).IsHealthy ? [] : throw new InvalidOperationException("CheckHealth answered unhealthy");
                }
                var response = await stubs[client].SearchAsync(requests[query]);
                return response.Status.Code == 0 ? MilvusRequests.HitIds(response)[0]
                    : throw new InvalidOperationException($"gRPC Search answered code {response.Status.Code}: {response.Status.Reason}");
            }, timed => Console.Out.WriteLine(timed ? TimedStart : TimedEnd), async () =>
            {
                Console.Out.WriteLine(Warmed);
                return await Console.In.ReadLineAsync() == Go;
            });
            Console.Out.WriteLine(JsonSerializer.Serialize(new Result(run.Qps, run.P50, run.P99, run.CpuPerCall, run.Ids)));
            return 0;
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    /// <summary>What the child reports: QPS, p50 and p99 in ms, its own CPU ms per call, the hit ids per query.</summary>
    internal sealed record Result(double Qps, double P50, double P99, double ClientCpuPerCall, long[][] Ids);

    /// <summary>Runs <c>grpcload</c> as a child process against <paramref name="address"/> and returns its figures with
    /// this process's CPU ms and managed bytes allocated per call over the child's timed run (what the server spent per
    /// call, when this process does nothing but serve meanwhile). <paramref name="rpc"/> is <c>search</c> or
    /// <c>checkhealth</c>.</summary>
    public static async Task<(Result Client, double ServerCpuPerCall, double ServerBytesPerCall)> RunChildAsync(string address, string queriesFvecs, int nq, int k, int ef, int clients,
        string rpc = "search")
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        var host = Environment.ProcessPath ?? "dotnet";
        start.FileName = host;
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(typeof(GrpcLoad).Assembly.Location);
        }
        foreach (var a in new[] { "grpcload", "--address", address, "--queries", queriesFvecs, "--nq", Text(nq), "--k", Text(k), "--ef", Text(ef), "--clients", Text(clients), "--rpc", rpc })
        {
            start.ArgumentList.Add(a);
        }

        using var child = Process.Start(start) ?? throw new InvalidOperationException("grpcload: the child process did not start");
        TimeSpan? cpuStart = null, cpuEnd = null;
        long allocatedStart = 0, allocatedEnd = 0;
        Result? result = null;
        var compiled = -1L;
        while (await child.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line == Warmed)
            {
                // A round lasts at least a second (the child's own quiet-JIT wait), so an unchanged count since the
                // previous round means this process compiled nothing for that long.
                var now = System.Runtime.JitInfo.GetCompiledMethodCount();
                await child.StandardInput.WriteLineAsync(now == compiled ? Go : "more");
                await child.StandardInput.FlushAsync();
                compiled = now;
            }
            else if (line == TimedStart)
            {
                cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
                allocatedStart = GC.GetTotalAllocatedBytes(precise: true);
            }
            else if (line == TimedEnd)
            {
                cpuEnd = Process.GetCurrentProcess().TotalProcessorTime;
                allocatedEnd = GC.GetTotalAllocatedBytes(precise: true);
            }
            else if (line.StartsWith('{'))
            {
                result = JsonSerializer.Deserialize<Result>(line);
            }
        }
        await child.WaitForExitAsync();
        if (child.ExitCode != 0 || result is null || cpuStart is null || cpuEnd is null)
        {
            throw new InvalidOperationException($"grpcload: the child process exited with code {child.ExitCode} without its figures");
        }
        return (result, (cpuEnd.Value - cpuStart.Value).TotalMilliseconds / nq, (double)(allocatedEnd - allocatedStart) / nq);
    }

    /// <summary>Writes <paramref name="vectors"/> as an <c>.fvecs</c> file (per row: its dimension as Int32, then the
    /// floats) for the child.</summary>
    public static void WriteFvecs(string path, float[][] vectors)
    {
        using var file = new BinaryWriter(File.Create(path));
        foreach (var v in vectors)
        {
            file.Write(v.Length);
            foreach (var x in v)
            {
                file.Write(x);
            }
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
