using System.Buffers.Binary;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Quiver.Catalog;
using Quiver.Storage;

namespace Quiver.Cluster;

/// <summary>A replica's view of a shard's log (docs/cluster.md, "Replicas"): it reads the shard's JetStream stream and never
/// writes it. At the engine's open it delivers the records after the checkpoint, as a log does; once
/// <see cref="StartFollowing"/> is called it keeps handing the engine every record the shard appends after those, in
/// order, through the same callback the engine gave at open (which applies a record to memory exactly as replay does).
/// <see cref="AppliedLsn"/> and <see cref="AppliedTs"/> say how far the engine has applied the log, which is what the
/// consistency levels wait on. A gap in the sequence (records purged below a checkpoint this replica had not reached)
/// or a failing record stops following and sets <see cref="Broken"/>: the replica then opens a fresh engine.</summary>
internal sealed class FollowerWal : IWal
{
    private readonly INatsJSContext _js;
    private readonly JetStreamWal _reader;
    private readonly CancellationTokenSource _stop = new();
    private Action<WalRecord>? _onRecord;
    private Task _follow = Task.CompletedTask;
    private long _appliedLsn;
    private int _disposed;
    private long _appliedTs;
    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Held while a followed record is brought in (BeforeFollowed, then applied), and by HoldAsync.
    private readonly SemaphoreSlim _applying = new(1, 1);

    private FollowerWal(INatsJSContext js, JetStreamWal reader)
    {
        _js = js;
        _reader = reader;
    }

    /// <summary>Fault injection for tests and drills: a replica applies each record it follows this long after it
    /// arrives (environment variable <c>QUIVER_REPLICA_APPLY_DELAY_MS</c> of the node), so it lags behind the shard as a
    /// slow or distant replica would; 0 (the default) applies at once.</summary>
    public static TimeSpan ApplyDelay { get; } = TimeSpan.FromMilliseconds(
        int.TryParse(Environment.GetEnvironmentVariable("QUIVER_REPLICA_APPLY_DELAY_MS"), System.Globalization.CultureInfo.InvariantCulture, out var ms) && ms > 0 ? ms : 0);

    /// <summary>The stream followed.</summary>
    public string StreamName => _reader.StreamName;

    /// <summary>The LSN (stream sequence) of the last record applied; 0 before any.</summary>
    public long AppliedLsn => Interlocked.Read(ref _appliedLsn);

    /// <summary>The highest write timestamp among the records applied (the shard engine's clock, as its mutation results
    /// report it); 0 before any.</summary>
    public long AppliedTs => Interlocked.Read(ref _appliedTs);

    /// <summary>Why following stopped, or null while it goes on.</summary>
    public Exception? Broken { get; private set; }

    /// <summary>Awaited before each followed record (after the open) is applied: the replica brings its engine's catalog up
    /// to what the record needs (a partition created after the engine's catalog was read). Throwing stops following.</summary>
    public Func<WalRecord, CancellationToken, Task>? BeforeFollowed { get; set; }

    /// <summary>Asked of each record delivered at open: true when the record needs a catalog newer than the one the engine
    /// opened with (a write to a partition created after the manifest was read), which the open cannot take; the log is
    /// then <see cref="Broken"/> from the start, and the replica opens again.</summary>
    public Func<WalRecord, bool>? NewerThanOpen { get; set; }

    /// <inheritdoc/>
    public long NextLsn => AppliedLsn + 1;

    /// <summary>Holds back the records followed after the open until the returned handle is disposed (a record being
    /// applied finishes first): the replica changes its engine's catalog meanwhile at a known place in the log. Not to be
    /// called from <see cref="BeforeFollowed"/>, which runs while a record is held.</summary>
    public async Task<IDisposable> HoldAsync(CancellationToken ct)
    {
        await _applying.WaitAsync(ct).ConfigureAwait(false);
        return new Held(_applying);
    }

    /// <summary>Opens the follower of stream <paramref name="stream"/> (which must exist: the shard created it).</summary>
    public static FollowerWal Open(INatsJSContext js, string stream, JetStreamWalOptions options) =>
        new(js, JetStreamWal.Open(js, stream, options));

    /// <inheritdoc/>
    public WalReadReport Replay(long fromLsn, Action<WalRecord> onRecord)
    {
        _onRecord = onRecord;
        Interlocked.Exchange(ref _appliedLsn, fromLsn - 1);
        var report = _reader.Replay(fromLsn, record =>
        {
            if (Broken is null && NewerThanOpen?.Invoke(record) == true)
            {
                Broken = new InvalidOperationException($"record {record.Lsn} of '{StreamName}' needs a catalog newer than the one the replica opened with");
            }

            Deliver(record);
        });
        return report;
    }

    /// <summary>Starts applying the records appended after those delivered at open (call once the engine has opened).</summary>
    public void StartFollowing()
    {
        if (_onRecord is null)
        {
            // The engine never replayed this log (its collection was dropped before the open finished): nothing to follow.
            return;
        }

        _follow = Task.Run(() => FollowAsync(_stop.Token));
    }

    /// <summary>The stream's last sequence now: every write acknowledged before this call is at or below it.</summary>
    public async Task<long> LastSequenceAsync(CancellationToken ct)
    {
        var info = await Retry.UntilAsync(TimeSpan.FromSeconds(30), async c => (await _js.GetStreamAsync(StreamName, cancellationToken: c).ConfigureAwait(false)).Info.State, ct).ConfigureAwait(false);
        return (long)info.LastSeq;
    }

    /// <summary>Completes once <paramref name="reached"/> holds for the applied position (checked after every record),
    /// or throws when following stopped.</summary>
    public async Task WaitAsync(Func<FollowerWal, bool> reached, CancellationToken ct)
    {
        while (true)
        {
            var advanced = Volatile.Read(ref _advanced).Task;
            if (reached(this))
            {
                return;
            }

            if (Broken is { } broken)
            {
                throw new QuiverException(QuiverErrorCode.Unavailable, $"the replica stopped following the log '{StreamName}': {broken.Message}", broken);
            }

            await advanced.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public Task<long> AppendAsync(byte type, ReadOnlyMemory<byte> payload, Action<long>? onDurable = null, CancellationToken ct = default) =>
        Task.FromException<long>(new QuiverException(QuiverErrorCode.Unavailable,
            $"a replica never writes the log '{StreamName}': writes go to the collection's shard"));

    /// <inheritdoc/>
    public Task<long> RotateAsync(CancellationToken ct = default) => Task.FromResult(NextLsn);

    /// <summary>Never purges: the log is the shard's.</summary>
    public int DeleteFilesBefore(long lsn) => 0;

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await BackgroundLoop.StopAsync(_stop, _follow).ConfigureAwait(false);
        await _reader.DisposeAsync().ConfigureAwait(false);
        Volatile.Read(ref _advanced).TrySetResult();
    }

    private sealed class Held(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }

    private async Task FollowAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var from = AppliedLsn + 1;
                var consumer = await Retry.UntilAsync(TimeSpan.FromSeconds(60), c => _js.CreateOrderedConsumerAsync(StreamName, new NatsJSOrderedConsumerOpts
                {
                    DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
                    OptStartSeq = (ulong)from,
                }, c).AsTask(), ct).ConfigureAwait(false);
                try
                {
                    await foreach (var msg in consumer.ConsumeAsync<byte[]>(cancellationToken: ct).ConfigureAwait(false))
                    {
                        var seq = (long)(msg.Metadata?.Sequence.Stream ?? 0);
                        if (seq <= AppliedLsn)
                        {
                            continue;
                        }

                        if (seq != AppliedLsn + 1 || msg.Data is not { Length: >= 1 } data)
                        {
                            throw new CorruptionException(StreamName, seq != AppliedLsn + 1
                                ? $"the replica expected sequence {AppliedLsn + 1} and got {seq}: records it had not applied were purged"
                                : $"record {seq} is empty");
                        }

                        if (ApplyDelay > TimeSpan.Zero)
                        {
                            await Task.Delay(ApplyDelay, ct).ConfigureAwait(false);
                        }

                        var record = new WalRecord(seq, data[0], data.AsMemory(1));
                        await _applying.WaitAsync(ct).ConfigureAwait(false);
                        try
                        {
                            if (BeforeFollowed is { } before)
                            {
                                await before(record, ct).ConfigureAwait(false);
                            }

                            Deliver(record);
                        }
                        finally
                        {
                            _applying.Release();
                        }
                    }
                }
                catch (Exception ex) when (Retry.IsPassing(ex, ct))
                {
                    // A server restarting or an election: consume again from the next record.
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Broken = ex;
            Volatile.Read(ref _advanced).TrySetResult();
        }
    }

    private void Deliver(WalRecord record)
    {
        _onRecord!(record);
        if (record.Payload.Length >= 8)
        {
            // Every record payload starts with its write timestamp (docs/format-wal.md, "Record payloads").
            var ts = BinaryPrimitives.ReadInt64LittleEndian(record.Payload.Span);
            if (ts > AppliedTs)
            {
                Interlocked.Exchange(ref _appliedTs, ts);
            }
        }

        Interlocked.Exchange(ref _appliedLsn, record.Lsn);
        Interlocked.Exchange(ref _advanced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}

/// <summary>A replica's view of a shard's manifest: read once from the shard's KV key at open; what the replica's own
/// engine writes afterwards (its local seals and checkpoints) stays in memory, so a replica never writes the catalog.</summary>
internal sealed class ReadOnlyMetaStore : IMetaStore
{
    private readonly Lock _gate = new();
    private ManifestData? _manifest;

    /// <summary>Reads the shard's manifest now (before the replica lists the shard's files, so every file it names is
    /// listed).</summary>
    public ReadOnlyMetaStore(KvMetaStore shard)
    {
        _manifest = shard.Read();
        Revision = shard.Revision;
    }

    /// <summary>The revision of the shard's manifest key that was read.</summary>
    public ulong Revision { get; }

    /// <inheritdoc/>
    public ManifestData? Read()
    {
        lock (_gate)
        {
            return _manifest;
        }
    }

    /// <inheritdoc/>
    public void Write(ManifestData manifest)
    {
        lock (_gate)
        {
            _manifest = manifest;
        }
    }
}
