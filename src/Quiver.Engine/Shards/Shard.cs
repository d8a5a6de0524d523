using System.Text.Json;
using Quiver.Catalog;
using Quiver.Filtering;
using Quiver.Segments;
using Quiver.Storage;
using Quiver.Writes;

namespace Quiver.Shards;

/// <summary>Where a live primary key's row is.</summary>
internal readonly record struct RowRef(Segment Segment, int Row);

/// <summary>The unit of ownership of a collection's data: one WAL stream, its growing and sealed segments and their delete
/// marks. A primary key is found by asking the segments (<see cref="Lookup"/>): growing ones keep a dictionary of their
/// own rows, sealed ones a key order mapped from their file, so that opening a collection costs O(segments). All writes go WAL first, then are applied to memory in LSN order on the WAL's
/// writer thread (<see cref="Apply"/>), under <see cref="_applyLock"/>; reads take a snapshot under the same lock
/// and then run without it. Files: {CollectionsRoot}/{collectionId}/segments/*.qseg|*.qdel and .../wal/*.wal.</summary>
internal sealed partial class Shard : IAsyncDisposable
{
    private readonly IShardHost _host;
    private readonly Lock _applyLock = new();
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly SemaphoreSlim _maintenanceGate = new(1, 1);
    private readonly List<Segment> _sealed = [];
    private readonly List<Segment> _frozen = [];
    private readonly Dictionary<long, Segment> _growing = [];
    private IWal _wal = null!;
    private long _appliedTs;
    private long _nextAutoId;
    private long _walBytesSinceCheckpoint;
    private int _disposed;

    private Shard(IShardHost host, CollectionMeta meta)
    {
        _host = host;
        Meta = meta;
        Schema = meta.Schema;
        Folder = Path.Combine(host.CollectionsRoot, meta.Id.ToString("D20", System.Globalization.CultureInfo.InvariantCulture));
        SegmentFolder = Path.Combine(Folder, "segments");
        WalFolder = Path.Combine(Folder, "wal");
        _nextAutoId = meta.NextAutoId;
        _appliedTs = 0;
    }

    /// <summary>The schema. Replaced only when an index binds the metric of a <see cref="FieldSchema.MetricFromIndex"/>
    /// field (same layout, another metric), under both gates.</summary>
    public CollectionSchema Schema { get; private set; }

    public long CollectionId => Meta.Id;

    /// <summary>Compiled filters and parsed search parameters of this collection's reads.</summary>
    public Search.ReadPlanCache Plans { get; } = new();

    /// <summary>The metadata as last made durable (or being made durable).</summary>
    public CollectionMeta Meta { get; private set; }

    public string Folder { get; }

    public string SegmentFolder { get; }

    public string WalFolder { get; }

    /// <summary>What recovery found in the WAL on open (a truncated torn tail, records replayed).</summary>
    public WalReadReport? RecoveryReport { get; private set; }

    private IFileSystem Fs => _host.FileSystem;

    /// <summary>Creates the folders of a new collection and opens it.</summary>
    public static Task<Shard> CreateAsync(IShardHost host, CollectionMeta meta, CancellationToken cancellationToken)
    {
        var shard = new Shard(host, meta);
        // The collection's folder is a new entry in the collections folder: durable before the manifest names it.
        DurableFolders.Create(host.FileSystem, shard.SegmentFolder);
        DurableFolders.Create(host.FileSystem, shard.WalFolder);
        return OpenAsync(host, meta, cancellationToken);
    }

    /// <summary>Recovery: maps and verifies the sealed segments of the manifest, applies their delete files (nothing per
    /// row: keys are found through each segment's mapped key order), removes files the manifest does not name (left by a crash mid-flush or mid-compaction), then replays
    /// the WAL from the checkpoint.</summary>
    public static Task<Shard> OpenAsync(IShardHost host, CollectionMeta meta, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var shard = new Shard(host, meta);
        try
        {
            shard.Recover();
        }
        catch
        {
            shard.ReleaseAll();
            throw;
        }

        return Task.FromResult(shard);
    }

    private void Recover()
    {
        // The manifest's last timestamp bounds every insert and delete mark in the files it names; reads start there
        // (a delete mark above the highest insert timestamp must still hide its row).
        _appliedTs = _host.Clock.Last;
        DurableFolders.Create(Fs, SegmentFolder);
        DurableFolders.Create(Fs, WalFolder);
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sm in Meta.Segments)
        {
            var path = Path.Combine(SegmentFolder, sm.FileName);
            if (!Fs.FileExists(path))
            {
                Throw.Corrupt(path, $"segment {sm.Id} named by the manifest is missing");
            }

            var seg = SegmentFile.Open(Fs, path, Schema, sm.Id, sm.Fields);
            seg.ChargeTo(_host.Memory);
            _sealed.Add(seg);
            keep.Add(sm.FileName);
            if (seg.PartitionId != sm.PartitionId || seg.Count != sm.Rows)
            {
                Throw.Corrupt(path, $"holds {seg.Count} rows of partition {seg.PartitionId}; the manifest says {sm.Rows} rows of partition {sm.PartitionId}");
            }

            if (sm.DeleteFile is { } df)
            {
                keep.Add(df);
                foreach (var (row, ts) in DeleteFile.Read(Fs, Path.Combine(SegmentFolder, df), sm.Id, seg.Count))
                {
                    seg.MarkDeleted(row, ts);
                }

                seg.PersistedDeleteVersion = seg.DeleteVersion;
                seg.DeleteFile = df;
            }

            _appliedTs = Math.Max(_appliedTs, seg.MaxInsertTs);
        }

        _sealed.Sort((a, b) => a.Id.CompareTo(b.Id));
        foreach (var file in Fs.ListFiles(SegmentFolder))
        {
            if (!keep.Contains(Path.GetFileName(file)))
            {
                Fs.Delete(file);
            }
        }

        _wal = _host.Options.WalFactory?.Invoke(Meta.Id) ?? Wal.Open(Fs, WalFolder, WalOptionsFor(_host.Options));
        RecoveryReport = _wal.Replay(Meta.CheckpointLsn, record =>
        {
            _walBytesSinceCheckpoint += record.Payload.Length;
            lock (_applyLock)
            {
                try
                {
                    Apply(record.Type, record.Payload.Span, replay: true);
                }
                catch (QuiverException ex) when (ex.Code is QuiverErrorCode.AlreadyExists or QuiverErrorCode.NotFound)
                {
                    // The original write was refused at apply time in the same way; it changed nothing then either.
                }
                catch (FormatException ex)
                {
                    // A record whose checksum holds but whose payload does not decode whole (short, or with bytes left
                    // over): nothing of it is applied, and the collection does not open on a guess.
                    throw new CorruptionException(WalFolder, $"WAL record {record.Lsn} (type {record.Type}) is malformed: {ex.Message}", ex);
                }
            }
        });
        _host.Clock.Observe(_appliedTs);
    }

    internal static WalOptions WalOptionsFor(QuiverOptions o) => new()
    {
        FsyncPolicy = o.Durability switch
        {
            DurabilityMode.Interval => FsyncPolicy.Interval,
            DurabilityMode.Never => FsyncPolicy.Never,
            _ => FsyncPolicy.Always,
        },
        FsyncInterval = o.FsyncInterval,
    };

    /// <summary>Applies one logged write to memory. Called in LSN order, under <see cref="_applyLock"/>, by the WAL's
    /// writer after the record is durable, and by recovery. Deterministic: the same records in the same order give the
    /// same state, which is what makes replay exact. Returns the number of rows written or deleted; throws
    /// <see cref="QuiverException"/> (AlreadyExists, NotFound) for a write refused at this point, which then changes nothing.</summary>
    private long Apply(byte type, ReadOnlySpan<byte> payload, bool replay)
    {
        switch (type)
        {
            case WalRecords.Insert:
            case WalRecords.Upsert:
            case WalRecords.InsertFields:
            case WalRecords.UpsertFields:
            {
                long ts, partition;
                RowBatch batch;
                try
                {
                    (ts, partition, batch) = WalRecords.DecodeWrite(Schema, type, payload);
                }
                catch (InvalidDataException ex)
                {
                    throw new CorruptionException(WalFolder, $"a logged write does not fit collection '{Meta.Name}': {ex.Message}");
                }

                Advance(ts);
                return ApplyWrite(ts, partition, batch, WalRecords.IsUpsert(type), replay);
            }

            case WalRecords.DeleteKeys:
            {
                var (ts, partition, keys) = WalRecords.DecodeDeleteKeys(payload);
                Advance(ts);
                var n = 0L;
                foreach (var k in keys)
                {
                    n += DeleteKey(k, partition, ts) ? 1 : 0;
                }

                return n;
            }

            case WalRecords.DeleteFilter:
            {
                var (ts, partition, filter, parametersJson) = WalRecords.DecodeDeleteFilter(payload);
                Advance(ts);
                return ApplyDeleteByFilter(ts, partition, filter, parametersJson);
            }

            default:
                throw new CorruptionException(WalFolder, $"unknown WAL record type {type}");
        }
    }

    private void Advance(long ts)
    {
        if (ts > _appliedTs)
        {
            _appliedTs = ts;
        }
    }

    private long ApplyWrite(long ts, long partitionId, RowBatch batch, bool upsert, bool replay)
    {
        if (partitionId == WalRecords.ByPartitionKey)
        {
            return ApplyByPartitionKey(ts, batch, upsert, replay);
        }

        if (!HasPartitionId(partitionId))
        {
            if (!replay)
            {
                // Writes resolve their partition under the write gate, which a drop holds, so this cannot happen live.
                throw new QuiverException(QuiverErrorCode.NotFound, $"partition {partitionId} of collection '{Meta.Name}' was dropped before the write was applied");
            }

            // Replay of a write whose partition was dropped later: its rows went with the partition, but an upsert's
            // replacement of older rows elsewhere stands, exactly as it did live.
            if (upsert)
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    DeleteKey(batch.Key(i), WalRecords.AllPartitions, ts);
                }
            }

            return 0;
        }

        if (!upsert)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (Lookup(batch.Key(i)) is not null)
                {
                    throw new QuiverException(QuiverErrorCode.AlreadyExists,
                        $"insert rejected, nothing written: row {i}: primary key {batch.Key(i)} already exists in collection '{Meta.Name}' (use upsert to replace it)");
                }
            }
        }
        else
        {
            for (var i = 0; i < batch.Count; i++)
            {
                DeleteKey(batch.Key(i), WalRecords.AllPartitions, ts);
            }
        }

        var done = 0;
        while (done < batch.Count)
        {
            var seg = GrowingFor(partitionId);
            var n = batch.Count - done;
            seg.Append(batch, done, n, ts);
            seg.ChargeGrowing(SegmentSizing.EstimateBytes(batch, done, n));
            if (Schema.PrimaryKey.AutoId)
            {
                for (var i = 0; i < n; i++)
                {
                    if (batch.Key(done + i) is { Str: null } key && key.Int >= _nextAutoId)
                    {
                        _nextAutoId = key.Int + 1;
                    }
                }
            }

            done += n;
            if (NeedsSeal(seg))
            {
                // Frozen at once, not when the flush gets to it: the next rows start a new growing segment, so every
                // sealed segment holds about SegmentSealBytes whatever the flush's timing (which a long compaction can
                // delay), and a growing segment's arrays stay far from their 2^31-element limit. Frozen rows stay
                // searchable; the flush seals them.
                _growing.Remove(partitionId);
                _frozen.Add(seg);
                if (!replay)
                {
                    RequestMaintenance();
                }
            }
        }

        return batch.Count;
    }

    /// <summary>A growing segment is sealed once its rows take <see cref="QuiverOptions.SegmentSealBytes"/>, or number
    /// <see cref="QuiverOptions.SegmentMaxRows"/>.</summary>
    private bool NeedsSeal(Segment seg) =>
        seg.Bytes >= _host.Options.SegmentSealBytes || seg.Count >= _host.Options.SegmentMaxRows;

    private Segment GrowingFor(long partitionId)
    {
        if (!_growing.TryGetValue(partitionId, out var seg))
        {
            seg = Segment.CreateGrowing(_host.AllocateId(), partitionId, Schema, ledger: _host.Memory, vectorChunkBytes: _host.Options.GrowingVectorChunkBytes);
            _growing[partitionId] = seg;
        }

        return seg;
    }

    /// <summary>The live row of <paramref name="key"/>: growing and frozen segments first (their dictionaries, and the
    /// likeliest place of a key being rewritten), then sealed segments newest first, each by binary search over its
    /// mapped key order (O(log rows) each; an Int64 key outside a segment's range costs two reads). Under the apply lock.</summary>
    private RowRef? Lookup(PrimaryKey key)
    {
        foreach (var seg in _growing.Values)
        {
            if (seg.FindLive(key) is >= 0 and var row)
            {
                return new RowRef(seg, row);
            }
        }

        for (var i = _frozen.Count - 1; i >= 0; i--)
        {
            if (_frozen[i].FindLive(key) is >= 0 and var row)
            {
                return new RowRef(_frozen[i], row);
            }
        }

        for (var i = _sealed.Count - 1; i >= 0; i--)
        {
            if (_sealed[i].FindLive(key) is >= 0 and var row)
            {
                return new RowRef(_sealed[i], row);
            }
        }

        return null;
    }

    private bool DeleteKey(PrimaryKey key, long partitionId, long ts)
    {
        if (Lookup(key) is not { } where)
        {
            return false;
        }

        if (partitionId != WalRecords.AllPartitions && where.Segment.PartitionId != partitionId)
        {
            return false;
        }

        where.Segment.MarkDeleted(where.Row, ts);
        return true;
    }

    private long ApplyDeleteByFilter(long ts, long partitionId, string filter, string parametersJson)
    {
        var (parameters, zone) = FilterParameters.FromLogged(parametersJson);
        // Through the plan cache, as the live delete bound it: the same plan object, so a sealed segment's filter cache
        // keeps one bitmap for the delete's count and its apply (and for a query of the same text), not one each.
        var compiled = Plans.Filter(filter, Schema, parameters, zone);
        var pkIndex = Schema.IndexOf(Schema.PrimaryKey.Name);
        long n = 0;
        foreach (var seg in AllSegments())
        {
            if (partitionId != WalRecords.AllPartitions && seg.PartitionId != partitionId)
            {
                continue;
            }

            using var snap = seg.Snapshot();
            var match = Search.QueryExecutor.Allowed(snap, ts - 1, compiled);
            var keys = snap.GetColumn(pkIndex);
            for (var row = match.Next(0); row >= 0; row = match.Next(row + 1))
            {
                var key = keys.Key(row);
                if (DeleteKey(key, partitionId, ts))
                {
                    n++;
                }
            }
        }

        return n;
    }

    private IEnumerable<Segment> AllSegments()
    {
        foreach (var s in _sealed)
        {
            yield return s;
        }

        foreach (var s in _frozen)
        {
            yield return s;
        }

        foreach (var s in _growing.Values)
        {
            yield return s;
        }
    }

    private bool HasPartitionId(long id)
    {
        foreach (var p in Meta.Partitions)
        {
            if (p.Id == id)
            {
                return true;
            }
        }

        return false;
    }

    private void ReleaseAll()
    {
        ReleasePendingMerges();
        foreach (var s in _sealed)
        {
            s.Release();
        }

        foreach (var s in _frozen)
        {
            s.Release();
        }

        foreach (var s in _growing.Values)
        {
            s.Release();
        }

        _sealed.Clear();
        _frozen.Clear();
        _growing.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        StopMaintenance();
        await WaitForIndexJobAsync().ConfigureAwait(false);
        await _maintenanceGate.WaitAsync().ConfigureAwait(false);
        await _writeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_wal is not null)
            {
                await _wal.DisposeAsync().ConfigureAwait(false);
            }

            lock (_applyLock)
            {
                ReleaseAll();
            }
        }
        finally
        {
            _writeGate.Release();
            _maintenanceGate.Release();
        }
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new QuiverException(QuiverErrorCode.Unavailable, $"collection '{Meta.Name}' is closed");
        }
    }

    /// <summary>The parameters of a delete filter as the JSON its log record stores. Throws InvalidArgument naming a
    /// parameter that is NaN or infinite (alone or in a list): JSON has no such numbers, and no row compares to them.</summary>
    internal static string ParametersToJson(IReadOnlyDictionary<string, object?>? parameters)
    {
        if (parameters is null || parameters.Count == 0)
        {
            return "{}";
        }

        foreach (var (name, value) in parameters)
        {
            if (!IsFinite(value))
            {
                Throw.Invalid($"delete rejected: filter parameter '{name}' is not a finite number (NaN and infinity match no row and cannot be logged)");
            }
        }

        try
        {
            return JsonSerializer.Serialize(parameters, JsonLimits.Serializer);
        }
        catch (Exception e) when (e is JsonException or InvalidStringException or InvalidOperationException or NotSupportedException)
        {
            // A value the filter does not use is not checked by the binder, but is logged with the delete.
            Throw.Invalid($"delete rejected: the filter parameters cannot be logged: {e.Message}");
            return "";
        }
    }

    private static bool IsFinite(object? value) => value switch
    {
        double d => double.IsFinite(d),
        float f => float.IsFinite(f),
        string => true,
        System.Collections.IEnumerable list => list.Cast<object?>().All(IsFinite),
        _ => true,
    };
}
