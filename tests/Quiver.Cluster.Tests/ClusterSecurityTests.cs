using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>The cluster's shared users, roles and grants (<see cref="ClusterSecurity"/>) over the 3-server NATS cluster,
/// without nodes: several holders of the state change it at once, as the nodes of a cluster do.</summary>
[Collection("Nats")]
public sealed class ClusterSecurityTests(NatsFixture nats)
{
    /// <summary>Four holders (four nodes' copies) each create ten roles at once, every change acknowledged. nats-server
    /// before 2.9.21 may store two writes made against the same revision, the later one built on a document without
    /// the earlier one's role; whatever it stores, every acknowledged role must be in the stored state, which a holder
    /// opened afterwards reads (polled: its first read may come from a replica that has not caught up, which a lost
    /// role never does).</summary>
    [NatsFact]
    public async Task HoldersCreatingRolesAtOnce_EveryAcknowledgedRoleIsStored()
    {
        const int Holders = 4;
        const int Roles = 10;
        var config = new NodeConfig { Cluster = NatsFixture.Unique("sec"), Nats = nats.Cluster.Url, Replicas = 3 };
        var holders = new List<ClusterSecurity>();
        try
        {
            holders.AddRange(await Task.WhenAll(Enumerable.Range(0, Holders).Select(_ => ClusterSecurity.OpenAsync(nats.KeyValue, config, CancellationToken.None))));
            await Task.WhenAll(holders.Select((holder, i) => Task.Run(async () =>
            {
                for (var k = 0; k < Roles; k++)
                {
                    var role = $"r{i}_{k}";
                    await holder.ChangeAsync(() =>
                    {
                        holder.Store.CreateRole(role, null);
                        return Task.FromResult(true);
                    }, CancellationToken.None);
                }
            })));

            var reader = await ClusterSecurity.OpenAsync(nats.KeyValue, config, CancellationToken.None);
            holders.Add(reader);
            var expected = Enumerable.Range(0, Holders).SelectMany(i => Enumerable.Range(0, Roles).Select(k => $"r{i}_{k}")).ToArray();
            // Polled until every role is there; 4 minutes is a safety net for a loaded machine, not a figure.
            for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromMinutes(4) && !expected.All(reader.Store.RoleExists);)
            {
                await Task.Delay(250);
                await reader.RefreshAsync(CancellationToken.None);
            }

            var lost = expected.Where(role => !reader.Store.RoleExists(role)).ToArray();
            Assert.True(lost.Length == 0, $"acknowledged roles not stored: {string.Join(", ", lost)}");
        }
        finally
        {
            foreach (var holder in holders)
            {
                await holder.DisposeAsync();
            }
        }
    }
}
