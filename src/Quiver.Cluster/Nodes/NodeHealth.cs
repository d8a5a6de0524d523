using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;
using Quiver.Server.Observability;

namespace Quiver.Cluster.Nodes;

/// <summary><c>GET /healthz</c> on a node's Milvus port, as the standalone server serves it (docs/server-ops.md): 200 with
/// <c>{"status":"serving",...}</c> when the node can serve (its NATS connection open, its silo active in the cluster,
/// the catalog readable), else 503 with <c>status</c> <c>stopping</c> or <c>unavailable</c> and <c>error</c> naming why,
/// written by the standalone server's <see cref="HealthReport"/>. Beside the standalone server's <c>uptimeSeconds</c>,
/// <c>dataPath</c>, <c>databases</c> (listed by the default database's catalog shard) and <c>collections</c> (the
/// cluster's, from its catalog) it reports <c>cluster</c> and <c>silo</c>. Also <c>GET /metrics</c>: the node process's
/// memory and garbage collector families, the standalone server's (<see cref="ProcessMetrics"/>), so that what holds a
/// node's memory can be read off each node.</summary>
internal static class NodeHealth
{
    /// <summary>The health path, the standalone server's.</summary>
    public const string HealthPath = "/healthz";

    /// <summary>The metrics path, the standalone server's.</summary>
    public const string MetricsPath = "/metrics";

    private static readonly long Started = Stopwatch.GetTimestamp();

    /// <summary>Maps <see cref="HealthPath"/> and <see cref="MetricsPath"/> onto <paramref name="app"/>.</summary>
    public static void Map(WebApplication app)
    {
        app.MapGet(HealthPath, HealthAsync);
        app.MapGet(MetricsPath, MetricsAsync);
    }

    private static async Task MetricsAsync(HttpContext http)
    {
        var text = new PrometheusText();
        ProcessMetrics.Write(text, Stopwatch.GetElapsedTime(Started));
        http.Response.ContentType = PrometheusText.ContentType;
        http.Response.Headers.CacheControl = "no-store";
        await http.Response.WriteAsync(text.ToString(), http.RequestAborted).ConfigureAwait(false);
    }

    private static async Task HealthAsync(HttpContext http)
    {
        var services = http.RequestServices;
        var node = services.GetRequiredService<NodeContext>();
        var nats = services.GetRequiredService<NatsConnection>();
        var silo = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested;
        var databases = 0;
        var collections = 0;
        string? error = null;
        if (nats.ConnectionState != NatsConnectionState.Open)
        {
            error = $"the node's NATS connection is {nats.ConnectionState.ToString().ToLowerInvariant()}";
        }
        else if (services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.GetSiloStatus(silo) is var status && status != SiloStatus.Active)
        {
            error = $"the node's silo is {status.ToString().ToLowerInvariant()} in the cluster";
        }
        else
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                collections = (await node.Catalog.AllAsync(timeout.Token).ConfigureAwait(false)).Count;
                (databases, var unlisted) = await services.GetRequiredService<MilvusRouting>().DatabaseCountAsync(timeout.Token).ConfigureAwait(false);
                error = unlisted is null ? null : $"the cluster's databases could not be listed: {unlisted}";
            }
            catch (Exception e) when (e is NatsException or OperationCanceledException or TimeoutException && !http.RequestAborted.IsCancellationRequested)
            {
                error = $"the cluster's catalog could not be read: {e.Message}";
            }
        }

        await new HealthReport(stopping, error, Stopwatch.GetElapsedTime(Started), Path.GetFullPath(node.Config.DataPath), databases, collections)
        {
            More = [new("cluster", node.Config.Cluster), new("silo", silo.Endpoint.ToString())],
        }.WriteAsync(http.Response, http.RequestAborted).ConfigureAwait(false);
    }
}
