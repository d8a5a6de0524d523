using Grpc.Net.Client;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Server.Tests;

/// <summary>A server in this process on a free loopback port over a temporary folder, with a gRPC client and an
/// HTTP/1.1 client for REST. Dispose stops the server and deletes the folder.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly TempFolder? _folder;

    private TestServer(TempFolder? folder, QuiverServer server)
    {
        _folder = folder;
        Server = server;
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        Milvus = new MilvusService.MilvusServiceClient(Channel);
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
    }

    public QuiverServer Server { get; }

    public GrpcChannel Channel { get; }

    public MilvusService.MilvusServiceClient Milvus { get; }

    public HttpClient Http { get; }

    public string DataPath => _folder?.Path ?? Server.Engine.Path;

    public static async Task<TestServer> StartAsync(Action<ServerOptions>? configure = null, Action<Microsoft.Extensions.Logging.ILoggingBuilder>? logging = null)
    {
        var folder = new TempFolder();
        var options = new ServerOptions { DataPath = folder.Path, Port = 0, Engine = new QuiverOptions { BackgroundMaintenance = false } };
        configure?.Invoke(options);
        try
        {
            return new TestServer(folder, await QuiverServer.StartAsync(options, logging));
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>A server over an existing folder the caller owns (for restart tests); dispose leaves the folder.</summary>
    public static async Task<TestServer> StartOnAsync(ServerOptions options) => new(null, await QuiverServer.StartAsync(options));

    /// <summary>Creates a collection through the engine, a FLAT index on each vector field (with the field's metric) and
    /// loads it over gRPC, as a Milvus client would before searching.</summary>
    public async Task CreateLoadedCollectionAsync(string name, CollectionSchema schema)
    {
        await Server.Engine.CreateCollectionAsync(name, schema);
        foreach (var field in schema.Fields.Where(f => f.DataType == DataType.FloatVector))
        {
            await Server.Engine.CreateIndexAsync(name, new IndexDefinition { FieldName = field.Name, IndexType = "FLAT" });
        }
        var loaded = await Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = name });
        Assert.Equal(0, loaded.Code);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Channel.Dispose();
        await Server.DisposeAsync();
        _folder?.Dispose();
    }
}
