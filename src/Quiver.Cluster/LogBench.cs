using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Quiver.Cluster.Nodes;
using Quiver.Storage;

namespace Quiver.Cluster;

/// <summary><c>Quiver.Cluster log-bench --config FILE</c>: the write latency and throughput of the replicated log
/// alone (a shard's <see cref="JetStreamWal"/> on the configured NATS servers), beside the standalone engine's local log
/// (<see cref="Wal"/>, fsync per group, and handed to the OS only, in a temporary folder) in the same run, so the figure an operator reads is what
/// the cluster's log adds per write on this deployment. For each number of concurrent writers, each writer appends
/// records one at a time (awaiting each append, as a client awaits its insert) until the run's record count; the
/// JetStream log runs twice: with its default pipelining (up to <see cref="JetStreamWalOptions.MaxInFlight"/> records
/// published before the first acknowledgement is awaited, group commit over the network) and with one record in flight
/// (every record its own round trip), which is what the pipelining buys. One JSON line per (log, writers): records per
/// second, P50/P99 append latency, this process's CPU per record (the NATS servers' CPU is not counted), and the ratio to
/// the local log's (fsync) throughput at the same number of writers. The
/// benchmark's stream is deleted afterwards. Documented in docs/cluster-deploy.md and bench/README.md.</summary>
internal static class LogBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? configPath = null;
        var records = 2_000;
        var bytes = 1_024;
        int[] writers = [1, 16, 128];
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--config": configPath = args[i + 1]; break;
                case "--records": records = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--bytes": bytes = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--writers": writers = [.. args[i + 1].Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture))]; break;
                default:
                    await Console.Error.WriteLineAsync($"log-bench: unknown option '{args[i]}' (--config FILE, --records N, --bytes B, --writers 1,16,128)").ConfigureAwait(false);
                    return 2;
            }
        }

        if (configPath is null || args.Length % 2 != 0 || records < 1 || bytes < 1 || writers.Any(w => w < 1))
        {
            await Console.Error.WriteLineAsync("usage: Quiver.Cluster log-bench --config FILE [--records N] [--bytes B] [--writers 1,16,128]").ConfigureAwait(false);
            return 2;
        }

        var config = NodeConfig.Load(configPath);
        await using var nats = new NatsConnection(new NatsOpts { Url = config.Nats, Name = "quiver-log-bench", RequestTimeout = TimeSpan.FromSeconds(10) });
        await nats.ConnectAsync().ConfigureAwait(false);
        var js = new NatsJSContext(nats);
        var folder = Directory.CreateTempSubdirectory("quiver-log-bench").FullName;
        var stream = $"{config.Cluster}-logbench-{Guid.NewGuid():N}"[..^20];
        var payload = new byte[bytes];
        new Random(42).NextBytes(payload);
        var tags = new List<string>();
        Console.WriteLine(JsonSerializer.Serialize(new { loadavg_start = LoadAverage(), records, bytes, replicas = config.Replicas, writers }));
        try
        {
            // The logs under test, by name: the standalone default (fsync per group), the local log handed to the OS only
            // (what JetStream's own durability resembles: its servers fsync on their own interval), the cluster's log as a
            // shard writes it, and the cluster's log without pipelining.
            var logs = new (string Name, Func<string, Task<IWal>> Open)[]
            {
                ("local", tag => Task.FromResult<IWal>(Wal.Open(PhysicalFileSystem.Instance, Path.Combine(folder, tag)))),
                ("local-no-fsync", tag => Task.FromResult<IWal>(Wal.Open(PhysicalFileSystem.Instance, Path.Combine(folder, tag), new WalOptions { FsyncPolicy = FsyncPolicy.Never }))),
                ("jetstream", async tag => await JetStreamWal.OpenAsync(js, $"{stream}-{tag}", new JetStreamWalOptions { Replicas = config.Replicas }).ConfigureAwait(false)),
                ("jetstream-1-in-flight", async tag => await JetStreamWal.OpenAsync(js, $"{stream}-{tag}", new JetStreamWalOptions { Replicas = config.Replicas, MaxInFlight = 1 }).ConfigureAwait(false)),
            };

            // A discarded warm-up of each (JIT, connections, the streams' first leader election), then the measured runs.
            for (var l = 0; l < logs.Length; l++)
            {
                await MeasureAsync(logs[l].Name, 4, 100, payload, () => logs[l].Open($"warm-{l}")).ConfigureAwait(false);
                tags.Add($"warm-{l}");
            }

            foreach (var w in writers)
            {
                double? localRate = null;
                for (var l = 0; l < logs.Length; l++)
                {
                    var tag = $"w{w}-{l}";
                    tags.Add(tag);
                    var result = await MeasureAsync(logs[l].Name, w, records, payload, () => logs[l].Open(tag)).ConfigureAwait(false);
                    localRate ??= result.RecordsPerSecond;
                    Print(result, localRate.Value);
                }
            }
        }
        finally
        {
            foreach (var tag in tags)
            {
                // A local log's tag has no stream: deleting a missing stream is a no-op.
                await JetStreamWal.DeleteAsync(js, $"{stream}-{tag}").ConfigureAwait(false);
            }

            Directory.Delete(folder, recursive: true);
        }

        Console.WriteLine(JsonSerializer.Serialize(new { loadavg_end = LoadAverage() }));
        return 0;
    }

    private static void Print(Result r, double localRecordsPerSecond) => Console.WriteLine(JsonSerializer.Serialize(new
    {
        log = r.Log,
        writers = r.Writers,
        records_per_s = Math.Round(r.RecordsPerSecond, 1),
        p50_ms = Math.Round(r.P50Ms, 3),
        p99_ms = Math.Round(r.P99Ms, 3),
        cpu_ms_per_record = Math.Round(r.CpuMsPerRecord, 4),
        throughput_vs_local = Math.Round(r.RecordsPerSecond / localRecordsPerSecond, 3),
    }));

    /// <summary>Opens a log, appends <paramref name="records"/> records of <paramref name="payload"/> from
    /// <paramref name="writers"/> concurrent writers (each awaiting its append before the next), then checks that the
    /// log's next LSN moved by exactly the records appended (every append landed once) and closes it.</summary>
    private static async Task<Result> MeasureAsync(string name, int writers, int records, byte[] payload, Func<Task<IWal>> open)
    {
        await using var wal = await open().ConfigureAwait(false);
        var first = wal.NextLsn;
        var latencies = new double[records];
        var next = -1;
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < records)
            {
                var started = Stopwatch.GetTimestamp();
                await wal.AppendAsync(1, payload).ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }))).ConfigureAwait(false);
        var elapsed = clock.Elapsed;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        if (wal.NextLsn - first != records)
        {
            throw new InvalidOperationException($"{name}: {records} appends moved the log from {first} to {wal.NextLsn}");
        }

        Array.Sort(latencies);
        return new Result(name, writers, records / elapsed.TotalSeconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99), cpu.TotalMilliseconds / records);
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private sealed record Result(string Log, int Writers, double RecordsPerSecond, double P50Ms, double P99Ms, double CpuMsPerRecord);
}
