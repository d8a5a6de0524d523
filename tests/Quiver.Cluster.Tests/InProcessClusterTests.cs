using Microsoft.Extensions.DependencyInjection;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Orleans.Serialization;
using Orleans.TestingHost;
using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>The in-process tier (issue 17's "an in-process tier with Orleans's test cluster for the fast cases"):
/// Orleans's <see cref="TestCluster"/> runs three silos in this process, each with the node's grains and a
/// <see cref="NodeContext"/> over the shared 3-server NATS cluster, so the grains' own decisions are tested without
/// starting node processes. These cases drive the collection's placement authority (<see cref="IReplicaSetGrain"/>)
/// directly, as the placement director and the access layer of every node call it, and check its decisions against
/// the rule docs/cluster.md gives ("Replicas"): the replicas of a collection occupy disjoint nodes, each replica on as
/// few nodes as it can; with fewer live nodes than replicas, the node with the fewest replicas is shared.</summary>
[Collection("Nats")]
public sealed partial class InProcessClusterTests(NatsFixture nats)
{
    /// <summary>The node context the silos of the running test cluster start from (they share one NATS connection); each
    /// silo gets a copy naming its own endpoint (<see cref="SiloConfigurator"/>), as a node's configuration does.</summary>
    private static NodeContext? _context;

    /// <summary>Orleans's activation timeout on the silos of the running test cluster (null: Orleans's default, 30 s).</summary>
    private static TimeSpan? _activationTimeout;

    /// <summary>How often the shard grains of the running test cluster check their place (<see cref="NodeContext.ShardRebalancePeriod"/>).</summary>
    private static TimeSpan _rebalancePeriod = TimeSpan.FromSeconds(15);

    [NatsFact]
    public async Task RacingPlacements_OfEveryShardAndReplica_GiveEachReplicaItsOwnNode()
    {
        await using var cluster = await StartAsync();
        var silos = Silos(cluster);
        Assert.Equal(3, silos.Length);
        const int Shards = 4;
        const int Replicas = 3;
        var set = cluster.Client.GetGrain<IReplicaSetGrain>("default/racing");
        Assert.Equal(Replicas, await set.LoadAsync(Replicas, Shards));

        // Every (shard, replica) decision at once, twice over (a decision asked again, as a re-activation would ask it),
        // in a shuffled order: the grain must serialize them into one consistent placement.
        var asks = Enumerable.Range(0, Shards).SelectMany(s => Enumerable.Range(0, Replicas).Select(i => (Shard: s, Index: i)))
            .SelectMany(a => new[] { a, a }).OrderBy(_ => Random.Shared.Next()).ToArray();
        var answers = await Task.WhenAll(asks.Select(async a => (a.Shard, a.Index, Silo: await set.ChooseAsync(a.Shard, a.Index, silos))));

        foreach (var answer in answers)
        {
            Assert.Contains(answer.Silo, silos);
        }

        // Each replica index on exactly one node (it stays on as few nodes as it can: one, with a free node for each),
        // and no two replica indexes on one node (disjoint node sets), whatever order the decisions ran in.
        var nodeOf = answers.GroupBy(a => a.Index).ToDictionary(g => g.Key, g => g.Select(a => a.Silo).Distinct().ToArray());
        Assert.All(nodeOf.Values, nodes => Assert.Single(nodes));
        Assert.Equal(Replicas, nodeOf.Values.Select(nodes => nodes[0]).Distinct().Count());
    }

    [NatsFact]
    public async Task MoreReplicasThanLiveNodes_ShareTheLeastUsedNode_AndAJoinedNodeIsFreeAgain()
    {
        await using var cluster = await StartAsync();
        var silos = Silos(cluster);
        var set = cluster.Client.GetGrain<IReplicaSetGrain>("default/crowded");
        Assert.Equal(3, await set.LoadAsync(3, 1));

        // Two live nodes for three replicas (the third node died): replicas 0 and 1 take the two nodes, replica 2 shares
        // one of them; then each of the two nodes holds at most two replicas.
        var two = silos[..2];
        var first = await set.ChooseAsync(0, 0, two);
        var second = await set.ChooseAsync(0, 1, two);
        Assert.NotEqual(first, second);
        var third = await set.ChooseAsync(0, 2, two);
        Assert.Contains(third, two);

        // The third node back: replica 2, asked again (its next activation), goes to the node no other replica holds.
        var again = await set.ChooseAsync(0, 2, silos);
        Assert.Equal(silos.Single(s => s != first && s != second), again);
    }

    [NatsFact]
    public async Task AnActivationRefused_ReachesTheCallerAsTheQuiverException_WithItsCode()
    {
        // A replica of a collection never loaded with replicas refuses to activate (ReplicaGrain): its caller on another
        // node must read that refusal, not a serializer's failure to carry it.
        await using var cluster = await StartAsync();
        var replica = cluster.Client.GetGrain<IReplicaGrain>(ReplicaRecords.GrainKey("default/never-loaded", 0));

        var refused = await Assert.ThrowsAsync<QuiverException>(() => replica.PlaceAsync());

        Assert.Equal(QuiverErrorCode.NotFound, refused.Code);
        Assert.Equal("replica 0 of 'default/never-loaded' is not loaded", refused.Message);
    }

    /// <summary>Three silos in this process over the shared NATS cluster, under a cluster name of their own; Orleans's
    /// activation timeout <paramref name="activationTimeout"/> when given, <paramref name="beforeOpen"/> awaited by each
    /// shard and replica grain before it opens (<see cref="NodeContext.BeforeOpen"/>), and shards checking their place
    /// every <paramref name="rebalancePeriod"/> (15 s when not given).</summary>
    private async Task<InProcessCluster> StartAsync(string? dataPath = null, TimeSpan? activationTimeout = null, Func<string, CancellationToken, Task>? beforeOpen = null, TimeSpan? rebalancePeriod = null)
    {
        _rebalancePeriod = rebalancePeriod ?? TimeSpan.FromSeconds(15);
        var name = NatsFixture.Unique("inproc");
        var config = new NodeConfig { Cluster = name, Nats = nats.Cluster.Url, Replicas = 3, DataPath = dataPath ?? "node-data" };
        var js = new NatsJSContext(nats.Connection);
        var kv = new NatsKVContext(js);
        var catalog = await CollectionCatalog.OpenAsync(kv, name, 3, CancellationToken.None);
        _context = new NodeContext(config, js, catalog)
        {
            Placement = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(ClusterStatus.Bucket(name)) { NumberOfReplicas = 3, History = 1 }),
            BeforeOpen = beforeOpen,
        };
        _activationTimeout = activationTimeout;
        var builder = new TestClusterBuilder(3);
        builder.Options.ClusterId = name;
        builder.Options.ServiceId = name;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new InProcessCluster(cluster, catalog);
    }

    /// <summary>Two nodes' access layers on the running test cluster: the first with the test cluster's catalog, the second
    /// with a catalog of its own over the same bucket (returned, for the caller to dispose), so what one changes reaches
    /// the other only through NATS. Neither catalog watches the bucket.</summary>
    private async Task<(MilvusRouting First, MilvusRouting Second, CollectionCatalog OtherCatalog)> TwoAccessLayersAsync(InProcessCluster cluster)
    {
        var kv = new NatsKVContext(new NatsJSContext(nats.Connection));
        var otherCatalog = await CollectionCatalog.OpenAsync(kv, _context!.Config.Cluster, 3, CancellationToken.None);
        var first = new MilvusRouting(cluster.Client, _context);
        var second = new MilvusRouting(cluster.Client, new NodeContext(_context.Config, _context.JetStream, otherCatalog) { Placement = _context.Placement });
        return (first, second, otherCatalog);
    }

    /// <summary>The silos' endpoints as the placement director names them (<c>host:port</c>).</summary>
    private static string[] Silos(InProcessCluster cluster) =>
        [.. cluster.Cluster.GetActiveSilos().Select(s => $"{s.SiloAddress.Endpoint.Address}:{s.SiloAddress.Endpoint.Port}").Order(StringComparer.Ordinal)];

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.AddSerializer(s => s.AddAssembly(typeof(NodeContext).Assembly));
            siloBuilder.Services.AddSingleton(services =>
            {
                var shared = _context ?? throw new InvalidOperationException("no node context");
                // The silo's own endpoint, where a replica records it runs (ReplicaGrain), as a node's config names it.
                var silo = services.GetRequiredService<ILocalSiloDetails>().SiloAddress.Endpoint;
                var config = shared.Config;
                return new NodeContext(
                    new NodeConfig
                    {
                        Cluster = config.Cluster, Nats = config.Nats, Replicas = config.Replicas, Host = silo.Address.ToString(), SiloPort = silo.Port,
                        DataPath = Path.Combine(config.DataPath, silo.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    },
                    shared.JetStream,
                    shared.Catalog)
                {
                    Placement = shared.Placement,
                    BeforeOpen = shared.BeforeOpen,
                    // The test's seams as it sets them on the shared context, read at each call.
                    ShardDropStep = key => shared.ShardDropStep is { } step ? step(key) : Task.CompletedTask,
                    ShardDeactivated = key => shared.ShardDeactivated?.Invoke(key),
                    ShardRebalancePeriod = _rebalancePeriod,
                };
            });
            if (_activationTimeout is { } timeout)
            {
                siloBuilder.Configure<Orleans.Configuration.GrainCollectionOptions>(o => o.ActivationTimeout = timeout);
            }

            siloBuilder.AddNodeGrains();
            siloBuilder.AddIncomingGrainCallFilter(RecordShardCallAsync);
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.Services.AddSerializer(s => s.AddAssembly(typeof(NodeContext).Assembly));
    }

    private sealed class InProcessCluster(TestCluster cluster, CollectionCatalog catalog) : IAsyncDisposable
    {
        public TestCluster Cluster => cluster;

        public IClusterClient Client => cluster.Client;

        public async ValueTask DisposeAsync()
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
            await catalog.DisposeAsync();
        }
    }
}
