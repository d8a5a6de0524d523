using System.Buffers;
using System.Threading.Channels;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Quiver.Storage;

namespace Quiver.Cluster;

/// <summary>A shard's write-ahead log as a JetStream stream (docs/cluster.md). A record's LSN is its stream sequence, so
/// LSNs stay consecutive from 1 and survive purges. An append completes only after JetStream acknowledged it, which for a
/// stream of R replicas means a majority stored it. Every publish carries the sequence it expects to follow
/// (<c>Nats-Expected-Last-Sequence</c>), so a second writer on the same stream (a shard that moved while its old owner
/// still runs) is refused instead of interleaving, and records are never reordered by a retry; a retry carries the same
/// message ID, so JetStream's de-duplication keeps a publish whose acknowledgement was lost from landing twice.
/// Thread-safe: appends are queued and published by one writer, pipelined up to <see cref="JetStreamWalOptions.MaxInFlight"/>.</summary>
internal sealed class JetStreamWal : IWal
{
    /// <summary>JetStream's error code for a publish whose expected last sequence is not the stream's.</summary>
    private const int WrongLastSequence = 10071;

    private readonly INatsJSContext _js;
    private readonly string _subject;
    private readonly JetStreamWalOptions _options;
    private readonly string _writerId = Guid.NewGuid().ToString("N");
    private readonly Channel<Entry> _queue = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private readonly int _maxPayload;
    private long _nextLsn;
    private volatile QuiverException? _broken;

    private JetStreamWal(INatsJSContext js, string stream, JetStreamWalOptions options, long nextLsn)
    {
        _js = js;
        _maxPayload = options.MaxPayloadBytes ?? (int)Math.Max(0, (js.Connection.ServerInfo?.MaxPayload ?? (1 << 20)) - 1024);
        StreamName = stream;
        _subject = SubjectFor(stream);
        _options = options;
        _nextLsn = nextLsn;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The prefix of this writer's message IDs (<c>{WriterId}-{lsn}</c>); tests publish under it to stand for a
    /// publish whose acknowledgement was lost.</summary>
    internal string WriterId => _writerId;

    /// <summary>The stream that holds the log.</summary>
    public string StreamName { get; }

    /// <inheritdoc/>
    public long NextLsn => Interlocked.Read(ref _nextLsn);

    /// <summary>Opens the log of stream <paramref name="stream"/>, creating it with <see cref="JetStreamWalOptions.Replicas"/>
    /// replicas if missing, and checks the configuration the server reports (servers before 2.10 silently ignore some
    /// settings). Retries while the cluster has no leader for the stream, up to <see cref="JetStreamWalOptions.RetryTimeout"/>.</summary>
    public static async Task<JetStreamWal> OpenAsync(INatsJSContext js, string stream, JetStreamWalOptions? options = null, CancellationToken ct = default)
    {
        options ??= new JetStreamWalOptions();
        var info = await Retry.UntilAsync(options.RetryTimeout, async c =>
        {
            // An existing stream is only read: updating a replicated stream's configuration waits for every replica,
            // so it would stall (until a timeout) while one server is down.
            try
            {
                return (await js.GetStreamAsync(stream, cancellationToken: c).ConfigureAwait(false)).Info;
            }
            catch (NatsJSApiException ex) when (ex.Error.Code == 404)
            {
            }

            var config = new StreamConfig(stream, [SubjectFor(stream)])
            {
                NumReplicas = options.Replicas,
                Storage = StreamConfigStorage.File,
                Retention = StreamConfigRetention.Limits,
                Discard = StreamConfigDiscard.Old,
                DuplicateWindow = options.DuplicateWindow,
            };
            var s = await js.CreateStreamAsync(config, c).ConfigureAwait(false);
            return s.Info;
        }, ct).ConfigureAwait(false);
        if (info.Config.NumReplicas != options.Replicas || info.Config.Storage != StreamConfigStorage.File)
        {
            throw new QuiverException(QuiverErrorCode.Unavailable,
                $"stream '{stream}' has {info.Config.NumReplicas} replica(s) on {info.Config.Storage} storage; the log needs {options.Replicas} on file storage");
        }

        return new JetStreamWal(js, stream, options, (long)info.State.LastSeq + 1);
    }

    /// <summary>Opens synchronously, for the engine's <c>WalFactory</c> seam (shards open their logs synchronously).</summary>
    public static JetStreamWal Open(INatsJSContext js, string stream, JetStreamWalOptions? options = null) =>
        OpenAsync(js, stream, options).GetAwaiter().GetResult();

    /// <summary>The stream name for a collection's log: JetStream names allow letters, digits, '-' and '_'.</summary>
    public static string StreamFor(string prefix, long collectionId) => $"{prefix}-wal-{collectionId}";

    private static string SubjectFor(string stream) => $"quiver.wal.{stream}";

    /// <inheritdoc/>
    public WalReadReport Replay(long fromLsn, Action<WalRecord> onRecord) => ReplayAsync(fromLsn, onRecord).GetAwaiter().GetResult();

    /// <summary>Delivers every record from <paramref name="fromLsn"/> to the stream's last sequence, in order, through an
    /// ordered consumer. Throws <see cref="CorruptionException"/> when records the caller needs were purged (the stream's
    /// first sequence is past <paramref name="fromLsn"/>) or the log ends before <paramref name="fromLsn"/> - 1.</summary>
    public async Task<WalReadReport> ReplayAsync(long fromLsn, Action<WalRecord> onRecord, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fromLsn, 1);
        var state = await Retry.UntilAsync(_options.RetryTimeout, async c => (await _js.GetStreamAsync(StreamName, cancellationToken: c).ConfigureAwait(false)).Info.State, ct).ConfigureAwait(false);
        var last = (long)state.LastSeq;
        if (fromLsn > last + 1)
        {
            throw new CorruptionException(StreamName, $"the checkpoint is at LSN {fromLsn} but the stream ends at sequence {last}: the log was replaced");
        }

        if (fromLsn <= last && (long)state.FirstSeq > fromLsn)
        {
            throw new CorruptionException(StreamName, $"replay needs LSN {fromLsn} but the stream's first sequence is {state.FirstSeq}: records were purged before they were checkpointed");
        }

        long delivered = 0;
        if (fromLsn <= last)
        {
            var consumer = await _js.CreateOrderedConsumerAsync(StreamName, new NatsJSOrderedConsumerOpts
            {
                DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
                OptStartSeq = (ulong)fromLsn,
            }, ct).ConfigureAwait(false);
            var expected = fromLsn;
            await foreach (var msg in consumer.ConsumeAsync<byte[]>(cancellationToken: ct).ConfigureAwait(false))
            {
                var seq = (long)(msg.Metadata?.Sequence.Stream ?? 0);
                if (seq != expected || msg.Data is not { Length: >= 1 } data)
                {
                    throw new CorruptionException(StreamName, seq != expected
                        ? $"replay expected sequence {expected} and got {seq}: a record is missing from the log"
                        : $"record {seq} is empty; every record starts with its type byte");
                }

                onRecord(new WalRecord(seq, data[0], data.AsMemory(1)));
                delivered++;
                expected++;
                if (seq == last)
                {
                    break;
                }
            }
        }

        return new WalReadReport { FromLsn = fromLsn, RecordsDelivered = delivered, NextLsn = NextLsn, FilesRead = delivered > 0 ? 1 : 0 };
    }

    /// <inheritdoc/>
    public Task<long> AppendAsync(byte type, ReadOnlyMemory<byte> payload, Action<long>? onDurable = null, CancellationToken ct = default)
    {
        if (payload.Length > _maxPayload)
        {
            Throw.Invalid($"WAL record payload is {payload.Length} bytes; the JetStream log's limit is {_maxPayload} (the server's max_payload less 1 KiB for headers)");
        }

        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<long>(ct);
        }

        if (_broken is { } broken)
        {
            return Task.FromException<long>(broken);
        }

        // The published record (type byte, then the payload) sits in a pooled buffer until the record is acknowledged or
        // failed: a fresh one per record was about 6% of a node's large-object allocations on ingest (records of a
        // 1,000-row batch are over the 85,000-byte threshold). Only its first Length bytes are published.
        var data = ArrayPool<byte>.Shared.Rent(payload.Length + 1);
        data[0] = type;
        payload.Span.CopyTo(data.AsSpan(1));
        var entry = new Entry(data, payload.Length + 1, onDurable);
        if (!_queue.Writer.TryWrite(entry))
        {
            entry.Release();
            return Task.FromException<long>(new QuiverException(QuiverErrorCode.Unavailable, $"the log '{StreamName}' is closed"));
        }

        return entry.Done.Task;
    }

    /// <inheritdoc/>
    public Task<long> RotateAsync(CancellationToken ct = default)
    {
        // A stream has no files to roll; the caller wants every earlier record durable and applied, which a barrier gives.
        var entry = new Entry(null, 0, null);
        return _queue.Writer.TryWrite(entry)
            ? entry.Done.Task.WaitAsync(ct)
            : Task.FromException<long>(new QuiverException(QuiverErrorCode.Unavailable, $"the log '{StreamName}' is closed"));
    }

    /// <summary>Purges every record with an LSN below <paramref name="lsn"/> from the stream (on every replica); returns
    /// how many records went. JetStream keeps sequence numbers across a purge, so LSNs go on from where they were.</summary>
    public int DeleteFilesBefore(long lsn)
    {
        if (lsn <= 1)
        {
            return 0;
        }

        var purged = Retry.UntilAsync(_options.RetryTimeout, async c =>
        {
            var stream = await _js.GetStreamAsync(StreamName, cancellationToken: c).ConfigureAwait(false);
            return await stream.PurgeAsync(new StreamPurgeRequest { Seq = (ulong)lsn }, c).ConfigureAwait(false);
        }, CancellationToken.None).GetAwaiter().GetResult();
        return (int)Math.Min(purged.Purged, int.MaxValue);
    }

    /// <summary>Deletes the stream (a dropped collection's log).</summary>
    public static async Task DeleteAsync(INatsJSContext js, string stream, CancellationToken ct = default)
    {
        try
        {
            await js.DeleteStreamAsync(stream, ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Entry>(_options.MaxInFlight);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < _options.MaxInFlight && _queue.Reader.TryRead(out var e))
            {
                batch.Add(e);
                if (e.Data is null)
                {
                    break;
                }
            }

            if (_broken is { } broken)
            {
                foreach (var e in batch)
                {
                    e.Done.TrySetException(broken);
                    e.Release();
                }
            }
            else
            {
                await PublishBatchAsync(batch).ConfigureAwait(false);
            }

            batch.Clear();
        }
    }

    /// <summary>Publishes the batch's records (a barrier, if any, is last) with up to the whole batch in flight, then runs
    /// the callbacks in LSN order and completes the tasks. A record whose publish failed for a passing reason (no leader,
    /// timeout) is published again, with every record after it, with the same IDs and expected sequences.</summary>
    private async Task PublishBatchAsync(List<Entry> batch)
    {
        var records = batch[^1].Data is null ? batch.Count - 1 : batch.Count;
        var first = _nextLsn;
        for (var i = 0; i < records; i++)
        {
            batch[i].Lsn = first + i;
        }

        var acked = 0;
        var started = DateTime.UtcNow;
        while (acked < records)
        {
            var pending = new Task<PubAckResponse>[records - acked];
            for (var i = acked; i < records; i++)
            {
                pending[i - acked] = PublishOneAsync(batch[i]);
            }

            Exception? failure = null;
            for (var i = 0; i < pending.Length; i++)
            {
                try
                {
                    var ack = await pending[i].ConfigureAwait(false);
                    if ((long)ack.Seq != batch[acked].Lsn)
                    {
                        failure ??= Fenced($"JetStream stored record {batch[acked].Lsn} at sequence {ack.Seq}");
                        break;
                    }

                    acked++;
                }
                catch (NatsJSApiException ex) when (ex.Error.ErrCode == WrongLastSequence)
                {
                    failure = Fenced(ex.Error.Description ?? "wrong last sequence");
                    break;
                }
                catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException)
                {
                    failure = ex;
                    break;
                }
            }

            // Let every publish of this round finish before the next round re-sends them, so none is counted twice.
            await Task.WhenAll(pending.Select(p => p.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
            if (failure is QuiverException fatal || DateTime.UtcNow - started > _options.RetryTimeout)
            {
                Break(batch, acked, failure as QuiverException ?? new QuiverException(QuiverErrorCode.Unavailable,
                    $"the log '{StreamName}' did not acknowledge record {batch[acked].Lsn} within {_options.RetryTimeout.TotalSeconds:0} s: {failure?.Message}", failure));
                Complete(batch, acked);
                return;
            }

            if (failure is not null)
            {
                await Task.Delay(_options.RetryDelay).ConfigureAwait(false);
            }
        }

        Complete(batch, acked);
        if (batch.Count > records)
        {
            batch[^1].Done.TrySetResult(_nextLsn);
        }
    }

    private async Task<PubAckResponse> PublishOneAsync(Entry e)
    {
        var opts = new NatsJSPubOpts
        {
            MsgId = $"{_writerId}-{e.Lsn}",
            ExpectedLastSequence = (ulong)(e.Lsn - 1),
            RetryAttempts = 1,
        };
        var ack = await _js.PublishAsync(_subject, e.Record, opts: opts).ConfigureAwait(false);

        // A duplicate is this very record: an earlier publish of it was stored and its acknowledgement lost (the ID names
        // this writer and this LSN). JetStream answers with the sequence it stored it at, which the caller checks like any
        // other acknowledgement; EnsureSuccess would throw, and the retries would end by stopping the log.
        if (ack.Error is null && ack.Duplicate)
        {
            return ack;
        }

        // TryPublishAsync and some paths can hand back an acknowledgement that carries an error: never count it as stored.
        ack.EnsureSuccess();
        return ack;
    }

    /// <summary>Runs the callbacks of the first <paramref name="acked"/> records in LSN order, then completes them.</summary>
    private void Complete(List<Entry> batch, int acked)
    {
        for (var i = 0; i < acked; i++)
        {
            if (batch[i].OnDurable is { } onDurable)
            {
                try
                {
                    onDurable(batch[i].Lsn);
                }
                catch (Exception ex)
                {
                    batch[i].Done.TrySetException(ex);
                }
            }
        }

        Interlocked.Add(ref _nextLsn, acked);
        for (var i = 0; i < acked; i++)
        {
            batch[i].Done.TrySetResult(batch[i].Lsn);
            batch[i].Release();
        }
    }

    /// <summary>Marks the log broken: a record could not be stored in order, so no later one may be. Fails the batch's
    /// records from <paramref name="acked"/> on and everything queued after them.</summary>
    private void Break(List<Entry> batch, int acked, QuiverException error)
    {
        _broken = error;
        for (var i = acked; i < batch.Count; i++)
        {
            batch[i].Done.TrySetException(error);
            batch[i].Release();
        }
    }

    private QuiverException Fenced(string detail) => new(QuiverErrorCode.Unavailable,
        $"another writer appended to the log '{StreamName}' ({detail}); this log stopped accepting writes");

    private sealed class Entry(byte[]? data, int length, Action<long>? onDurable)
    {
        private byte[]? _rented = data;

        /// <summary>The record's buffer (pooled, possibly longer than the record), or null for a barrier.</summary>
        public byte[]? Data { get; } = data;

        /// <summary>The bytes to publish: the record alone, never the rest of a reused buffer.</summary>
        public ReadOnlyMemory<byte> Record { get; } = data is null ? default : data.AsMemory(0, length);

        /// <summary>Gives the buffer back to the pool once the record is acknowledged or failed (once only).</summary>
        public void Release()
        {
            if (Interlocked.Exchange(ref _rented, null) is { } rented)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        public Action<long>? OnDurable { get; } = onDurable;

        public long Lsn { get; set; }

        public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
