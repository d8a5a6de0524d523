using Quiver.Testing;

namespace Quiver.Cluster.Tests;

public sealed partial class ClusterSdkTests
{
    /// <summary>Bulk import through the Node SDK on a collection of 3 shards (tests/compat/cluster-import.js), a standalone
    /// server running the same import code as the oracle: bulkInsert's refusals, jobs accepted by one node and followed
    /// through others, listImportTasks, REST import jobs across nodes, and the rows written, all equal to the standalone's.</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_BulkImport_OnThreeShards_AnswersAsTheStandalone()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new TempFolder("quiver-oracle");
        await using var oracle = await OracleImporter.StartServerAsync(folder.Path);
        var text = await RunScriptAsync("cluster-import.js", nodes, new Dictionary<string, string>
        {
            ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}",
            ["QUIVER_IMPORT_ROOT"] = Path.Combine(nodes.DataPath(0), "import"),
            ["QUIVER_ORACLE_IMPORT_ROOT"] = Path.Combine(folder.Path, "import"),
        });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
    }
}
