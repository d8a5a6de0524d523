namespace Quiver.Cluster.Tests;

/// <summary>What the JetStream log adds to the contract: three replicas as the server reports them, a second writer
/// refused, and a replay that needs purged records refused rather than silently short.</summary>
[Collection("Nats")]
public sealed class JetStreamWalTests(NatsFixture nats)
{
    [NatsFact]
    public async Task Open_CreatesAStreamThatTheServerReportsWithThreeReplicasOnFile()
    {
        var name = NatsFixture.Unique("wal");
        await using var wal = await JetStreamWal.OpenAsync(nats.JetStream, name);
        var stream = await nats.JetStream.GetStreamAsync(name);
        Assert.Equal(3, stream.Info.Config.NumReplicas);
        Assert.Equal(NATS.Client.JetStream.Models.StreamConfigStorage.File, stream.Info.Config.Storage);
        Assert.Equal(2, stream.Info.Cluster?.Replicas?.Count);
    }

    [NatsFact]
    public async Task Append_BySecondWriterAfterTheFirstAppended_IsRefusedAndStopsThatLog()
    {
        var name = NatsFixture.Unique("wal");
        await using var first = await JetStreamWal.OpenAsync(nats.JetStream, name);
        await using var second = await JetStreamWal.OpenAsync(nats.JetStream, name);
        Assert.Equal(1, await first.AppendAsync(1, new byte[] { 1 }));

        // The second writer believes the log ends at 0: its record would land at 2 and reorder the shard's history.
        var ex = await Assert.ThrowsAsync<QuiverException>(() => second.AppendAsync(1, new byte[] { 2 }));
        Assert.Equal(QuiverErrorCode.Unavailable, ex.Code);
        Assert.Contains("another writer", ex.Message);
        var again = await Assert.ThrowsAsync<QuiverException>(() => second.AppendAsync(1, new byte[] { 3 }));
        Assert.Equal(QuiverErrorCode.Unavailable, again.Code);

        Assert.Equal(2, await first.AppendAsync(1, new byte[] { 4 }));
        var stream = await nats.JetStream.GetStreamAsync(name);
        Assert.Equal(2L, (long)stream.Info.State.Messages);
    }

    [NatsFact]
    public async Task Append_WhoseEarlierPublishWasStoredButNotAcknowledged_CountsTheDuplicateAsStored()
    {
        var name = NatsFixture.Unique("wal");
        await using var wal = await JetStreamWal.OpenAsync(nats.JetStream, name, new JetStreamWalOptions { RetryTimeout = TimeSpan.FromSeconds(10) });

        // As if the log's first publish of record 1 reached the stream and its acknowledgement was lost: the same bytes
        // under the same message ID are already stored, so the log's own publish is answered "duplicate".
        var stored = await nats.JetStream.PublishAsync($"quiver.wal.{name}", new byte[] { 1, 7 },
            opts: new NATS.Client.JetStream.NatsJSPubOpts { MsgId = $"{wal.WriterId}-1" });
        NATS.Client.JetStream.NatsJSExtensions.EnsureSuccess(stored);

        Assert.Equal(1, await wal.AppendAsync(1, new byte[] { 7 }));
        Assert.Equal(2, await wal.AppendAsync(1, new byte[] { 8 }));
        var records = new List<(long Lsn, byte Type, byte[] Payload)>();
        wal.Replay(1, r => records.Add((r.Lsn, r.Type, r.Payload.ToArray())));
        Assert.Equal(2, records.Count);
        Assert.Equal((1L, (byte)1), (records[0].Lsn, records[0].Type));
        Assert.Equal(new byte[] { 7 }, records[0].Payload);
        Assert.Equal((2L, (byte)1), (records[1].Lsn, records[1].Type));
        Assert.Equal(new byte[] { 8 }, records[1].Payload);
    }

    [NatsFact]
    public async Task Replay_FromBeforeThePurge_IsCorruption()
    {
        var name = NatsFixture.Unique("wal");
        await using var wal = await JetStreamWal.OpenAsync(nats.JetStream, name);
        for (var i = 0; i < 10; i++)
        {
            await wal.AppendAsync(1, new byte[] { (byte)i });
        }

        Assert.Equal(5, wal.DeleteFilesBefore(6));
        var ex = Assert.Throws<CorruptionException>(() => wal.Replay(3, _ => { }));
        Assert.Contains("purged", ex.Message);
        var lsns = new List<long>();
        wal.Replay(6, r => lsns.Add(r.Lsn));
        Assert.Equal([6L, 7, 8, 9, 10], lsns);
    }
}
