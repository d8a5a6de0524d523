using Quiver.Protocol.Milvus;

namespace Quiver.Server.Tests;

public sealed class ConnectionTests
{
    [Fact]
    public async Task CheckHealth_OverGrpc_IsHealthy()
    {
        await using var server = await TestServer.StartAsync();
        var health = await server.Milvus.CheckHealthAsync(new CheckHealthRequest());
        Assert.Equal(0, health.Status.Code);
        Assert.True(health.IsHealthy);
    }

    [Fact]
    public async Task OnePort_ServesGrpcAndHttp1()
    {
        await using var server = await TestServer.StartAsync();
        var version = await server.Milvus.GetVersionAsync(new GetVersionRequest());
        Assert.StartsWith("v2.", version.Version, StringComparison.Ordinal);
        // Plain HTTP/1.1 on the same port reaches the HTTP pipeline (a 404 for an unknown path, not a protocol error).
        using var response = await server.Http.GetAsync(new Uri("/no-such-path", UriKind.Relative));
        Assert.Equal(new Version(1, 1), response.Version);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task UnsupportedRpc_AnswersMilvusErrorNamingIt()
    {
        await using var server = await TestServer.StartAsync();
        var response = await server.Milvus.GetReplicasAsync(new GetReplicasRequest { CollectionID = 1 });
        Assert.Equal(10, response.Status.Code);
        Assert.Contains("GetReplicas", response.Status.Reason, StringComparison.Ordinal);
        // ... and the server keeps serving.
        Assert.True((await server.Milvus.CheckHealthAsync(new CheckHealthRequest())).IsHealthy);
    }
}
