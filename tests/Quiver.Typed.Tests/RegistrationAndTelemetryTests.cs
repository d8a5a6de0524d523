using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Quiver.Client;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Typed.Tests;

public sealed class RegistrationAndTelemetryTests
{
    [Fact]
    public async Task AddQuiver_OpensOneClientFromOptions_AndCollectionsLogThroughTheHost()
    {
        using var folder = new TempFolder("quiver-typed-di");
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddQuiver(o =>
        {
            o.OpenClient = ct => QuiverClient.OpenEmbeddedAsync(folder.Path, new QuiverOptions { BackgroundMaintenance = false }, ct);
        });
        await using (var provider = services.BuildServiceProvider())
        {
            var source = provider.GetRequiredService<QuiverDataSource>();
            var client = provider.GetRequiredService<IQuiverClient>();
            Assert.NotNull(await source.GetClientAsync());
            var products = await source.CollectionAsync<Product>("products", new QuiverCollectionOptions { VectorIndexType = "FLAT" });
            await products.EnsureCreatedAsync();
            await products.UpsertAsync([new Product { Id = 1, Category = "c", Price = 2, Vector = [1, 0, 0, 0] }]);
            await Assert.ThrowsAsync<QuiverException>(() => products.InsertAsync([new Product { Id = 2, Category = "c", Price = 2, Vector = [1, 0] }]));
            Assert.Equal(["products"], await client.ListCollectionsAsync());
        }

        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Debug && m.Text.StartsWith("upsert on products:", StringComparison.Ordinal) && m.Text.EndsWith(" 1 rows", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Warning && m.Text.StartsWith("insert on products failed (InvalidArgument)", StringComparison.Ordinal));

        // Disposing the provider closed the engine: the folder opens again with the row in it.
        await using var reopened = await QuiverClient.OpenEmbeddedAsync(folder.Path);
        Assert.Equal(1L, (await reopened.Collection<Product>("products").GetAsync(1L))!.Id);
    }

    [Fact]
    public async Task AddQuiver_ResolvingTheClient_OpensNothing_TheFirstCallOpensIt()
    {
        // The engine creates its folder when it opens: the folder's absence after resolution shows that resolving did
        // not open (nor start opening) anything, with no timing involved.
        using var folder = new TempFolder("quiver-typed-di-deferred");
        var data = Path.Combine(folder.Path, "data");
        var services = new ServiceCollection();
        services.AddQuiver(o =>
        {
            o.OpenClient = ct => QuiverClient.OpenEmbeddedAsync(data, new QuiverOptions { BackgroundMaintenance = false }, ct);
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IQuiverClient>();
        Assert.Same(client, provider.GetRequiredService<IQuiverClient>());
        Assert.False(Directory.Exists(data), "resolving IQuiverClient opened the engine");

        await client.CreateCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 2)] });
        Assert.True(Directory.Exists(data));
        Assert.Equal(["c"], await (await provider.GetRequiredService<QuiverDataSource>().GetClientAsync()).ListCollectionsAsync());
    }

    [Fact]
    public async Task AddQuiver_WithAnAddressNobodyServes_ResolvesAndTheFirstCallFails()
    {
        // Resolving connects to nothing, so it cannot fail (before: it connected, blocking, and threw from the container);
        // the first call reports the unreachable server, and so does the next one (a failed open is retried).
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var services = new ServiceCollection();
        services.AddQuiver(o => o.Server = new QuiverClientOptions { Address = $"http://127.0.0.1:{port}", Timeout = TimeSpan.FromSeconds(30) });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IQuiverClient>();
        await Assert.ThrowsAsync<QuiverServerException>(() => client.ListCollectionsAsync());
        await Assert.ThrowsAsync<QuiverServerException>(() => client.HasCollectionAsync("c"));
    }

    [Fact]
    public async Task AddQuiver_WithAnAddress_ConnectsToTheServer()
    {
        using var folder = new TempFolder("quiver-typed-di-remote");
        await using var server = await QuiverServer.StartAsync(new ServerOptions
        {
            DataPath = folder.Path,
            Port = 0,
            Engine = new QuiverOptions { BackgroundMaintenance = false },
        });
        var services = new ServiceCollection();
        services.AddQuiver(o => o.Address = $"http://127.0.0.1:{server.Port}");
        await using var provider = services.BuildServiceProvider();
        var products = await provider.GetRequiredService<QuiverDataSource>().CollectionAsync<Product>("remote_products", new QuiverCollectionOptions { VectorIndexType = "FLAT" });
        await products.EnsureCreatedAsync();
        await products.UpsertAsync([new Product { Id = 7, Category = "c", Price = 1, Vector = [0, 0, 1, 0] }]);
        Assert.Equal(7L, (await products.SearchAsync(new float[] { 0, 0, 1, 0 }).SingleAsync()).Record.Id);
        Assert.Equal(["remote_products"], await provider.GetRequiredService<IQuiverClient>().ListCollectionsAsync());
    }

    [Fact]
    public void AddQuiver_WithNeitherOrBothTargets_IsRefused()
    {
        var neither = new ServiceCollection().AddQuiver(_ => { }).BuildServiceProvider();
        Assert.Equal(QuiverErrorCode.InvalidArgument, Assert.Throws<QuiverException>(() => neither.GetRequiredService<QuiverDataSource>()).Code);
        var both = new ServiceCollection().AddQuiver(o => (o.OpenClient, o.Address) = (ct => QuiverClient.OpenEmbeddedAsync("/tmp/x", cancellationToken: ct), "http://127.0.0.1:1")).BuildServiceProvider();
        Assert.Equal(QuiverErrorCode.InvalidArgument, Assert.Throws<QuiverException>(() => both.GetRequiredService<QuiverDataSource>()).Code);
    }

    [Fact]
    public async Task Operations_EmitSpansAndMetrics_NamedByTheDatabaseConventions()
    {
        var collection = $"telemetry_{Guid.NewGuid():N}";
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == QuiverTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.DisplayName.EndsWith(collection, StringComparison.Ordinal))
                {
                    spans.Enqueue(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var durations = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == QuiverTelemetry.SourceName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var map = new Dictionary<string, object?>();
            foreach (var t in tags)
            {
                map[t.Key] = t.Value;
            }

            if (Equals(map.GetValueOrDefault("db.collection.name"), collection))
            {
                durations.Enqueue((instrument.Name, value, map));
            }
        }

        meters.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        meters.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        meters.Start();

        await using var target = await Target.OpenAsync(remote: false);
        var products = target.Client.Collection<Product>(collection, new QuiverCollectionOptions { VectorIndexType = "FLAT" });
        await products.EnsureCreatedAsync();
        await products.UpsertAsync([new Product { Id = 1, Vector = [1, 0, 0, 0] }, new Product { Id = 2, Vector = [0, 1, 0, 0] }]);
        Assert.Equal(2, await products.SearchAsync(new float[] { 1, 0, 0, 0 }).CountAsync());
        await Assert.ThrowsAnyAsync<QuiverException>(() => products.CountAsync("nope =="));

        var search = Assert.Single(spans, s => s.DisplayName == $"search {collection}");
        Assert.Equal(ActivityKind.Client, search.Kind);
        Assert.Equal("quiver", search.GetTagItem("db.system.name"));
        Assert.Equal("search", search.GetTagItem("db.operation.name"));
        Assert.Equal(collection, search.GetTagItem("db.collection.name"));
        var failed = Assert.Single(spans, s => s.DisplayName == $"count {collection}");
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
        Assert.Equal("BadFilter", failed.GetTagItem("error.type"));

        Assert.Contains(durations, d => d.Instrument == "db.client.operation.duration" && Equals(d.Tags["db.operation.name"], "upsert") && d.Value >= 0);
        Assert.Contains(durations, d => d.Instrument == "db.client.response.returned_rows" && Equals(d.Tags["db.operation.name"], "search") && d.Value == 2);
        Assert.Contains(durations, d => d.Instrument == "db.client.operation.duration" && Equals(d.Tags.GetValueOrDefault("error.type"), "BadFilter"));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(LogLevel Level, string Text)> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Messages.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}
