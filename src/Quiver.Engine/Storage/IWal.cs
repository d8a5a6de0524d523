namespace Quiver.Storage;

/// <summary>A shard's write-ahead log: the seam a cluster host can back with a replicated log. <see cref="Wal"/> is the
/// local-file implementation; docs/format-wal.md gives its guarantees.</summary>
internal interface IWal : IAsyncDisposable
{
    /// <summary>The LSN the next appended record gets.</summary>
    long NextLsn { get; }

    /// <summary>Delivers every record with LSN &gt;= <paramref name="fromLsn"/> in order; cuts a torn tail and reports it.</summary>
    WalReadReport Replay(long fromLsn, Action<WalRecord> onRecord);

    /// <summary>Queues a record; completes with its LSN once durable under the policy, after <paramref name="onDurable"/>
    /// has run (in LSN order, on the log's writer).</summary>
    Task<long> AppendAsync(byte type, ReadOnlyMemory<byte> payload, Action<long>? onDurable = null, CancellationToken ct = default);

    /// <summary>Completes once every earlier record is durable and applied and a new file has begun; returns its first LSN.</summary>
    Task<long> RotateAsync(CancellationToken ct = default);

    /// <summary>Drops whole files all of whose records precede <paramref name="lsn"/>; returns how many.</summary>
    int DeleteFilesBefore(long lsn);
}
