using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Quiver.Client;

namespace Quiver.Typed;

/// <summary>Where <see cref="QuiverDataSource"/> opens its client: set <see cref="Address"/> (or <see cref="Server"/>)
/// for a server, or <see cref="OpenClient"/> for any other client such as the embedded engine; exactly one.</summary>
public sealed class QuiverConnectionOptions
{
    /// <summary>Opens the client: for the embedded engine (package QuiverVec.Engine, which this package does not
    /// need), <c>o.OpenClient = ct =&gt; QuiverClient.OpenEmbeddedAsync("app-data", cancellationToken: ct)</c>. Called
    /// once, on the first call made through the data source (again after a failed open); the data source owns and
    /// disposes what it returns.</summary>
    public Func<CancellationToken, Task<IQuiverClient>>? OpenClient { get; set; }

    /// <summary>Remote: the server's address, e.g. <c>http://127.0.0.1:19530</c>.</summary>
    public string? Address { get; set; }

    /// <summary>Remote: every client option (token, database, TLS); when set, <see cref="Address"/> is ignored.</summary>
    public QuiverClientOptions? Server { get; set; }
}

/// <summary>
/// One shared <see cref="IQuiverClient"/> opened on first use from <see cref="QuiverConnectionOptions"/> (the
/// registration <see cref="QuiverServiceCollectionExtensions.AddQuiver(IServiceCollection, Action{QuiverConnectionOptions})"/>
/// makes), and typed collection handles that log through the host's <see cref="ILoggerFactory"/>. Thread-safe;
/// disposing it disposes the client.
/// </summary>
public sealed class QuiverDataSource : IAsyncDisposable, IDisposable
{
    private readonly QuiverConnectionOptions _options;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IQuiverClient? _client;

    /// <summary>A data source over <paramref name="options"/>; <paramref name="loggerFactory"/> may be null.</summary>
    public QuiverDataSource(IOptions<QuiverConnectionOptions> options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _loggerFactory = loggerFactory;
        if ((_options.OpenClient is null) == (_options.Address is null && _options.Server is null))
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, "Quiver connection options: set Address/Server (remote) or OpenClient (embedded or any other client), exactly one");
        }
    }

    /// <summary>The client, opened on the first call (a failed open is retried by the next call).</summary>
    public async ValueTask<IQuiverClient> GetClientAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _client) is { } ready)
        {
            return ready;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client is null)
            {
                var client = _options.OpenClient is { } open
                    ? await open(cancellationToken).ConfigureAwait(false)
                        ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, "Quiver connection options: OpenClient returned no client")
                    : await QuiverClient.ConnectAsync(_options.Server ?? new QuiverClientOptions { Address = _options.Address! }, cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _client, client);
            }

            return _client;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A typed handle on a collection, logging through the data source's logger factory.</summary>
    public async ValueTask<QuiverCollection<TRecord>> CollectionAsync<TRecord>(string name, QuiverCollectionOptions? options = null, CancellationToken cancellationToken = default)
        where TRecord : class
    {
        var client = await GetClientAsync(cancellationToken).ConfigureAwait(false);
        return client.Collection<TRecord>(name, options, _loggerFactory);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _client, null) is { } client)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

        _gate.Dispose();
    }

    /// <inheritdoc/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}

/// <summary>Registers Quiver in an <see cref="IServiceCollection"/>.</summary>
public static class QuiverServiceCollectionExtensions
{
    /// <summary>Registers a singleton <see cref="QuiverDataSource"/> configured by <paramref name="configure"/> (and any
    /// other <c>Configure&lt;QuiverConnectionOptions&gt;</c>), and an <see cref="IQuiverClient"/> over it. Resolving either
    /// does no I/O and never blocks (no sync-over-async): the client is opened by the first call made on it (or by
    /// <see cref="QuiverDataSource.GetClientAsync"/>), awaited, with that call's cancellation token; an open that fails
    /// fails that call, and the next call tries again.</summary>
    public static IServiceCollection AddQuiver(this IServiceCollection services, Action<QuiverConnectionOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        return services.AddQuiver();
    }

    /// <summary>As <see cref="AddQuiver(IServiceCollection, Action{QuiverConnectionOptions})"/>, with the options
    /// configured elsewhere (for example bound from configuration).</summary>
    public static IServiceCollection AddQuiver(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<QuiverConnectionOptions>();
        services.TryAddSingleton(sp => new QuiverDataSource(
            sp.GetRequiredService<IOptions<QuiverConnectionOptions>>(), sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton<IQuiverClient>(sp => new DeferredQuiverClient(sp.GetRequiredService<QuiverDataSource>()));
        return services;
    }
}
