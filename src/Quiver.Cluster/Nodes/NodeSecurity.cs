using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;
using Quiver.Server.Security;

namespace Quiver.Cluster.Nodes;

/// <summary>How a node applies its security settings (<see cref="NodeConfig.EffectiveSecurity"/>) as the standalone
/// server applies <c>Security</c>: TLS and mutual TLS on the Milvus port (the same checks at start, the same endpoint
/// set-up), the standalone gate with its request limits and per-user rate, and the audit log in the node's data
/// folder.</summary>
internal static class NodeSecurity
{
    /// <summary>Checks the settings and loads the TLS certificate (null without TLS), before the node connects to
    /// anything: a set-up that cannot work refuses the start with the standalone server's
    /// <see cref="ServerConfigurationException"/> and message.</summary>
    public static TlsMaterial? Prepare(NodeConfig config, IPAddress address)
    {
        var options = config.EffectiveSecurity();
        // The TLS and limit checks of the standalone server's binding rule. Insecure: the rule for a non-loopback address
        // without authentication is the node's own start check, not repeated here.
        SecurityHosting.CheckBinding(new ServerOptions { Security = options, Insecure = true }, address);
        return options.TlsEnabled ? TlsSetup.Load(options, DateTimeOffset.UtcNow) : null;
    }

    /// <summary>The Milvus port's endpoint: TLS with ALPN (h2 for gRPC, http/1.1 for REST) when a certificate is
    /// configured, else cleartext with HTTP/2 prior knowledge sniffing, as the standalone server's.</summary>
    public static void ConfigureEndpoint(ListenOptions listen, NodeConfig config, TlsMaterial? tls) =>
        SecurityHosting.ConfigureEndpoint(listen, config.EffectiveSecurity(), tls);

    /// <summary>Where the node's audit log goes: <c>security.auditLogPath</c> (relative to <c>dataPath</c>), else, with
    /// authentication on, <c>dataPath/security/audit.jsonl</c>, as the standalone server's; none otherwise. Each node
    /// writes its own log of the calls it answered.</summary>
    public static string? AuditPath(NodeConfig config)
    {
        var options = config.EffectiveSecurity();
        return options.AuditLogPath is { } path ? Path.Combine(config.DataPath, path)
            : options.AuthEnabled ? Path.Combine(config.DataPath, "security", "audit.jsonl") : null;
    }

    /// <summary>Registers what the standalone server's gate and RBAC handlers (gRPC and REST) need: the cluster's state,
    /// the gate over it with this node's limits, the audit log (the call pipeline's observer records completed
    /// changes in it), and a <see cref="MilvusGrpcService"/> built without an engine, which serves users, roles and
    /// grants only (a node's collections live in its shards).</summary>
    public static void Register(IServiceCollection services, ClusterSecurity security, NodeConfig config)
    {
        var options = config.EffectiveSecurity();
        var auditPath = AuditPath(config);
        services.AddSingleton(security);
        services.AddSingleton(security.Store);
        services.AddSingleton(new ServerOptions { Security = options, DataPath = config.DataPath });
        services.AddSingleton(_ => new AuditLog(auditPath, options.AuditLimits));
        services.AddSingleton<ISecurityGate>(sp => new SecurityGate(options, security.Store, sp.GetRequiredService<AuditLog>()));
        services.AddSingleton<ICallObserver>(sp => new AuditingObserver(new NoCallObserver(), sp.GetRequiredService<AuditLog>()));
        services.AddSingleton<CallPipeline>();
        services.AddSingleton(new InFlightBytes(options.MaxMessageBytes * 4L));
        services.AddSingleton(_ => new MemoryReclaimer(TimeSpan.FromSeconds(2)));
        services.AddSingleton(sp => MilvusGrpcService.WithoutEngine(sp.GetRequiredService<ServerOptions>(), sp));
        services.AddSingleton(sp => new ClusterRate(config.ClusterRequestsPerSecondPerUser,
            () => sp.GetRequiredService<Orleans.Runtime.IClusterMembershipService>().CurrentSnapshot.Members.Values.Count(m => m.Status == Orleans.Runtime.SiloStatus.Active)));
    }

    /// <summary>Whether the gate must see every call even with authentication off: a per-user (per-address) rate is
    /// set, which the standalone server enforces with authentication on or off, or a cluster-wide one.</summary>
    public static bool RateLimited(NodeConfig config) => config.EffectiveSecurity().RequestsPerSecondPerUser > 0 || config.ClusterRequestsPerSecondPerUser > 0;

    /// <summary>After the gate passed <paramref name="call"/>: the cluster-wide rate's refusal when the call is one the
    /// gate counts and is past this node's share (<see cref="ClusterRate"/>), else null.</summary>
    public static MilvusException? ClusterRateRefusal(IServiceProvider services, CallInfo call) =>
        services.GetRequiredService<ClusterRate>() is { PerSecond: > 0 } rate && !call.Polling && SecurityGate.RateLimited.Contains(call.Method)
            ? rate.Count(call.User ?? SecurityGate.PeerHost(call.Peer))
            : null;

    /// <summary>The options of a shard's or replica's own server on this node: the node's request limits (so a call that
    /// the shard's server reads, a REST body above all, is refused there in the standalone server's words, exactly as a
    /// standalone server with these settings refuses it), an in-flight budget that holds four of the largest messages
    /// (the standalone default ratio), and nothing else of the node's security: the node's gate has authenticated,
    /// authorized and counted the call.</summary>
    public static ServerOptions ShardOptions(NodeConfig config, string folder, QuiverOptions engine)
    {
        var options = config.EffectiveSecurity();
        var shard = new ServerOptions
        {
            DataPath = folder,
            Host = "127.0.0.1",
            Port = 0,
            Engine = engine,
            Security = new SecurityOptions
            {
                MaxMessageBytes = options.MaxMessageBytes,
                MaxNq = options.MaxNq,
                MaxTopK = options.MaxTopK,
                MaxDimension = options.MaxDimension,
                MaxRowsPerInsert = options.MaxRowsPerInsert,
            },
        };
        shard.Memory.MaxInFlightBytes = Math.Max(shard.Memory.MaxInFlightBytes, options.MaxMessageBytes * 4L);
        // Served in the node's process without a listener (ShardServer): no loopback port per shard or replica.
        return ShardServer.InProcess(shard);
    }
}
