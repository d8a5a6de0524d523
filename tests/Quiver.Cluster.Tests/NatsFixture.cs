using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;

namespace Quiver.Cluster.Tests;

/// <summary>One 3-server cluster shared by the tests of the "Nats" collection (they run one after another), and a client
/// connected to all three. Tests that kill a server start their own <see cref="NatsCluster"/>.</summary>
public sealed class NatsFixture : IAsyncLifetime
{
    private NatsCluster? _cluster;
    private NatsConnection? _connection;

    public NatsCluster Cluster => _cluster ?? throw new InvalidOperationException(NatsFactAttribute.Missing);

    public NatsConnection Connection => _connection ?? throw new InvalidOperationException(NatsFactAttribute.Missing);

    public NatsJSContext JetStream => new(Connection);

    public NatsKVContext KeyValue => new(JetStream);

    public NatsObjContext Objects => new(JetStream);

    /// <summary>A name no other test uses (stream, bucket and key names allow letters, digits, '-' and '_').</summary>
    public static string Unique(string what) => $"{what}-{Guid.NewGuid():N}"[..(what.Length + 13)];

    public async Task InitializeAsync()
    {
        if (NatsCluster.ServerPath is null)
        {
            return;
        }

        _cluster = await NatsCluster.StartAsync();
        _connection = _cluster.Connect();
        await _connection.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition("Nats")]
public sealed class NatsCollection : ICollectionFixture<NatsFixture>
{
}
