using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Quiver.Server.Tests.Ops;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Compat;

/// <summary>
/// Availability around restarts under SDK traffic. One client of the official Node.js SDK (tests/compat/restart-loop.js)
/// inserts, runs primary-key range queries and health checks without pause, over connections that outlive every
/// restart, while <c>quiver serve</c> is killed with SIGKILL and started again on the same folder and port, round after
/// round. A call made while the server is down fails at once; none may stay unanswered past a generous hang guard, and
/// every acknowledged row must be there after each restart (the range queries check as they go, the folder at the end).
/// Each round's worst call latency per kind goes to the test output.
/// </summary>
[Trait("Category", "Compat")]
[Trait("Category", "Long")]
public sealed partial class RestartLoopTests(ITestOutputHelper output)
{
    /// <summary>A call unanswered this long is a hang. Calls take milliseconds: this guards, it does not time.</summary>
    private const int HangMilliseconds = 30_000;

    [Fact]
    public async Task KilledAndRestartedUnderSdkTraffic_AnswersEveryCall_AndKeepsEveryAcknowledgedRow()
    {
        var rounds = TestTier.Pick(3, 20);
        var rowsPerRound = TestTier.Pick(3_000, 10_000);
        using var folder = new TempFolder();
        var port = FreeLoopbackPort();
        // Small segments, so that flushes, compactions and index builds run (and are interrupted) in every round.
        string[] arguments = ["--port", port.ToString(CultureInfo.InvariantCulture), "--durability", "Always", "--set", "Engine:SegmentMaxRows=8192"];
        var log = new TrafficLog();
        var serve = await ServeProcess.StartAsync(folder.Path, arguments, defaultPort: false);
        using var node = NodeSdkTests.StartNode("restart-loop.js", port,
            new Dictionary<string, string> { ["QUIVER_HANG_MS"] = HangMilliseconds.ToString(CultureInfo.InvariantCulture) }, input: true);
        try
        {
            node.OutputDataReceived += (_, e) => log.Add(e.Data);
            node.ErrorDataReceived += (_, e) => log.AddError(e.Data);
            node.EnableRaisingEvents = true;
            node.Exited += (_, _) => log.Ended();
            node.BeginOutputReadLine();
            node.BeginErrorReadLine();
            for (var round = 0; round < rounds; round++)
            {
                await log.WaitForTrafficAsync(rowsPerRound);
                var down = Stopwatch.StartNew();
                await serve.KillAsync();
                await serve.DisposeAsync();
                log.NextRound();
                serve = await ServeProcess.StartAsync(folder.Path, arguments, defaultPort: false);
                log.Restarted(down.Elapsed);
            }
            // After the last restart: rows, queries and health checks answered again.
            await log.WaitForTrafficAsync(rowsPerRound / 10);
            await node.StandardInput.WriteLineAsync("stop");
            await node.WaitForExitAsync().WaitAsync(TimeSpan.FromMilliseconds(HangMilliseconds * 2));
        }
        finally
        {
            if (!node.HasExited)
            {
                node.Kill(entireProcessTree: true);
            }
            await serve.DisposeAsync();
            foreach (var line in log.Report())
            {
                output.WriteLine(line);
            }
        }

        Assert.True(node.ExitCode == 0, $"restart-loop.js failed (exit {node.ExitCode}):\n{log.Errors}");
        Assert.True(log.Hangs.Count == 0, $"calls unanswered after {HangMilliseconds} ms: {string.Join("; ", log.Hangs)}");
        Assert.True(log.Lost.Count == 0, $"acknowledged rows missing from range queries: {string.Join("; ", log.Lost)}");
        var acknowledged = log.AcknowledgedIds();
        await using var engine = await QuiverEngine.OpenAsync(folder.Path);
        var found = 0;
        foreach (var chunk in acknowledged.Chunk(10_000))
        {
            found += (await engine.GetAsync("compat_restart", chunk, ["id"])).Count;
        }
        Assert.Equal(acknowledged.Count, found);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>What the script printed, by round (a round runs from the previous kill to the next one).</summary>
    private sealed partial class TrafficLog
    {
        private readonly Lock _lock = new();
        private readonly List<Round> _rounds = [new()];
        private readonly List<(long First, long Last)> _acked = [];
        private readonly List<string> _errors = [];
        private TaskCompletionSource _enough = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _wantRows = int.MaxValue;
        private bool _ended;

        public List<string> Hangs { get; } = [];

        public List<string> Lost { get; } = [];

        public string Errors
        {
            get
            {
                lock (_lock)
                {
                    return string.Join('\n', _errors);
                }
            }
        }

        /// <summary>Completes once this round has <paramref name="rows"/> rows acknowledged and three answered queries
        /// and health checks; throws if the script ends first, or after ten minutes (the guard of a stalled round).</summary>
        public async Task WaitForTrafficAsync(int rows)
        {
            Task wait;
            lock (_lock)
            {
                _wantRows = rows;
                _enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Check();
                wait = _enough.Task;
            }
            await wait.WaitAsync(TimeSpan.FromMinutes(10));
        }

        public void NextRound()
        {
            lock (_lock)
            {
                _rounds.Add(new Round());
            }
        }

        public void Add(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_lock)
            {
                var round = _rounds[^1];
                if (AckLine().Match(line) is { Success: true } ack)
                {
                    var first = long.Parse(ack.Groups[1].Value, CultureInfo.InvariantCulture);
                    var last = long.Parse(ack.Groups[2].Value, CultureInfo.InvariantCulture);
                    _acked.Add((first, last));
                    round.Rows += last - first + 1;
                    round.Record("insert", int.Parse(ack.Groups[3].Value, CultureInfo.InvariantCulture), ok: true);
                }
                else if (CallLine().Match(line) is { Success: true } call)
                {
                    round.Record(call.Groups[1].Value, int.Parse(call.Groups[2].Value, CultureInfo.InvariantCulture), call.Groups[3].Value == "ok");
                }
                else if (line.StartsWith("HANG ", StringComparison.Ordinal))
                {
                    Hangs.Add($"round {_rounds.Count - 1}: {line}");
                }
                else if (line.StartsWith("LOST ", StringComparison.Ordinal))
                {
                    Lost.Add($"round {_rounds.Count - 1}: {line}");
                }
                else if (line.StartsWith("ERROR ", StringComparison.Ordinal))
                {
                    _errors.Add(line);
                }
                Check();
            }
        }

        /// <summary>Records how long the server of this round was down: from the kill to its ready line.</summary>
        public void Restarted(TimeSpan down)
        {
            lock (_lock)
            {
                _rounds[^1].Down = down;
            }
        }

        public void AddError(string? line)
        {
            if (line is not null)
            {
                lock (_lock)
                {
                    _errors.Add(line);
                }
            }
        }

        public void Ended()
        {
            lock (_lock)
            {
                _ended = true;
                Check();
            }
        }

        public List<object> AcknowledgedIds()
        {
            lock (_lock)
            {
                return [.. _acked.SelectMany(a => Enumerable.Range(0, (int)(a.Last - a.First + 1)).Select(i => (object)(a.First + i)))];
            }
        }

        public List<string> Report()
        {
            lock (_lock)
            {
                var lines = new List<string>();
                for (var i = 0; i < _rounds.Count; i++)
                {
                    var r = _rounds[i];
                    lines.Add(string.Create(CultureInfo.InvariantCulture,
                        $"round {i}{(i == 0 ? " (first start)" : $" (down {r.Down.TotalMilliseconds:F0} ms from the kill to the ready line)")}: {r.Rows} rows acknowledged; worst answered call: " +
                        $"insert {r.Worst("insert")} ms, query {r.Worst("query")} ms, health {r.Worst("health")} ms; " +
                        $"{r.Failed} calls refused while the server was down (slowest {r.WorstFailed} ms)"));
                }
                var all = _rounds.Skip(1).ToList();
                if (all.Count > 0)
                {
                    lines.Add(string.Create(CultureInfo.InvariantCulture,
                        $"over {all.Count} restarts (down {all.Min(r => r.Down.TotalMilliseconds):F0}-{all.Max(r => r.Down.TotalMilliseconds):F0} ms each): worst insert {all.Max(r => r.Worst("insert"))} ms, query {all.Max(r => r.Worst("query"))} ms, " +
                        $"health {all.Max(r => r.Worst("health"))} ms, refused call {all.Max(r => r.WorstFailed)} ms; {Hangs.Count} hangs"));
                }
                return lines;
            }
        }

        private void Check()
        {
            var round = _rounds[^1];
            if (_ended)
            {
                _enough.TrySetException(new InvalidOperationException($"restart-loop.js ended early:\n{string.Join('\n', _errors)}"));
            }
            else if (Hangs.Count > 0)
            {
                _enough.TrySetException(new InvalidOperationException($"calls unanswered after {HangMilliseconds} ms: {string.Join("; ", Hangs)}"));
            }
            else if (round.Rows >= _wantRows && round.Answered("query") >= 3 && round.Answered("health") >= 3)
            {
                _enough.TrySetResult();
            }
        }

        [GeneratedRegex(@"^ACK (\d+) (\d+) (\d+)$")]
        private static partial Regex AckLine();

        [GeneratedRegex(@"^CALL (\w+) (\d+) (ok|err)")]
        private static partial Regex CallLine();
    }

    private sealed class Round
    {
        private readonly Dictionary<string, (int Answered, int Worst)> _calls = [];

        public long Rows { get; set; }

        public TimeSpan Down { get; set; }

        public int Failed { get; private set; }

        public int WorstFailed { get; private set; }

        public void Record(string kind, int milliseconds, bool ok)
        {
            if (!ok)
            {
                Failed++;
                WorstFailed = Math.Max(WorstFailed, milliseconds);
                return;
            }
            var (answered, worst) = _calls.GetValueOrDefault(kind);
            _calls[kind] = (answered + 1, Math.Max(worst, milliseconds));
        }

        public int Answered(string kind) => _calls.GetValueOrDefault(kind).Answered;

        public int Worst(string kind) => _calls.GetValueOrDefault(kind).Worst;
    }
}
