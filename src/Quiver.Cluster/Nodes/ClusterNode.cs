using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Orleans.Configuration;
using Orleans.Serialization;
using Quiver.Server.Hosting;
using Quiver.Server.Security;

namespace Quiver.Cluster.Nodes;

/// <summary>One cluster node: an Orleans silo (membership in the cluster's KV bucket, <see cref="KvMembershipTable"/>)
/// that hosts shard grains, and Milvus's gRPC API and REST v2 on <see cref="NodeConfig.MilvusPort"/> routed to them
/// (<see cref="MilvusRouting"/>, <see cref="RestRouting"/>).</summary>
internal sealed class ClusterNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly NatsConnection _nats;
    private readonly CollectionCatalog _catalog;
    private readonly ClusterSecurity _security;

    private ClusterNode(WebApplication app, NatsConnection nats, CollectionCatalog catalog, ClusterSecurity security, int port)
    {
        _app = app;
        _nats = nats;
        _catalog = catalog;
        _security = security;
        MilvusPort = port;
    }

    /// <summary>The bound Milvus gRPC port.</summary>
    public int MilvusPort { get; }

    /// <summary>Connects to NATS, joins the cluster and starts serving; returns once the silo is active and the port
    /// accepts calls.</summary>
    public static async Task<ClusterNode> StartAsync(NodeConfig config, Action<ILoggingBuilder>? logging = null, CancellationToken ct = default)
    {
        if (!IPAddress.TryParse(config.Host, out var address))
        {
            throw new ArgumentException($"host '{config.Host}' is not an IP address", nameof(config));
        }

        NodeBinding.Check(config, address);
        var tls = NodeSecurity.Prepare(config, address);

        var nats = new NatsConnection(new NatsOpts
        {
            Url = config.Nats,
            Name = $"quiver-node-{config.SiloPort}",
            RequestTimeout = TimeSpan.FromSeconds(3),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        });
        CollectionCatalog? catalog = null;
        ClusterSecurity? security = null;
        try
        {
            await nats.ConnectAsync().ConfigureAwait(false);
            var js = new NatsJSContext(nats);
            var kv = new NatsKVContext(js);
            catalog = await CollectionCatalog.OpenAsync(kv, config.Cluster, config.Replicas, ct).ConfigureAwait(false);
            catalog.StartWatching();
            var members = await KvBuckets.OpenAsync(kv, $"{config.Cluster}-membership", config.Replicas, TimeSpan.FromSeconds(30), ct, KvLandedKey.History).ConfigureAwait(false);
            security = await ClusterSecurity.OpenAsync(kv, config, ct).ConfigureAwait(false);
            var context = new NodeContext(config, js, catalog)
            {
                Security = security,
                Placement = await KvBuckets.OpenAsync(kv, ClusterStatus.Bucket(config.Cluster), config.Replicas, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false),
            };

            Http2PriorKnowledge.EnsureAvailable();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            logging?.Invoke(builder.Logging);
            var handshakes = tls is null ? null : SecurityHosting.AddHandshakeLog(builder.Logging);
            ServerLogging.DropMisleadingHostEvents(builder.Services);
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                // No limit of Kestrel's own (30 MB by default, which failed larger gRPC messages with "Exception was
                // thrown by handler"): gRPC messages are bounded by MaxReceiveMessageSize and REST bodies by RestRouting,
                // both at security.maxMessageBytes, refused in the standalone server's words.
                kestrel.Limits.MaxRequestBodySize = null;
                // gRPC and REST v2 on one cleartext port, as Milvus and the standalone server serve them.
                kestrel.Listen(address, config.MilvusPort, listen => NodeSecurity.ConfigureEndpoint(listen, config, tls));
            });
            builder.Services.AddSingleton(context);
            builder.Services.AddSingleton(nats);
            NodeSecurity.Register(builder.Services, security, config);
            builder.Services.AddSingleton<MilvusRouting>();
            builder.Services.AddSingleton<ClusterImports>();
            builder.Services.AddSingleton<ClusterWork>();
            builder.Services.AddSingleton<RestRouting>();
            builder.Services.AddSingleton<Grpc.AspNetCore.Server.Model.IServiceMethodProvider<MilvusRouting>, MilvusRoutingMethods>();
            builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = config.EffectiveSecurity().MaxMessageBytes);
            builder.UseOrleans(silo =>
            {
                silo.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = config.Cluster;
                    o.ServiceId = config.Cluster;
                });
                silo.Configure<EndpointOptions>(o =>
                {
                    o.AdvertisedIPAddress = address;
                    o.SiloPort = config.SiloPort;
                    o.SiloListeningEndpoint = new IPEndPoint(address, config.SiloPort);
                    o.GatewayPort = 0;
                });
                // Failure detection tuned for a small cluster: a node that stops answering three probes of one second is
                // voted dead by the other two and its shards re-activate elsewhere.
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    o.ProbeTimeout = TimeSpan.FromSeconds(1);
                    o.NumMissedProbesLimit = 3;
                    o.NumVotesForDeathDeclaration = 2;
                    o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
                    o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
                });
                silo.Configure<GrainDirectoryOptions>(o => o.CacheSize = DirectoryCacheSize);
                silo.AddNodeGrains();
                silo.Services.AddSingleton<IMembershipTable>(services => new KvMembershipTable(members, services.GetRequiredService<Serializer>()));
            });

            var app = builder.Build();
            context.Imports = app.Services.GetRequiredService<ClusterImports>();
            context.Work = app.Services.GetRequiredService<ClusterWork>();
            var grainFactory = app.Services.GetRequiredService<IGrainFactory>();
            catalog.RenameShards = (database, from, to, shards, id, c) => ShardRename.RunAsync(grainFactory, context, database, from, to, shards, id, c);
            _ = app.Services.GetRequiredService<AuditLog>(); // opened now: a folder it cannot write stops the start
            app.MapGrpcService<MilvusRouting>();
            RestRouting.Map(app);
            NodeHealth.Map(app);
            await app.StartAsync(ct).ConfigureAwait(false);
            // Rename records a renamer that died left behind, carried to their end or given up (docs/cluster.md, "Rename").
            catalog.StartSettling();
            // Import jobs whose node left the cluster, taken over even when nobody reads them (docs/cluster.md, "Bulk import").
            context.Imports.StartSweeping(ClusterImports.SweepEvery);
            // Index builds any node takes (docs/cluster.md, "Index builds as work").
            context.Work.StartWorking(ClusterWork.SweepEvery);
            if (tls is not null)
            {
                SecurityHosting.StartTlsLogging(tls, handshakes!, app.Services.GetRequiredService<ILoggerFactory>());
            }

            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
                .Addresses.Select(a => new Uri(a).Port).First();
            context.MilvusPort = bound;
            return new ClusterNode(app, nats, catalog, security, bound);
        }
        catch
        {
            if (catalog is not null)
            {
                await catalog.DisposeAsync().ConfigureAwait(false);
            }

            if (security is not null)
            {
                await security.DisposeAsync().ConfigureAwait(false);
            }

            await nats.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The grain addresses a node's Orleans directory cache holds (Orleans's default is 1,000,000: two caches
    /// whose tables it sizes for that many, 18.6 MiB on every node before it serves anything, and on the large object
    /// heap, whose budget the collector scales with what survives there). A node calls a few grains per shard and
    /// replica of each collection (shard, replicas, catalog), so 10,000 covers thousands of collections; past that the
    /// least recently used addresses are looked up again in the directory, which answers the same.</summary>
    public const int DirectoryCacheSize = 10_000;

    /// <summary>How long a node's stop may take once it is asked to stop. The silo's graceful stop (its status written
    /// to the membership table, its grains deactivated, each shard's engine closed over JetStream) waits on NATS and the
    /// other nodes; with its NATS servers gone it took two minutes and more (Orleans gives each membership update a
    /// minute). Past this, the node exits without finishing: nothing acknowledged is lost (every write is in the
    /// replicated log), and the other nodes vote the silent one dead and move its shards, as after a kill.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs until the host is asked to stop (SIGTERM, SIGINT), then stops the node: answers 0 when the stop
    /// finished within <see cref="StopTimeout"/>; otherwise writes one line saying so to <paramref name="error"/> and
    /// answers 1, leaving the stop unfinished (the caller exits the process).</summary>
    public async Task<int> RunUntilStoppedAsync(TextWriter error)
    {
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (_app.Lifetime.ApplicationStopping.Register(() => asked.TrySetResult()))
        {
            await asked.Task.ConfigureAwait(false);
        }

        var stop = DisposeAsync().AsTask();
        if (await Task.WhenAny(stop, Task.Delay(StopTimeout)).ConfigureAwait(false) == stop)
        {
            await stop.ConfigureAwait(false);
            return 0;
        }

        await error.WriteLineAsync($"quiver node: the stop did not finish within {StopTimeout.TotalSeconds:0} s (NATS or the other nodes do not answer); exiting without it: the other nodes move this node's shards once they vote it dead").ConfigureAwait(false);
        return 1;
    }

    /// <summary>Leaves the cluster (the shards here move to the other nodes) and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        // Import jobs first: the running one writes through this node's grains, which the silo's stop deactivates; it is
        // stopped and handed over to the other nodes rather than failed by that.
        await _app.Services.GetRequiredService<ClusterImports>().HandOverAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _catalog.DisposeAsync().ConfigureAwait(false);
        await _security.DisposeAsync().ConfigureAwait(false);
        await _nats.DisposeAsync().ConfigureAwait(false);
    }
}
