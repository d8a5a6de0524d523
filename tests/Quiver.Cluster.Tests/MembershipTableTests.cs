using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.KeyValueStore;
using Orleans.Serialization;
using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>The membership table over NATS KV keeps Orleans's contract: a row is inserted or updated only against the
/// table etag (and row etag) the caller read, a heartbeat changes neither the table version nor its etag, and two
/// silos racing on the same table version cannot both win.</summary>
[Collection("Nats")]
public sealed class MembershipTableTests(NatsFixture nats)
{
    private static readonly Serializer Serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    private async Task<KvMembershipTable> OpenAsync()
    {
        var store = await nats.KeyValue.CreateOrUpdateStoreAsync(new NatsKVConfig(NatsFixture.Unique("members")) { NumberOfReplicas = 3, History = 1 });
        var table = new KvMembershipTable(store, Serializer);
        await table.InitializeMembershipTable(tryInitTableVersion: true);
        await table.InitializeMembershipTable(tryInitTableVersion: true);
        return table;
    }

    private static MembershipEntry Entry(int port, SiloStatus status = SiloStatus.Joining) => new()
    {
        SiloAddress = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), 1),
        Status = status,
        HostName = "localhost",
        SiloName = $"s{port}",
        StartTime = DateTime.UtcNow,
        IAmAliveTime = DateTime.UtcNow,
    };

    [NatsFact]
    public async Task Insert_Update_HonourTheEtagsRead()
    {
        var table = await OpenAsync();
        var empty = await table.ReadAll();
        Assert.Empty(empty.Members);

        var a = Entry(1001);
        Assert.True(await table.InsertRow(a, empty.Version.Next()));
        // The same version again: the table etag moved, so a second silo that read the same table loses.
        Assert.False(await table.InsertRow(Entry(1002), empty.Version.Next()));
        var one = await table.ReadAll();
        Assert.Single(one.Members);
        Assert.Equal(empty.Version.Version + 1, one.Version.Version);
        // A row is not inserted twice.
        Assert.False(await table.InsertRow(a, one.Version.Next()));

        var (row, etag) = one.Members[0];
        row.Status = SiloStatus.Active;
        Assert.False(await table.UpdateRow(row, etag + "0", one.Version.Next()));
        Assert.True(await table.UpdateRow(row, etag, one.Version.Next()));
        // The row's etag moved: an update against the old one is refused.
        var two = await table.ReadAll();
        Assert.False(await table.UpdateRow(row, etag, two.Version.Next()));
        Assert.Equal(SiloStatus.Active, (await table.ReadRow(a.SiloAddress)).Members[0].Item1.Status);
    }

    [NatsFact]
    public async Task Heartbeat_KeepsTableVersionAndEtag()
    {
        var table = await OpenAsync();
        var a = Entry(2001, SiloStatus.Active);
        Assert.True(await table.InsertRow(a, (await table.ReadAll()).Version.Next()));
        var before = await table.ReadAll();
        var alive = DateTime.UtcNow.AddMinutes(1);
        a.IAmAliveTime = alive;
        await table.UpdateIAmAlive(a);
        var after = await table.ReadAll();
        Assert.Equal(before.Version, after.Version);
        Assert.Equal(alive, after.Members[0].Item1.IAmAliveTime);
        // An update read before the heartbeat still applies: the heartbeat moved neither etag.
        Assert.True(await table.UpdateRow(after.Members[0].Item1, before.Members[0].Item2, before.Version.Next()));
    }

    [NatsFact]
    public async Task RacingInserts_ExactlyOneWinsPerVersion()
    {
        var table = await OpenAsync();
        var version = (await table.ReadAll()).Version.Next();
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => table.InsertRow(Entry(3000 + i), version)));
        var after = await table.ReadAll();
        Assert.True(results.Count(r => r) == 1, $"{results.Count(r => r)} won; table {after}");
        Assert.Single(after.Members);
    }

    [NatsFact]
    public async Task Cleanup_RemovesOnlyOldDeadRows()
    {
        var table = await OpenAsync();
        var dead = Entry(4001, SiloStatus.Dead);
        dead.IAmAliveTime = dead.StartTime = DateTime.UtcNow.AddHours(-2);
        var live = Entry(4002, SiloStatus.Active);
        Assert.True(await table.InsertRow(dead, (await table.ReadAll()).Version.Next()));
        Assert.True(await table.InsertRow(live, (await table.ReadAll()).Version.Next()));
        await table.CleanupDefunctSiloEntries(DateTimeOffset.UtcNow.AddHours(-1));
        Assert.Equal([live.SiloAddress], (await table.ReadAll()).Members.Select(m => m.Item1.SiloAddress));
    }
}
