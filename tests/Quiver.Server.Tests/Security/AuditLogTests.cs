using System.Text.Json;
using Grpc.Core;
using Quiver.Server.Milvus;
using Quiver.Server.Security;
using Quiver.Testing;

namespace Quiver.Server.Tests.Security;

/// <summary>The audit log under floods: repeated identical failures aggregated into lines with a count, and the file's
/// size capped by rotation. Time is a <see cref="ManualClock"/>, so windows close exactly when the test says.</summary>
public sealed class AuditLogTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private static CallInfo Call(string method, string peer = "ipv4:10.0.0.7:5000", string? user = null) =>
        new() { Method = method, Transport = "grpc", RequestId = "r", Peer = peer, User = user };

    private static List<JsonElement> Lines(string path) =>
        [.. File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    private static long Count(JsonElement line) => line.GetProperty("count").GetInt64();

    [Fact]
    public void FloodOfIdenticalFailures_WritesTheFirstAtOnce_AndOneLineWithTheRestsCountWhenTheWindowCloses()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "audit.jsonl");
        var clock = new ManualClock();
        using var audit = new AuditLog(path, new AuditLogLimits { AggregateWindow = Window }, clock);
        for (var i = 0; i < 10_000; i++)
        {
            // Each connection comes from another port of the same address: still one kind.
            audit.Record(Call("GetVersion", peer: $"ipv4:10.0.0.7:{5000 + (i % 300)}"), "authentication failed: no credential");
        }

        Assert.Equal([1L], Lines(path).Select(Count));
        clock.Advance(Window - TimeSpan.FromTicks(1));
        Assert.Single(Lines(path));
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal([1L, 9_999], Lines(path).Select(Count));

        // The next flood opens a new window.
        for (var i = 0; i < 500; i++)
        {
            audit.Record(Call("GetVersion"), "authentication failed: no credential");
        }

        clock.Advance(Window);
        Assert.Equal([1L, 9_999, 1, 499], Lines(path).Select(Count));
    }

    [Fact]
    public void InterleavedKinds_AreCountedApart_AndDisposeWritesTheOpenCounts()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "audit.jsonl");
        var audit = new AuditLog(path, new AuditLogLimits { AggregateWindow = Window }, new ManualClock());
        for (var i = 0; i < 1_000; i++)
        {
            audit.Record(Call("GetVersion", peer: "ipv4:10.0.0.7:1"), "authentication failed");
            audit.Record(Call("GetVersion", peer: "ipv4:10.0.0.8:1"), "authentication failed");
            audit.Record(Call("Search", peer: "ipv4:10.0.0.7:1", user: "alice"), "denied PrivilegeSearch");
        }

        audit.Record(Call("CreateCollection", user: "root"), "ok");
        audit.Dispose();
        var lines = Lines(path);
        Assert.Equal(7, lines.Count);
        Assert.Equal(1, Count(lines.Single(l => l.GetProperty("outcome").GetString() == "ok")));
        foreach (var group in lines.Where(l => l.GetProperty("outcome").GetString() != "ok")
                     .GroupBy(l => (l.GetProperty("peer").GetString(), l.GetProperty("method").GetString())))
        {
            Assert.Equal([1L, 999], group.Select(Count));
        }
    }

    [Fact]
    public void Rotation_KeepsEachFileUnderTheCap_AndOnlyTheConfiguredNumberOfOldFiles()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "audit.jsonl");
        var limits = new AuditLogLimits { MaxBytes = 4096, FilesKept = 2, AggregateWindow = TimeSpan.Zero };
        using (var audit = new AuditLog(path, limits, new ManualClock()))
        {
            for (var i = 0; i < 1_000; i++)
            {
                audit.Record(Call("CreateCollection", user: "u" + i), "ok");
            }
        }

        Assert.Equal(["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"], Directory.GetFiles(folder.Path).Select(Path.GetFileName).Order());
        foreach (var file in Directory.GetFiles(folder.Path))
        {
            Assert.InRange(new FileInfo(file).Length, 1, limits.MaxBytes);
        }

        // The newest records are in the current file, the ones before them in .1, then .2: nothing in between is lost.
        var users = new[] { path + ".2", path + ".1", path }.SelectMany(Lines).Select(l => int.Parse(l.GetProperty("user").GetString()![1..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(999, users[^1]);
        Assert.Equal(Enumerable.Range(users[0], users.Count), users);
    }

    [Theory]
    [InlineData(100, 4, 10)]
    [InlineData(1 << 20, -1, 10)]
    [InlineData(1 << 20, 4, -1)]
    public void Limits_OutOfRange_AreRefusedNamingTheSetting(long maxBytes, int kept, double seconds)
    {
        var options = new SecurityOptions { AuditLogMaxBytes = maxBytes, AuditLogFilesKept = kept, AuditAggregateSeconds = seconds };
        var e = Assert.Throws<ArgumentException>(() => options.AuditLimits.Validate());
        Assert.Contains("Security:Audit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallsWithoutCredentials_ThroughTheGate_GrowTheLogByTwoLinesPerWindow()
    {
        using var folder = new TempFolder();
        var options = new SecurityOptions { AuthEnabled = true, RootPassword = AuthTests.RootPassword };
        var store = SecurityStore.Open(folder.Path, options);
        var path = Path.Combine(folder.Path, "audit.jsonl");
        var clock = new ManualClock();
        var audit = new AuditLog(path, options.AuditLimits, clock);
        var gate = new SecurityGate(options, store, audit, time: clock);
        for (var i = 0; i < 5_000; i++)
        {
            var call = new CallInfo { Method = "Search", Transport = "grpc", RequestId = "r" + i, Peer = $"ipv4:10.1.2.3:{40000 + i}" };
            await Assert.ThrowsAsync<RpcException>(async () => await gate.CheckAsync(call, null, CancellationToken.None));
        }

        audit.Dispose();
        Assert.Equal([1L, 4_999], Lines(path).Select(Count));
    }
}
