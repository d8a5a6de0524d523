using System.Net;
using Microsoft.Extensions.DependencyInjection;
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

    private async Task<KvMembershipTable> OpenAsync() => (await OpenSilosAsync(1))[0];

    /// <summary>One table over a new bucket for each of <paramref name="silos"/> silos: separate instances, as separate
    /// processes hold them, so their writes are not serialized by one instance's lock.</summary>
    private async Task<KvMembershipTable[]> OpenSilosAsync(int silos)
    {
        var store = await nats.KeyValue.CreateOrUpdateStoreAsync(KvMembershipTable.Bucket(NatsFixture.Unique("members"), 3));
        var tables = Enumerable.Range(0, silos).Select(_ => new KvMembershipTable(store, Serializer)).ToArray();
        await Task.WhenAll(tables.Select(t => t.InitializeMembershipTable(tryInitTableVersion: true)));
        return tables;
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
        var tables = await OpenSilosAsync(8);
        var version = (await tables[0].ReadAll()).Version.Next();
        var results = await Task.WhenAll(tables.Select((t, i) => t.InsertRow(Entry(3000 + i), version)));
        var after = await tables[0].ReadAll();
        Assert.True(results.Count(r => r) == 1, $"{results.Count(r => r)} won; table {after}");
        Assert.Single(after.Members);
    }

    /// <summary>Four silos (four table instances) each change their own row 15 times, every change retried until
    /// accepted and each followed by a heartbeat, all at once. nats-server before 2.9.21 may store two updates made
    /// against the same revision; whatever it stores, no accepted change may be lost: every row ends with its silo's last
    /// change and last heartbeat, and the table etag counts every accepted row change.</summary>
    [NatsFact]
    public async Task SilosRacingOnTheTable_NoAcceptedChangeIsLost()
    {
        const int Silos = 4;
        const int Changes = 15;
        var tables = await OpenSilosAsync(Silos);
        var start = DateTime.UtcNow;
        for (var i = 0; i < Silos; i++)
        {
            Assert.True(await tables[0].InsertRow(Entry(5000 + i), (await tables[0].ReadAll()).Version.Next()));
        }

        var etagBefore = long.Parse((await tables[0].ReadAll()).Version.VersionEtag, System.Globalization.CultureInfo.InvariantCulture);
        var accepted = await Task.WhenAll(Enumerable.Range(0, Silos).Select(async i =>
        {
            var table = tables[i];
            var silo = Entry(5000 + i).SiloAddress;
            var updates = 0;
            for (var k = 0; k < Changes; k++)
            {
                while (true)
                {
                    var read = await table.ReadRow(silo);
                    var (row, etag) = read.Members[0];
                    row.SiloName = $"s{i}-{k}";
                    row.Status = k % 2 == 0 ? SiloStatus.Active : SiloStatus.Joining;
                    if (await table.UpdateRow(row, etag, read.Version.Next()))
                    {
                        updates++;
                        break;
                    }
                }

                var alive = (await table.ReadRow(silo)).Members[0].Item1;
                alive.IAmAliveTime = start.AddSeconds(k + 1);
                await table.UpdateIAmAlive(alive);
            }

            return updates;
        }));

        var after = await tables[0].ReadAll();
        for (var i = 0; i < Silos; i++)
        {
            var row = after.Members.Single(m => m.Item1.SiloAddress.Equals(Entry(5000 + i).SiloAddress)).Item1;
            Assert.Equal($"s{i}-{Changes - 1}", row.SiloName);
            Assert.Equal(SiloStatus.Active, row.Status);
            Assert.Equal(start.AddSeconds(Changes), row.IAmAliveTime);
        }

        Assert.Equal(etagBefore + accepted.Sum(), long.Parse(after.Version.VersionEtag, System.Globalization.CultureInfo.InvariantCulture));
    }

    [NatsFact]
    public async Task UpdateWhoseAnswerWasLost_AnswersTrue_AndIsAppliedOnce()
    {
        foreach (var loss in new[] { LostAnswers.Loss.Timeout, LostAnswers.Loss.Resent })
        {
            var bucket = await nats.KeyValue.CreateOrUpdateStoreAsync(KvMembershipTable.Bucket(NatsFixture.Unique("members"), 3));
            var (store, proxy) = LostAnswers.Over(bucket);
            var table = new KvMembershipTable(store, Serializer);
            await table.InitializeMembershipTable(tryInitTableVersion: true);
            var empty = await table.ReadAll();
            Assert.True(await table.InsertRow(Entry(1301), empty.Version.Next()));
            var one = await table.ReadAll();
            var (row, etag) = one.Members[0];
            row.Status = SiloStatus.Active;

            // Stored, then answered by a timeout or by the refusal of its resend: it stands, so Orleans is told true.
            proxy.LoseNext(loss);
            Assert.True(await table.UpdateRow(row, etag, one.Version.Next()));
            Assert.Equal(1, proxy.Lost);
            var two = await table.ReadAll();
            Assert.Equal(SiloStatus.Active, two.Members[0].Item1.Status);
            Assert.Equal(KvMembershipTable.NextEtag(etag), two.Members[0].Item2);
            Assert.Equal(one.Version.Version + 1, two.Version.Version);
        }
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
