namespace Quiver.Cluster.Tests;

public sealed partial class ClusterSdkTests
{
    /// <summary>Users, roles and grants on 3 nodes with authentication on (tests/compat/cluster-auth.js): credentials,
    /// users, roles, grants and privilege checks over gRPC and REST, each change made through one node and used through
    /// another, revocations and drops reaching every node, and concurrent changes through three nodes, every answer and
    /// refusal equal to a standalone server's with authentication on (the oracle).</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_UsersRolesGrants_EnforcedOnEveryNode_AsASingleNode()
    {
        const string password = "Cluster-root-42";
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3, settings: new Dictionary<string, object> { ["authEnabled"] = true, ["rootPassword"] = password });
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions
        {
            DataPath = folder.Path,
            Host = "127.0.0.1",
            Port = 0,
            Security = new Quiver.Server.Security.SecurityOptions { AuthEnabled = true, RootPassword = password },
        });
        var text = await RunScriptAsync("cluster-auth.js", nodes, new Dictionary<string, string>
        {
            ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}",
            ["QUIVER_ROOT_PASSWORD"] = password,
        });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
    }
}
