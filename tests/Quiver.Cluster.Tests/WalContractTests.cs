using Quiver.Storage;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>What the engine relies on from any <see cref="IWal"/>: consecutive LSNs from 1, callbacks in LSN order before
/// the append completes, replay from a checkpoint of exactly the appended bytes, LSNs that go on after reopening and after
/// dropping records before a checkpoint. Run against the local file log and the JetStream log.</summary>
public abstract class WalContractTests
{
    /// <summary>Opens the log called <paramref name="name"/> (the same name reopens the same log).</summary>
    private protected abstract Task<IWal> OpenAsync(string name);

    protected static byte[] Payload(long i) => [.. Enumerable.Range(0, (int)(i % 37) + 1).Select(j => (byte)(i * 31 + j))];

    [NatsFact]
    public async Task Append_Concurrent_GetsConsecutiveLsnsAndCallbacksInOrder()
    {
        var name = NatsFixture.Unique("wal");
        var order = new List<long>();
        await using (var wal = await OpenAsync(name))
        {
            Assert.Equal(1, wal.NextLsn);
            var tasks = Enumerable.Range(0, 500).Select(i => wal.AppendAsync((byte)(i % 5), Payload(i), lsn => order.Add(lsn))).ToList();
            var lsns = await Task.WhenAll(tasks);
            Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), lsns.Order());
            Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), order);
            Assert.Equal(501, wal.NextLsn);
            Assert.Equal(501, await wal.RotateAsync());
        }

        await using (var wal = await OpenAsync(name))
        {
            var got = new Dictionary<long, (byte Type, byte[] Data)>();
            var report = wal.Replay(1, r => got.Add(r.Lsn, (r.Type, r.Payload.ToArray())));
            Assert.Equal(500, report.RecordsDelivered);
            Assert.Equal(501, report.NextLsn);
            Assert.Equal(501, wal.NextLsn);
            Assert.Equal(500, got.Count);
        }
    }

    /// <summary>Records of very different sizes appended one after another (each awaited, so a log that reuses its
    /// buffers hands a large record's buffer to the smaller ones after it) and then at once: each reads back with exactly
    /// its own length and bytes, never a longer or earlier record's tail.</summary>
    [NatsFact]
    public async Task Records_LargeThenSmall_ReadBackExactly_NoEarlierRecordsBytes()
    {
        var name = NatsFixture.Unique("wal");
        int[] sizes = [300_000, 1, 200_000, 90_000, 0, 131_071, 70, 262_144, 5, 100_001];
        var sent = new Dictionary<long, (byte Type, byte[] Data)>();
        await using (var wal = await OpenAsync(name))
        {
            for (var i = 0; i < sizes.Length; i++)
            {
                var data = Filled(sizes[i], (byte)(i + 1));
                sent[await wal.AppendAsync((byte)(i % 7), data)] = ((byte)(i % 7), data);
            }

            var concurrent = sizes.Reverse().Select((size, i) => (Type: (byte)(i % 7), Data: Filled(size, (byte)(100 + i)))).ToList();
            var lsns = await Task.WhenAll(concurrent.Select(c => wal.AppendAsync(c.Type, c.Data)));
            for (var i = 0; i < lsns.Length; i++)
            {
                sent[lsns[i]] = concurrent[i];
            }
        }

        await using (var again = await OpenAsync(name))
        {
            var got = new Dictionary<long, (byte Type, byte[] Data)>();
            again.Replay(1, r => got.Add(r.Lsn, (r.Type, r.Payload.ToArray())));
            Assert.Equal(sent.Keys.Order(), got.Keys.Order());
            foreach (var (lsn, (type, data)) in sent)
            {
                Assert.Equal(type, got[lsn].Type);
                Assert.Equal(data.Length, got[lsn].Data.Length);
                Assert.True(data.AsSpan().SequenceEqual(got[lsn].Data), $"record {lsn} ({data.Length} bytes) read back other bytes");
            }
        }
    }

    private static byte[] Filled(int size, byte seed)
    {
        var data = new byte[size];
        for (var j = 0; j < size; j++)
        {
            data[j] = (byte)(seed + j * 7);
        }

        return data;
    }

    [NatsFact]
    public async Task Replay_FromCheckpoint_DeliversExactlyTheLaterRecords_AfterDropAndReopen()
    {
        var name = NatsFixture.Unique("wal");
        var sent = new Dictionary<long, (byte, byte[])>();
        await using (var wal = await OpenAsync(name))
        {
            for (var i = 0; i < 120; i++)
            {
                var data = Payload(i);
                var lsn = await wal.AppendAsync((byte)(i % 3), data);
                sent[lsn] = ((byte)(i % 3), data);
                if (i == 59)
                {
                    Assert.Equal(61, await wal.RotateAsync());
                }
            }

            wal.DeleteFilesBefore(61);
        }

        await using (var wal = await OpenAsync(name))
        {
            var got = new List<WalRecord>();
            var report = wal.Replay(61, r => got.Add(r with { Payload = r.Payload.ToArray() }));
            Assert.Equal(60, report.RecordsDelivered);
            Assert.Equal(Enumerable.Range(61, 60).Select(i => (long)i), got.Select(r => r.Lsn));
            Assert.All(got, r =>
            {
                Assert.Equal(sent[r.Lsn].Item1, r.Type);
                Assert.Equal(sent[r.Lsn].Item2, r.Payload.ToArray());
            });
            Assert.Equal(121, await wal.AppendAsync(9, new byte[] { 1, 2, 3 }));
        }

        await using (var wal = await OpenAsync(name))
        {
            var last = new List<WalRecord>();
            wal.Replay(121, r => last.Add(r with { Payload = r.Payload.ToArray() }));
            var only = Assert.Single(last);
            Assert.Equal((byte)9, only.Type);
            Assert.Equal(new byte[] { 1, 2, 3 }, only.Payload.ToArray());
        }
    }
}

/// <summary>The contract on the engine's own file log, so the contract itself is checked against the reference.</summary>
public sealed class LocalWalContractTests : WalContractTests, IDisposable
{
    private readonly TempFolder _dir = new("quiver-wal");

    private protected override Task<IWal> OpenAsync(string name) => Task.FromResult<IWal>(Wal.Open(PhysicalFileSystem.Instance, _dir.Sub(name)));

    public void Dispose() => _dir.Dispose();
}

[Collection("Nats")]
public sealed class JetStreamWalContractTests(NatsFixture nats) : WalContractTests
{
    private protected override async Task<IWal> OpenAsync(string name) => await JetStreamWal.OpenAsync(nats.JetStream, name);
}
