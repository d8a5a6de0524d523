using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Quiver.Server.Tests.Ops;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Compat;

/// <summary>
/// Compatibility with the official Milvus Node.js SDK (npm <c>@zilliz/milvus2-sdk-node</c>, installed in tests/compat by
/// scripts/setup.sh): each test starts the real <c>quiver serve</c> as a child process on a free loopback port and runs
/// one script of tests/compat against it. A script checks every answer and exits non-zero naming the first failure.
/// </summary>
[Trait("Category", "Compat")]
public sealed partial class NodeSdkTests(ITestOutputHelper output)
{
    private static readonly string CompatDir = FindCompatDir();

    [Fact]
    public Task TutorialFlow_OverGrpc() => RunScriptAsync("grpc-flow.js");

    [Fact]
    public Task TutorialFlow_OverRestV2() => RunScriptAsync("rest-flow.js");

    [Fact]
    public Task ErrorCases_AnswerMilvusErrors_AndServerKeepsServing() => RunScriptAsync("errors.js");

    /// <summary>hybridSearch with RRFRanker and WeightedRanker over gRPC and hybrid_search over REST, each answer equal to
    /// a fused oracle computed in the script from brute-force results per request (hybrid.js).</summary>
    [Fact]
    public Task HybridSearch_RrfAndWeighted_EqualFusedOracle() => RunScriptAsync("hybrid.js");

    /// <summary>queryIterator as the SDK pages (count, then `pk &gt; last` pages of batchSize): every row exactly once with
    /// and without a filter and with a limit, for Int64 and VarChar keys, over flushed, growing and deleted rows; and
    /// searchIterator over the same rows, every row once with distances ascending across pages (query-iterator.js).</summary>
    [Fact]
    public Task QueryAndSearchIterators_EveryRowExactlyOnce() => RunScriptAsync("query-iterator.js");

    /// <summary>alterCollectionFieldProperties raising max_length on a loaded collection with rows: describe and the next
    /// insert follow it; a shrink and mmap.enabled answer 1100 (alter-field.js).</summary>
    [Fact]
    public Task AlterCollectionField_RaisesMaxLength() => RunScriptAsync("alter-field.js");

    /// <summary>The SDK's own full test schema (genCollectionParams) with every vector type in one collection (FLOAT,
    /// FLOAT16, BFLOAT16, INT8, BINARY, SPARSE and nullable FLOAT, BFLOAT16, BINARY and SPARSE: ten vector fields), filled
    /// by its row generator in every input form of each type over gRPC and REST, read back equal over both, each vector
    /// field searched over both (with and without a GEOMETRY filter) against a brute-force oracle, with GEOMETRY and
    /// TIMESTAMPTZ filters against an oracle (sdk-schema.js).</summary>
    [Fact]
    public Task SdkTestSchema_CreatesInsertsAndReadsBack() => RunScriptAsync("sdk-schema.js");

    /// <summary>The SDK's own retry of a call that failed with UNAVAILABLE re-sends it without ending the request stream;
    /// the retried CheckHealth and Query are answered at once, not held until the client's deadline (retry.js).</summary>
    [Fact]
    public Task RetriedCalls_AreAnswered() => RunScriptAsync("retry.js");

    /// <summary>Analyzed VarChar fields as the SDK declares them, runAnalyzer, TEXT_MATCH and PHRASE_MATCH over gRPC
    /// (growing and sealed) and REST v2 (text.js).</summary>
    [Fact]
    public Task TextMatchAndRunAnalyzer_AsTheSdkUsesThem() => RunScriptAsync("text.js");

    /// <summary>Milvus's bulk import as the SDK drives it (bulkInsert, getImportState, listImportTasks, REST import
    /// jobs), over files the script writes under the server's import root.</summary>
    [Fact]
    public async Task BulkImport_JobsOverGrpcAndRest()
    {
        using var folder = new TempFolder();
        await using var serve = await ServeProcess.StartAsync(folder.Path);
        await RunNodeAsync("bulk-import.js", serve.Port, new Dictionary<string, string> { ["QUIVER_IMPORT_ROOT"] = Path.Combine(folder.Path, "import") });
    }

    [Fact]
    public async Task AuthAndRbac_DenyWithoutLeaking()
    {
        const string password = "Compat-r00t-password";
        var env = new Dictionary<string, string> { ["QUIVER_ROOT_PASSWORD"] = password };
        using var folder = new TempFolder();
        await using var serve = await ServeProcess.StartAsync(folder.Path, ["--set", "Security:AuthEnabled=true"], env);
        await RunNodeAsync("auth.js", serve.Port, env);
    }

    /// <summary>The SDK inserts batches while the server is killed with SIGKILL, three times (each run into its own
    /// collection, since ingest.js numbers ids from 1); after each kill every batch the server acknowledged is there.</summary>
    [Fact]
    public async Task KilledDuringSdkIngest_KeepsEveryAcknowledgedRow()
    {
        using var folder = new TempFolder();
        for (var kill = 0; kill < TestTier.Pick(3, 20); kill++)
        {
            var collection = $"compat_ingest_{kill}";
            var acknowledged = new List<(long First, long Last)>();
            var lines = new List<string>();
            var target = 20 + (kill * 7);
            await using (var serve = await ServeProcess.StartAsync(folder.Path, ["--durability", "Always"]))
            {
                using var node = StartNode("ingest.js", serve.Port, new Dictionary<string, string> { ["QUIVER_COLLECTION"] = collection });
                var enough = new TaskCompletionSource();
                node.OutputDataReceived += (_, e) =>
                {
                    if (e.Data is null)
                    {
                        return;
                    }
                    lock (lines)
                    {
                        lines.Add(e.Data);
                        if (AckLine().Match(e.Data) is { Success: true } m)
                        {
                            acknowledged.Add((long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
                            if (acknowledged.Count == target)
                            {
                                enough.TrySetResult();
                            }
                        }
                    }
                };
                node.BeginOutputReadLine();
                try
                {
                    await enough.Task.WaitAsync(TimeSpan.FromSeconds(120));
                    // SIGKILL while the SDK keeps inserting; the batches in flight may or may not have landed.
                    await serve.KillAsync();
                    await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
                }
                finally
                {
                    if (!node.HasExited)
                    {
                        node.Kill(entireProcessTree: true);
                    }
                }
            }

            List<(long First, long Last)> acked;
            lock (lines)
            {
                acked = [.. acknowledged];
                output.WriteLine($"kill {kill}: {acked.Count} batches acknowledged; the SDK's last line: {lines.LastOrDefault()}");
            }
            Assert.True(acked.Count >= target, $"only {acked.Count} batches were acknowledged before the kill");
            await using var engine = await QuiverEngine.OpenAsync(folder.Path);
            var keys = acked.SelectMany(a => Enumerable.Range(0, (int)(a.Last - a.First + 1)).Select(i => (object)(a.First + i))).ToList();
            var rows = await engine.GetAsync(collection, keys, ["id"]);
            Assert.Equal(keys.Count, rows.Count);
        }
    }

    private async Task RunScriptAsync(string script)
    {
        using var folder = new TempFolder();
        await using var serve = await ServeProcess.StartAsync(folder.Path);
        await RunNodeAsync(script, serve.Port);
    }

    private async Task RunNodeAsync(string script, int port, IReadOnlyDictionary<string, string>? env = null)
    {
        using var node = StartNode(script, port, env);
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await node.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {script} did not finish in 3 minutes");
        }
        var text = await stdout;
        var errors = await stderr;
        output.WriteLine(text);
        Assert.True(node.ExitCode == 0, $"node {script} failed (exit {node.ExitCode}):\n{errors}\n{text}");
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
    }

    /// <summary>Starts <c>node tests/compat/{script}</c> against the server on <paramref name="port"/>, stdout and stderr
    /// redirected (and stdin, with <paramref name="input"/>).</summary>
    internal static Process StartNode(string script, int port, IReadOnlyDictionary<string, string>? env, bool input = false)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = CompatDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(CompatDir, script));
        start.Environment["QUIVER_ADDRESS"] = $"127.0.0.1:{port}";
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }
        return Process.Start(start) ?? throw new InvalidOperationException("node did not start");
    }

    private static string FindCompatDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var compat = Path.Combine(dir.FullName, "tests", "compat");
            if (File.Exists(Path.Combine(compat, "package.json")))
            {
                if (!Directory.Exists(Path.Combine(compat, "node_modules", "@zilliz", "milvus2-sdk-node")))
                {
                    throw new InvalidOperationException($"{compat}/node_modules lacks the Milvus Node.js SDK: run scripts/setup.sh (npm ci)");
                }
                return compat;
            }
        }
        throw new InvalidOperationException("tests/compat not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^ACK (\d+) (\d+)$")]
    private static partial Regex AckLine();
}
