using System.Diagnostics;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster.Tests;

/// <summary>Why the cluster reads manifests, load states and the catalog from the bucket's stream leader
/// (<see cref="KvLeaderReads"/>) and not by NATS.Net's KV get, which is a JetStream direct get answered by whichever
/// replica the request reaches first: a replica that has not applied the latest write answers the value before it. The
/// lag is made deterministic by cutting one server's routes (<see cref="NatsCluster.StartRelayedAsync"/>), not by
/// timing: the server goes on answering its own clients, while the other two keep their quorum and acknowledge a new
/// value. Oracles: the values and revisions the test wrote.</summary>
public sealed class KvStaleReadTests
{
    /// <summary>How long a condition the servers reach by themselves is waited for; a safety net, never a sleep.</summary>
    private static readonly TimeSpan ConditionTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Through a client of the cut-off server, the direct get answers the first value (revision 1) after the
    /// second was acknowledged, while the leader read never does: it fails while the leader is out of reach and answers
    /// the second value once the server is joined again. (The server sends a direct get to any replica of the bucket,
    /// so a get through it reaches its own replica only some of the time, and the others' cannot answer across the cut:
    /// the get is sent again until one answers, and that answer can only be its own replica's.)</summary>
    [NatsFact]
    public async Task ADirectGetOnALaggingReplica_AnswersTheOlderValue_ALeaderReadNever()
    {
        var (cluster, server2) = await NatsCluster.StartRelayedAsync();
        await using var _ = cluster;
        await using var __ = server2;
        await using var majority = Connect(cluster.Urls[0]);
        await using var cut = Connect(cluster.Urls[2]);
        var name = NatsFixture.Unique("stale");
        var writer = await new NatsKVContext(new NatsJSContext(majority)).CreateStoreAsync(new NatsKVConfig(name) { NumberOfReplicas = 3 });
        await writer.PutAsync("k", Encoding.UTF8.GetBytes("first"));
        var js = new NatsJSContext(majority);
        await LeaderOffServer2Async(js, $"KV_{name}");

        var reader = await new NatsKVContext(new NatsJSContext(cut)).GetStoreAsync(name);
        // Server 2 applied the first value (its replica answers it), and the leader read's stream handle is known.
        await UntilAsync(async () => Text((await reader.GetEntryAsync<byte[]>("k")).Value) == "first");
        Assert.Equal("first", Text((await KvLeaderReads.GetAsync(reader, "k")).Value));

        server2.Cut();
        Assert.Equal(2UL, await writer.PutAsync("k", Encoding.UTF8.GetBytes("second")));

        // Server 2 hands a direct get to any replica of the bucket, its own among them; only its own is reachable, so
        // the get is sent again until that one answers.
        var direct = await UntilAnsweredAsync(() => reader.GetEntryAsync<byte[]>("k").AsTask());
        Assert.Equal(("first", 1UL), (Text(direct.Answer.Value), direct.Answer.Revision));
        // As many leader reads as it took direct gets to meet the stale replica, and at least five: none answers the
        // older value (out of reach, each fails).
        for (var attempt = 0; attempt < Math.Max(5, direct.Attempts); attempt++)
        {
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var leader = await Record.ExceptionAsync(async () =>
                Assert.Equal("second", Text((await KvLeaderReads.GetAsync(reader, "k", 0, bounded.Token)).Value)));
            Assert.True(leader is null or NatsException or TimeoutException or OperationCanceledException, leader?.ToString());
        }

        server2.Join();
        await UntilAsync(async () =>
        {
            try
            {
                using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                return (await KvLeaderReads.GetAsync(reader, "k", 0, bounded.Token)) is { Revision: 2 } read && Text(read.Value) == "second";
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException)
            {
                return false;
            }
        });
    }

    private static NatsConnection Connect(string url) => new(new NatsOpts
    {
        Url = url,
        RequestTimeout = TimeSpan.FromSeconds(2),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    });

    /// <summary>Moves the stream's leader off server 2 (asked to step down until another server leads it), so the cut
    /// leaves the leader with the majority.</summary>
    private static async Task LeaderOffServer2Async(NatsJSContext js, string stream)
    {
        await UntilAsync(async () =>
        {
            var info = await js.GetStreamAsync(stream);
            var leader = info.Info.Cluster?.Leader;
            if (leader == "q2")
            {
                try
                {
                    await js.Connection.RequestAsync<object, string>($"$JS.API.STREAM.LEADER.STEPDOWN.{stream}", null);
                }
                catch (NatsException)
                {
                    // No answer while the stream elects: asked again on the next round.
                }

                return false;
            }

            return leader is { Length: > 0 } && info.Info.Cluster!.Replicas?.All(r => r.Current) == true;
        });
    }

    /// <summary>The first answer of <paramref name="read"/>, sent again while it gets none, and how many sends it took.</summary>
    private static async Task<(T Answer, int Attempts)> UntilAnsweredAsync<T>(Func<Task<T>> read)
    {
        var clock = Stopwatch.StartNew();
        for (var attempts = 1; ; attempts++)
        {
            try
            {
                return (await read(), attempts);
            }
            catch (NatsNoReplyException) when (clock.Elapsed < ConditionTimeout)
            {
            }
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > ConditionTimeout)
            {
                throw new TimeoutException($"a condition was not reached within {ConditionTimeout.TotalSeconds:0} s");
            }

            await Task.Delay(100);
        }
    }

    private static string? Text(byte[]? value) => value is null ? null : Encoding.UTF8.GetString(value);
}
