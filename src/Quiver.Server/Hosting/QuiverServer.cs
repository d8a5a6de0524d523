using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quiver.Server.Milvus;
using Quiver.Server.Observability;
using Quiver.Server.Rest;
using Quiver.Server.Security;

namespace Quiver.Server.Hosting;

/// <summary>
/// One Quiver server: the engine over a data folder, served as Milvus's gRPC <c>MilvusService</c> and RESTful API v2 on
/// one port. Start with <see cref="StartAsync"/>; <see cref="DisposeAsync"/> stops accepting, lets in-flight calls
/// finish and closes the engine (the WAL is durable for every acknowledged write).
/// </summary>
public sealed class QuiverServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TlsMaterial? _tls;
    private readonly IDisposable? _embedders;

    private QuiverServer(WebApplication app, QuiverEngine engine, int port, TlsMaterial? tls, IDisposable? embedders)
    {
        _app = app;
        _tls = tls;
        _embedders = embedders;
        Engine = engine;
        Port = port;
    }

    /// <summary>The engine the server runs on.</summary>
    public QuiverEngine Engine { get; }

    /// <summary>The server's services (load states, security store, audit log), for tests and administration.</summary>
    internal IServiceProvider Services => _app.Services;

    /// <summary>The bound port (the chosen one when <see cref="ServerOptions.Port"/> was 0; 0 with a
    /// <see cref="ServerOptions.Listener"/> of another kind).</summary>
    public int Port { get; }

    /// <summary>Opens the engine and starts listening. Returns once the port accepts calls. Throws
    /// <see cref="ServerConfigurationException"/> for a setting that cannot work (checked before the data folder is
    /// opened); <see cref="StartupFailure.Of"/> describes any failure in one line.</summary>
    public static async Task<QuiverServer> StartAsync(ServerOptions options, Action<ILoggingBuilder>? logging = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Http2PriorKnowledge.EnsureAvailable();
        if (!IPAddress.TryParse(options.Host, out var address))
        {
            throw new ServerConfigurationException($"--host '{options.Host}' is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every interface)");
        }
        SecurityHosting.CheckBinding(options, address);
        options.Memory.Validate(options.Security.MaxMessageBytes);
        // Checked before the data folder is opened: a certificate that cannot work stops the start with its reason.
        var tls = options.Security.TlsEnabled ? TlsSetup.Load(options.Security, DateTimeOffset.UtcNow) : null;

        QuiverEngine? engine = null;
        Embeddings.EmbeddingProviders? embedders = null;
        try
        {
            var consoleCertificate = options.Console.Enabled ? Console.ConsoleClientCertificate.Load(options.Console, tls) : null;
            var engineOptions = options.Engine.TextEmbedders is null
                ? options.Engine with { TextEmbedders = embedders = new Embeddings.EmbeddingProviders(options.Embedding) }
                : options.Engine;
            engine = await QuiverEngine.OpenAsync(options.DataPath, engineOptions, cancellationToken).ConfigureAwait(false);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            logging?.Invoke(builder.Logging);
            ServerLogging.DropMisleadingHostEvents(builder.Services);
            var handshakes = tls is null ? null : SecurityHosting.AddHandshakeLog(builder.Logging);
            builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
            // The serve command prints its own ready line; the host's "Application started. Press Ctrl+C" is noise.
            builder.Services.Configure<ConsoleLifetimeOptions>(lifetime => lifetime.SuppressStatusMessages = true);
            if (options.Listener is { } listener)
            {
                listener(builder.WebHost);
            }
            else
            {
                builder.WebHost.ConfigureKestrel(kestrel =>
                {
                    kestrel.AddServerHeader = false;
                    kestrel.Limits.MaxRequestBodySize = options.Security.MaxMessageBytes;
                    kestrel.Listen(address, options.Port, listen => SecurityHosting.ConfigureEndpoint(listen, options.Security, tls));
                });
            }
            builder.Services.AddSingleton(engine);
            builder.Services.AddSingleton(options);
            builder.Services.AddSingleton(new InFlightBytes(options.Memory.MaxInFlightBytes));
            builder.Services.AddSingleton(_ => new MemoryReclaimer(TimeSpan.FromSeconds(2)));
            // Metrics and the request log observe every call; the audit log wraps them (AuditingObserver).
            builder.Services.AddSingleton<ServerMetrics>();
            builder.Services.AddSingleton(services => new RecallMonitor(engine, options,
                services.GetRequiredService<ServerMetrics>(), services.GetRequiredService<ILogger<RecallMonitor>>()));
            SecurityHosting.AddSecurity<RequestObserver>(builder.Services, options);
            builder.Services.AddSingleton<CallPipeline>();
            builder.Services.AddSingleton<MilvusGrpcService>();
            builder.Services.AddSingleton<MilvusGrpcEndpoint>();
            builder.Services.AddSingleton<Grpc.AspNetCore.Server.Model.IServiceMethodProvider<MilvusGrpcEndpoint>, MilvusGrpcMethods>();
            builder.Services.AddSingleton<LoadStates>();
            builder.Services.AddSingleton(services => new Import.BulkImportJobs(
                engine, options.Import.Importer, options.Import.Root ?? Path.Combine(options.DataPath, "import"),
                services.GetRequiredService<ILogger<Import.BulkImportJobs>>()));
            if (options.Console.Enabled)
            {
                options.Console.Validate();
                builder.Services.AddSingleton(services => new Console.MetricsHistory(services.GetRequiredService<ServerMetrics>(), options.Console,
                    recall: services.GetRequiredService<RecallMonitor>().Estimates));
                builder.Services.AddSingleton<Console.ConsoleToolRuns>();
                builder.Services.AddSingleton(consoleCertificate!);
            }
            // Registered, the interceptor is one instance for every call; unregistered, gRPC would create one per call.
            builder.Services.AddSingleton<GrpcCallInterceptor>();
            builder.Services.AddGrpc(grpc =>
            {
                grpc.Interceptors.Add<GrpcCallInterceptor>();
                grpc.MaxReceiveMessageSize = options.Security.MaxMessageBytes;
                grpc.EnableDetailedErrors = false;
                // MilvusService declares every RPC (those Quiver lacks answer code 10 through the pipeline). gRPC's
                // routes for unknown methods and services ("/{service}/{method}" patterns) would be candidates of every
                // call's route match, which then builds route values and checks their constraint per call. Without
                // them an unknown RPC gets HTTP 404, which gRPC clients report as UNIMPLEMENTED all the same.
                grpc.IgnoreUnknownServices = true;
            });

            var app = builder.Build();
            if (tls is not null)
            {
                SecurityHosting.StartTlsLogging(tls, handshakes!, app.Services.GetRequiredService<ILoggerFactory>());
            }
            // Created now, not at the first scrape: its clock is the server's uptime.
            app.Services.GetRequiredService<ServerMetrics>();
            // Its thread re-runs sampled searches until the host disposes it, before the engine closes.
            app.Services.GetRequiredService<RecallMonitor>().Start();
            app.Use(GrpcInFlight.For(app.Services));
            app.UseUnaryGrpcRequestEnd();
            app.MapGrpcService<MilvusGrpcEndpoint>();
            app.MapMilvusRestV2();
            ObservabilityEndpoints.MapObservability(app);
            if (options.Console.Enabled)
            {
                // Created now, not at the first look: the charts start at the server's start.
                app.Services.GetRequiredService<Console.MetricsHistory>();
                Console.ConsoleEndpoints.MapConsole(app);
            }
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            // A listener of another kind (ServerOptions.Listener) has no address: port 0.
            var bound = options.Listener is not null ? 0 : app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
                .Addresses.Select(a => new Uri(a).Port).First();
            return new QuiverServer(app, engine, bound, tls, embedders);
        }
        catch
        {
            if (engine is not null)
            {
                await engine.DisposeAsync().ConfigureAwait(false);
            }
            embedders?.Dispose();
            tls?.Certificate.Dispose();
            throw;
        }
    }

    /// <summary>Completes when the host is asked to stop (SIGTERM, SIGINT, or <see cref="DisposeAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) =>
        _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops accepting, waits for in-flight calls, then closes the engine.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await Engine.DisposeAsync().ConfigureAwait(false);
        _embedders?.Dispose();
        _tls?.Certificate.Dispose();
    }
}
