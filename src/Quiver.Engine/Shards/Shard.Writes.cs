using Quiver.Catalog;
using Quiver.Filtering;
using Quiver.Writes;
using Quiver.Segments;

namespace Quiver.Shards;

internal sealed partial class Shard
{
    /// <summary>Inserts or upserts a batch into a partition. The batch is validated as a whole first; then, under the
    /// write gate, keys are checked against the index (an early, friendly refusal), a timestamp is taken and the record
    /// queued on the WAL. The call returns once the record is durable (per the fsync policy) and applied; the apply step
    /// re-checks key uniqueness, so two racing inserts of one key cannot both succeed.</summary>
    public Task<MutationResult> WriteAsync(
        IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition, bool upsert, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        CheckWritePartition(partition);
        return WriteBatchAsync(RowValidator.Build(Schema, rows, upsert, AllocateAutoIds, Timestamptz.Resolve(null, Meta.Properties)), partition, upsert, cancellationToken);
    }

    /// <summary>Writes a column batch, checked by the same rules as rows (<see cref="ColumnValidator"/>).</summary>
    public Task<MutationResult> WriteAsync(ColumnBatch columns, string? partition, bool upsert, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        CheckWritePartition(partition);
        return WriteBatchAsync(ColumnValidator.Build(Schema, columns, upsert, AllocateAutoIds, Timestamptz.Resolve(null, Meta.Properties)), partition, upsert, cancellationToken);
    }

    private async Task<MutationResult> WriteBatchAsync(RowBatch batch, string? partition, bool upsert, CancellationToken cancellationToken)
    {
        // A partition-key collection routes each row by its key when the record is applied (PartitionKeys).
        var byKey = PartitionKeys.KeyField(Schema) is not null;
        var partitionId = byKey ? WalRecords.ByPartitionKey : ResolvePartition(partition);
        var keys = new object[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            keys[i] = batch.Key(i).Boxed;
        }

        // An insert whose keys' old rows have all expired by the TTL replaces them: it is logged and applied as an upsert,
        // so replay does the same whatever the clock or the TTL then say (see RefuseExistingKeys).
        var replace = upsert;

        // The memory budget: a batch that would not fit beside what the engine holds first has every growing segment
        // sealed; the reservation itself is made under the gate (below), after the last change to the batch. A write that
        // finds no room there while some of what takes it could still be sealed (rows other writes added meanwhile) seals
        // again and retries, so that it is refused only when the room is taken by what sealing cannot free.
        var memory = _host.Memory;
        if (!memory.Fits(SegmentSizing.EstimateBytes(batch, 0, batch.Count)))
        {
            await _host.RelieveMemoryAsync(this, cancellationToken).ConfigureAwait(false);
        }

        return await WithinBudgetAsync(
            (attempt, held) =>
                // The live path applies the batch it already has; replay decodes the same bytes into an equal batch.
                LogAndApplyAsync(
                    () => replace ? WalRecords.UpsertFields : WalRecords.InsertFields,
                    ts => WalRecords.EncodeWrite(ts, partitionId, batch),
                    (ts, _) =>
                    {
                        long applied;
                        lock (_applyLock)
                        {
                            Advance(ts);
                            applied = ApplyWrite(ts, partitionId, batch, replace, replay: false);
                            Interlocked.Add(ref _rowsInFlight, -Interlocked.Exchange(ref held.Rows, 0));
                        }

                        // The rows are charged to their growing segment now: the reservation that stood for them goes at
                        // once, not when the caller resumes, so that no other write meanwhile sees them counted twice.
                        memory.Release(Interlocked.Exchange(ref held.Bytes, 0));
                        return applied;
                    },
                    keys,
                    () =>
                    {
                        // Resolved again under the gate: a partition dropped since the first look must not get a record logged,
                        // so that on replay an unknown partition always means "dropped after this record was applied".
                        partitionId = byKey ? WalRecords.ByPartitionKey : ResolvePartition(partition);
                        batch = Segments.AddedFields.Widen(batch, Schema);
                        RefuseZeroVectorsIfRebound(batch);
                        if (!upsert)
                        {
                            replace = RefuseExistingKeys(batch);
                        }

                        // Last: nothing after it refuses, so a reservation is never left behind by a refusal of this step.
                        held.Bytes = ReserveMemory(batch, upsert, replace, lastAttempt: attempt == MaxMemoryAttempts);
                        held.Rows = batch.Count;
                        Interlocked.Add(ref _rowsInFlight, held.Rows);
                    },
                    cancellationToken),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What one attempt of a write or delete holds until it applies: the bytes reserved in the memory budget and
    /// the rows counted in <see cref="_rowsInFlight"/>. The apply takes them over (exchanging them for 0); whatever is left
    /// when the attempt ends (a refusal, a failure, a retry) is given back by <see cref="WithinBudgetAsync"/>.</summary>
    private sealed class Held
    {
        public long Bytes;
        public long Rows;
    }

    /// <summary>Runs <paramref name="attempt"/> (numbered from 1) until it returns or refuses: after a
    /// <see cref="MemoryShortException"/> the growing segments are sealed and it runs again, up to
    /// <see cref="MaxMemoryAttempts"/> (the attempt refuses on the last). What an attempt still holds when it ends is
    /// released then.</summary>
    private async Task<MutationResult> WithinBudgetAsync(Func<int, Held, Task<MutationResult>> attempt, CancellationToken cancellationToken)
    {
        for (var n = 1; ; n++)
        {
            var held = new Held();
            try
            {
                return await attempt(n, held).ConfigureAwait(false);
            }
            catch (MemoryShortException)
            {
                await _host.RelieveMemoryAsync(this, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (Interlocked.Exchange(ref held.Bytes, 0) is var left and not 0)
                {
                    _host.Memory.Release(left);
                }

                if (Interlocked.Exchange(ref held.Rows, 0) is var rows and not 0)
                {
                    Interlocked.Add(ref _rowsInFlight, -rows);
                }
            }
        }
    }

    /// <summary>Rows of writes admitted under the write gate and not yet applied: a delete admitted now may find them when
    /// it applies, so its reservation of delete marks counts them (<see cref="ReserveDeleteMarks"/>).</summary>
    private long _rowsInFlight;

    /// <summary>How many times a write that finds no room seals the growing segments and tries again before it is refused
    /// anyway: a bound on the rounds a write can lose to other writers filling the room it made, so that none waits
    /// without end.</summary>
    private const int MaxMemoryAttempts = 32;

    /// <summary>Thrown under the write gate when a write's rows do not fit now but would once the growing rows are
    /// sealed; the write seals them and tries again.</summary>
    private sealed class MemoryShortException : Exception;

    /// <summary>Reserves the memory the batch's rows will take in growing segments. When they do not fit: refuses the
    /// write whole with <see cref="MemoryQuotaExceededException"/> if sealing every growing row would not make room
    /// either (what holds the budget then is indexes, delete marks, merges and other writes in flight) or on the
    /// <paramref name="lastAttempt"/>; otherwise throws <see cref="MemoryShortException"/> for the caller to seal and try
    /// again. Runs under the write gate.
    /// <para>A write that <paramref name="replace"/>s (an upsert, or an insert over expired rows) also reserves the delete
    /// mark each of its rows may put on the row its key had (<see cref="Segment.DeleteMarkBytes"/>), as a delete does:
    /// first one per row of the batch, and when that does not fit, the marks counted (<see cref="ReplacedRows"/>).</para></summary>
    private long ReserveMemory(RowBatch batch, bool upsert, bool replace, bool lastAttempt)
    {
        var memory = _host.Memory;
        var rowBytes = SegmentSizing.EstimateBytes(batch, 0, batch.Count);
        long marks = replace ? batch.Count : 0;
        var bytes = rowBytes + (marks * Segment.DeleteMarkBytes);
        if (memory.TryReserve(bytes))
        {
            return bytes;
        }

        if (replace)
        {
            marks = ReplacedRows(batch);
            bytes = rowBytes + (marks * Segment.DeleteMarkBytes);
            if (memory.TryReserve(bytes))
            {
                return bytes;
            }
        }

        if (!lastAttempt && memory.FitsWithoutGrowing(bytes))
        {
            throw new MemoryShortException();
        }

        var detail = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{(upsert ? "upsert" : "insert")} of {batch.Count} rows ({rowBytes} bytes in memory{(marks > 0 ? $", and {marks * Segment.DeleteMarkBytes} bytes of delete marks for the rows it may replace" : "")}) into collection '{Meta.Name}' refused, nothing written: {MemoryHeld(memory)} after sealing its growing segments; write smaller batches, drop an index or a collection, compact deleted rows away, or raise MemoryBudgetBytes");
        throw new MemoryQuotaExceededException(detail, bytes, memory.UsedBytes + memory.ReservedBytes, memory.BudgetBytes);
    }

    /// <summary>The delete marks a replacing write of <paramref name="batch"/> may add when it applies: its keys that have a
    /// row now, its rows whose key an earlier row of the batch also names (that row is replaced in turn), and the rows of
    /// writes admitted before it and not yet applied (which may hold its keys); at most one per row of the batch.</summary>
    private long ReplacedRows(RowBatch batch)
    {
        long marks = 0;
        var seen = new HashSet<PrimaryKey>(batch.Count);
        lock (_applyLock)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var key = batch.Key(i);
                if (!seen.Add(key) || Lookup(key) is not null)
                {
                    marks++;
                }
            }
        }

        return Math.Min(batch.Count, marks + Volatile.Read(ref _rowsInFlight));
    }

    /// <summary>What the engine holds against its memory budget, by kind, for refusal messages.</summary>
    private static string MemoryHeld(Common.MemoryLedger memory)
    {
        var growing = memory.GrowingBytes;
        var index = memory.IndexBytes + memory.ScalarIndexBytes + memory.FilterCacheBytes;
        var marks = memory.DeleteMarkBytes;
        var merges = memory.MergeBytes;
        var reserved = memory.ReservedBytes;
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"the engine holds {growing + index + marks + merges + reserved} bytes (growing rows {growing}, in-memory indexes {index}, delete marks {marks}, merges {merges}, reserved by writes in flight and index builds {reserved}) of its memory budget of {memory.BudgetBytes} bytes");
    }

    /// <summary>A write's partition: it must exist, and a partition-key collection takes none (Milvus's refusal).</summary>
    private void CheckWritePartition(string? partition)
    {
        if (PartitionKeys.KeyField(Schema) is null)
        {
            ResolvePartition(partition);
        }
        else if (partition is not null)
        {
            Throw.Invalid(PartitionKeys.NamesRefused);
        }
    }

    /// <summary>Refuses an insert naming a key that has a visible row. A key whose row has expired by the collection's TTL
    /// but is not compacted yet does not count: Milvus never checks inserted keys against stored rows, and the expired
    /// row is invisible, so there the insert simply succeeds. Returns whether some key has such an expired row (the
    /// insert must then replace it, as an upsert does).</summary>
    private bool RefuseExistingKeys(RowBatch batch)
    {
        var expireBefore = Search.RowExpiry.ExpireBefore(Search.RowExpiry.TtlMs(Meta.Properties), _host.Options.Time);
        var replacesExpired = false;
        lock (_applyLock)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (Lookup(batch.Key(i)) is not { } where)
                {
                    continue;
                }

                if (!Search.RowExpiry.IsExpired(where.Segment.InsertTsOf(where.Row), expireBefore))
                {
                    Throw.Exists($"insert rejected, nothing written: row {i}: primary key {batch.Key(i)} already exists in collection '{Meta.Name}' (use upsert to replace it)");
                }

                replacesExpired = true;
            }
        }

        return replacesExpired;
    }

    /// <summary>Deletes rows by primary key; keys that do not exist are ignored. Returns the number deleted.</summary>
    public async Task<MutationResult> DeleteAsync(IReadOnlyList<object> keys, string? partition, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var partitionId = partition is null ? WalRecords.AllPartitions : ResolvePartition(partition);
        Action? recheck = partition is null ? null : () => partitionId = ResolvePartition(partition);
        var pk = Schema.PrimaryKey;
        var parsed = new List<PrimaryKey>(keys.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i] is null)
            {
                Throw.Invalid($"delete rejected, nothing written: key {i} is null");
            }

            parsed.Add(PrimaryKey.From(pk, keys[i], $"delete rejected, nothing written: key {i}"));
        }

        if (parsed.Count == 0)
        {
            Throw.Invalid("delete rejected: no primary keys given");
        }

        var distinct = new HashSet<PrimaryKey>(parsed);
        return await DeleteWithinBudgetAsync(
            WalRecords.DeleteKeys,
            ts => WalRecords.EncodeDeleteKeys(ts, partitionId, parsed),
            keys,
            recheck,
            upperBound: () => distinct.Count,
            count: () =>
            {
                var live = 0L;
                foreach (var key in distinct)
                {
                    if (Lookup(key) is { } where && (partitionId == WalRecords.AllPartitions || where.Segment.PartitionId == partitionId))
                    {
                        live++;
                    }
                }

                return Math.Min(distinct.Count, live + Volatile.Read(ref _rowsInFlight));
            },
            describe: marks => $"delete of {distinct.Count} primary keys ({marks} with a live row or rows of writes in flight",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the rows matching a filter expression, evaluated when the delete is applied, so that it sees
    /// every write logged before it. Returns the number deleted.</summary>
    public async Task<MutationResult> DeleteAsync(string filter, IReadOnlyDictionary<string, object?>? parameters, string? partition, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (string.IsNullOrWhiteSpace(filter))
        {
            Throw.Invalid("delete rejected: an empty filter would delete every row; give a filter or primary keys");
        }

        var partitionId = partition is null ? WalRecords.AllPartitions : ResolvePartition(partition);
        Action? recheck = partition is null ? null : () => partitionId = ResolvePartition(partition);
        // Bind now so that a bad expression is refused before anything is logged: first with the caller's values, which
        // refuses values nested too deep to serialize (FilterLimits.MaxTemplateValueDepth), then as they will be
        // replayed, from the logged JSON. Through the plan cache: a repeated delete filter is not parsed again.
        // ISO literals without an offset are read in the collection's time zone, which is logged with the filter (under a
        // key no template parameter can have) so that replay reads them as the live delete did, whatever the zone is then.
        var zone = Timestamptz.Resolve(null, Meta.Properties);
        _ = Plans.Filter(filter, Schema, parameters, zone);
        var parametersJson = ParametersToJson(FilterParameters.WithZone(parameters, zone));
        var (logged, loggedZone) = FilterParameters.FromLogged(parametersJson);
        var bound = Plans.Filter(filter, Schema, logged, loggedZone);
        return await DeleteWithinBudgetAsync(
            WalRecords.DeleteFilter,
            ts => WalRecords.EncodeDeleteFilter(ts, partitionId, filter, parametersJson),
            [],
            recheck,
            upperBound: () =>
            {
                var live = 0L;
                foreach (var seg in AllSegments())
                {
                    if (partitionId == WalRecords.AllPartitions || seg.PartitionId == partitionId)
                    {
                        live += seg.Count - seg.DeletedCount;
                    }
                }

                return live + Volatile.Read(ref _rowsInFlight);
            },
            count: () =>
            {
                var matched = 0L;
                foreach (var seg in AllSegments())
                {
                    if (partitionId == WalRecords.AllPartitions || seg.PartitionId == partitionId)
                    {
                        using var snap = seg.Snapshot();
                        matched += Search.QueryExecutor.Allowed(snap, Segment.NotDeleted - 1, bound).Count;
                    }
                }

                return matched + Volatile.Read(ref _rowsInFlight);
            },
            describe: marks => $"delete by filter '{filter}' ({marks} rows matching it or rows of writes in flight",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Logs and applies a delete whose delete marks fit the memory budget. Under the write gate, after
    /// <paramref name="recheck"/>, it reserves <see cref="Segment.DeleteMarkBytes"/> for every mark it may add
    /// (<see cref="ReserveDeleteMarks"/>); the reservation goes once the marks are charged, as they apply. When they do not
    /// fit but would once the growing segments were sealed, it seals them and tries again (as a write does); otherwise
    /// it is refused with <see cref="MemoryQuotaExceededException"/> before anything is logged.</summary>
    private async Task<MutationResult> DeleteWithinBudgetAsync(
        byte type, Func<long, ReadOnlyMemory<byte>> encode, IReadOnlyList<object> keys, Action? recheck, Func<long> upperBound, Func<long> count,
        Func<long, string> describe, CancellationToken cancellationToken)
    {
        var memory = _host.Memory;
        return await WithinBudgetAsync(
            (attempt, held) => LogAndApplyAsync(
                type,
                encode,
                (_, payload) =>
                {
                    long applied;
                    lock (_applyLock)
                    {
                        applied = Apply(type, payload.Span, replay: false);
                    }

                    memory.Release(Interlocked.Exchange(ref held.Bytes, 0));
                    return applied;
                },
                keys,
                () =>
                {
                    recheck?.Invoke();
                    held.Bytes = ReserveDeleteMarks(upperBound, count, describe, lastAttempt: attempt == MaxMemoryAttempts);
                },
                cancellationToken),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reserves the delete marks a delete may add, under the write gate. First the cheap bound
    /// (<paramref name="upperBound"/>: the keys named, or every live row of the partitions a filter reads, plus the rows
    /// of writes in flight); when that does not fit, the marks counted (<paramref name="count"/>, under the apply lock:
    /// keys with a live row, or rows the filter matches now, plus the rows of writes admitted before it and not yet
    /// applied, which it may also find). A delete that marks nothing reserves nothing. When even the count does not fit:
    /// <see cref="MemoryShortException"/> if sealing the growing rows would make room (and this is not the
    /// <paramref name="lastAttempt"/>), else the refusal.</summary>
    private long ReserveDeleteMarks(Func<long> upperBound, Func<long> count, Func<long, string> describe, bool lastAttempt)
    {
        var memory = _host.Memory;
        long marks;
        lock (_applyLock)
        {
            marks = upperBound();
        }

        if (marks == 0 || memory.TryReserve(marks * Segment.DeleteMarkBytes))
        {
            return marks * Segment.DeleteMarkBytes;
        }

        lock (_applyLock)
        {
            marks = count();
        }

        var bytes = marks * Segment.DeleteMarkBytes;
        if (marks == 0 || memory.TryReserve(bytes))
        {
            return bytes;
        }

        if (!lastAttempt && memory.FitsWithoutGrowing(bytes))
        {
            throw new MemoryShortException();
        }

        var detail = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{describe(marks)}: {bytes} bytes of delete marks) from collection '{Meta.Name}' refused, nothing deleted: {MemoryHeld(memory)} after sealing its growing segments; compact deleted rows away (a merge drops their marks), drop an index or a collection, delete fewer rows at a time, or raise MemoryBudgetBytes");
        throw new MemoryQuotaExceededException(detail, bytes, memory.UsedBytes + memory.ReservedBytes, memory.BudgetBytes);
    }

    /// <summary>Under the write gate: runs <paramref name="precheck"/>, takes the timestamp, queues the record; then waits
    /// until it is durable and applied. The gate keeps timestamps in WAL order.</summary>
    private Task<MutationResult> LogAndApplyAsync(
        byte type, Func<long, ReadOnlyMemory<byte>> encode, Func<long, ReadOnlyMemory<byte>, long> apply, IReadOnlyList<object> keys, Action? precheck,
        CancellationToken cancellationToken) =>
        LogAndApplyAsync(() => type, encode, apply, keys, precheck, cancellationToken);

    /// <summary>As above, with the record type decided after <paramref name="precheck"/> ran.</summary>
    private async Task<MutationResult> LogAndApplyAsync(
        Func<byte> typeAfterCheck, Func<long, ReadOnlyMemory<byte>> encode, Func<long, ReadOnlyMemory<byte>, long> apply, IReadOnlyList<object> keys,
        Action? precheck, CancellationToken cancellationToken)
    {
        Task<long> pending;
        long ts;
        byte type;
        long applied = 0;
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            precheck?.Invoke();
            type = typeAfterCheck();
            ts = _host.Clock.Next();
            Volatile.Write(ref _lastWriteTicks, Environment.TickCount64);
            var payload = encode(ts);
            Interlocked.Add(ref _walBytesSinceCheckpoint, payload.Length);
            pending = _wal.AppendAsync(type, payload, _ => applied = apply(ts, payload), cancellationToken);
        }
        finally
        {
            _writeGate.Release();
        }

        await pending.ConfigureAwait(false);
        EngineMetrics.Written(applied, delete: type is WalRecords.DeleteKeys or WalRecords.DeleteFilter);
        return new MutationResult { Count = applied, Keys = keys, Timestamp = ts };
    }

    private Func<long, ReadOnlyMemory<byte>, long> ApplyLogged(byte type) => (_, payload) =>
    {
        lock (_applyLock)
        {
            return Apply(type, payload.Span, replay: false);
        }
    };

    private long AllocateAutoIds(int count)
    {
        lock (_applyLock)
        {
            var first = _nextAutoId;
            _nextAutoId += count;
            return first;
        }
    }

    private long ResolvePartition(string? name)
    {
        name ??= CatalogNames.DefaultPartition;
        foreach (var p in Meta.Partitions)
        {
            if (p.Name == name)
            {
                return p.Id;
            }
        }

        Throw.NotFound($"partition '{name}' does not exist in collection '{Meta.Name}'");
        return 0;
    }
}
