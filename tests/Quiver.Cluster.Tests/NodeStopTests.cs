using Quiver.Client;

namespace Quiver.Cluster.Tests;

/// <summary>A node asked to stop (SIGTERM) stops, whatever state its stores are in. The oracle is the process itself:
/// it exits, with the code and the line the node program gives a stop it could not finish.</summary>
public sealed class NodeStopTests
{
    /// <summary>A safety net for the node's exit (the node bounds its own stop well inside it); never a sleep.</summary>
    private static readonly TimeSpan ExitSafety = TimeSpan.FromMinutes(4);

    /// <summary>What the node prints when its stop did not finish within ClusterNode.StopTimeout.</summary>
    private const string StopLine = "quiver node: the stop did not finish within 30 s (NATS or the other nodes do not answer); exiting without it: the other nodes move this node's shards once they vote it dead";

    /// <summary>A node holding an active shard loses every NATS server, then gets SIGTERM: it exits, saying that it
    /// left its stop unfinished. Before the node bounded its stop, such a node went on stopping for two minutes and more
    /// (more than three with three nodes, seen in session 31): Orleans gave each of its silo's two membership updates a minute against a
    /// table no server answered for; it then exited with 0 and printed nothing of it.</summary>
    [NatsFact]
    public async Task ANodeWhoseNatsServersAreGone_ExitsOnSigterm()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 1);
        await using (var client = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = nodes.Address(0), Timeout = TimeSpan.FromMinutes(3) }))
        {
            await client.CreateCollectionAsync("stopping", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", 4, MetricType.L2)],
            });
            await client.InsertAsync("stopping", [new Row { ["id"] = 1L, ["vector"] = new float[] { 1, 2, 3, 4 } }]);
        }

        for (var i = 0; i < 3; i++)
        {
            nats.Kill(i);
        }

        nodes.Terminate(0);
        int code;
        try
        {
            code = await nodes.ExitCodeAsync(0, ExitSafety);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"the node was still running {ExitSafety.TotalMinutes:0} minutes after SIGTERM:\n{nodes.Output(0)}");
            throw;
        }

        // The silo's graceful stop cannot finish without NATS (its membership table is there): the node leaves it
        // unfinished, says so and exits with 1.
        Assert.True(code == 1, $"the node exited with {code}:\n{nodes.Output(0)}");
        Assert.Contains(nodes.Output(0).Split('\n'), line => line == StopLine);
    }
}
