using Grpc.Net.Client;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using MilvusQuery = Quiver.Protocol.Milvus.QueryRequest;

namespace Quiver.Cluster.Tests;

/// <summary>The cluster-wide rate limit (<see cref="ClusterRate"/>, docs/cluster.md, "Security on a node"): each node
/// gives a user the cluster's rate divided by the live nodes, against the token-bucket arithmetic as the oracle, and a
/// running node reads the live count from the membership table.</summary>
public sealed class ClusterRateTests
{
    /// <summary>Three nodes' limiters over one frozen clock, rate 30 per second: each node accepts exactly its share of
    /// 10 calls of a user (30 in all, the cluster's one-second burst), then refuses naming the rate and the share; half a
    /// second later each accepts exactly 5 more; another user has buckets of its own; when the live count falls to 2,
    /// each remaining node accepts exactly 15 (a burst of the new share) and names it.</summary>
    [Fact]
    public void EachNode_TakesItsShareOfTheClusterRate_ByTheLiveCount()
    {
        var time = new ManualTime();
        var live = 3;
        var nodes = Enumerable.Range(0, 3).Select(_ => new ClusterRate(30, () => live, time)).ToArray();

        Assert.Equal([10, 10, 10], nodes.Select(n => Accepted(n, "alice")));
        var refused = nodes[1].Count("alice");
        Assert.NotNull(refused);
        Assert.Equal(MilvusCode.RateLimit, refused.Code);
        Assert.True(refused.Retriable);
        Assert.Equal("rate limit exceeded: more than 30 requests per second across the cluster (10 on each of 3 live nodes); retry later", refused.Message);
        Assert.Equal([10, 10, 10], nodes.Select(n => Accepted(n, "bob")));

        time.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal([5, 5, 5], nodes.Select(n => Accepted(n, "alice")));

        live = 2;
        Assert.Equal([15, 15], nodes.Take(2).Select(n => Accepted(n, "alice")));
        Assert.Equal("rate limit exceeded: more than 30 requests per second across the cluster (15 on each of 2 live nodes); retry later", nodes[0].Count("alice")!.Message);
        Assert.Null(new ClusterRate(0, () => 3, time).Count("alice"));
    }

    /// <summary>Three nodes with <c>clusterRequestsPerSecondPerUser</c> 0.003 (a share of 0.001 per second each, one call
    /// and then a refusal for 1,000 s, so no step depends on a clock): the counted calls of one client through a node are
    /// refused once its share is spent, naming 3 live nodes; another node still has its own share; once a node is
    /// killed, the membership table's live count (2) sets the share.</summary>
    [NatsFact]
    public async Task Nodes_EnforceTheirShare_ByTheMembershipTablesLiveCount()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3, settings: new Dictionary<string, object> { ["clusterRequestsPerSecondPerUser"] = 0.003 });
        var share3 = ClusterRate.Refusal(0.003, 3).Message;
        var share2 = ClusterRate.Refusal(0.003, 2).Message;
        Assert.Equal("rate limit exceeded: more than 0.003 requests per second across the cluster (0.001 on each of 3 live nodes); retry later", share3);

        // Until every node sees the other two, a node's share is larger: call until its refusal names 3 live nodes.
        await RefusedAsync(nodes.Endpoint(0), share3);
        // Node 1 has a share of its own: its first counted call is answered (the collection does not exist), the next refused.
        var first = await QueryAsync(nodes.Endpoint(1));
        Assert.True(first.Code == MilvusCode.CollectionNotFound || first.Reason == share3, $"node 1's first call: {first}");
        await RefusedAsync(nodes.Endpoint(1), share3);

        nodes.Kill(2);
        await RefusedAsync(nodes.Endpoint(0), share2);
    }

    /// <summary>Calls Query through <paramref name="endpoint"/> until it is refused with <paramref name="message"/> (a
    /// deadline of several minutes is a safety net only: membership changes take seconds).</summary>
    private static async Task RefusedAsync(string endpoint, string message)
    {
        var deadline = DateTime.UtcNow.AddMinutes(4);
        var seen = new List<string>();
        while (true)
        {
            var status = await QueryAsync(endpoint);
            if (status.Code == MilvusCode.RateLimit && status.Reason == message)
            {
                Assert.True(status.Retriable);
                return;
            }

            seen.Add($"{status.Code} {status.Reason}");
            Assert.True(DateTime.UtcNow < deadline, $"{endpoint} never refused with '{message}'; answers: {string.Join(" | ", seen.TakeLast(5))}");
            if (status.Code == MilvusCode.RateLimit)
            {
                await Task.Delay(200);
            }
        }
    }

    private static async Task<Protocol.Common.Status> QueryAsync(string endpoint)
    {
        using var channel = GrpcChannel.ForAddress($"http://{endpoint}");
        var response = await new MilvusService.MilvusServiceClient(channel).QueryAsync(new MilvusQuery { CollectionName = "nowhere", Expr = "id > 0" }).ResponseAsync;
        return response.Status;
    }

    private static int Accepted(ClusterRate rate, string caller)
    {
        var accepted = 0;
        while (rate.Count(caller) is null)
        {
            accepted++;
            Assert.True(accepted <= 1000, "the limiter never refused");
        }

        return accepted;
    }

    /// <summary>A clock that moves only when told.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
