using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Quiver.Server.Observability;

/// <summary>Registers the metrics and the request log, and serves <c>GET /healthz</c> and <c>GET /metrics</c> on the
/// server's port (HTTP/1.1, as probes and Prometheus scrape).</summary>
internal static class ObservabilityEndpoints
{
    /// <summary>The health path.</summary>
    public const string HealthPath = "/healthz";

    /// <summary>The Prometheus scrape path.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>Maps the two endpoints.</summary>
    public static void MapObservability(IEndpointRouteBuilder app)
    {
        app.MapGet(HealthPath, HealthAsync);
        app.MapGet(MetricsPath, MetricsAsync);
    }

    /// <summary>200 with <c>{"status":"serving",...}</c> when the engine answers and the server is not stopping; 503
    /// with <c>status</c> <c>stopping</c> or <c>unavailable</c> (and <c>error</c>) otherwise.</summary>
    private static async Task HealthAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var engine = services.GetRequiredService<QuiverEngine>();
        var metrics = services.GetRequiredService<ServerMetrics>();
        var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested;
        var databases = 0;
        var collections = 0;
        string? error = null;
        try
        {
            foreach (var database in await engine.ListDatabasesAsync(context.RequestAborted).ConfigureAwait(false))
            {
                databases++;
                collections += (await engine.ListCollectionsAsync(database, context.RequestAborted).ConfigureAwait(false)).Count;
            }
        }
        catch (Exception e) when (e is QuiverException or ObjectDisposedException)
        {
            error = e.Message;
        }
        await new HealthReport(stopping, error, metrics.Uptime, engine.Path, databases, collections)
            .WriteAsync(context.Response, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task MetricsAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var text = await services.GetRequiredService<ServerMetrics>()
            .WriteAsync(services.GetRequiredService<QuiverEngine>(), services.GetService<RecallMonitor>(), context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = PrometheusText.ContentType;
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    }
}
