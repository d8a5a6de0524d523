using Quiver.Catalog;
using Quiver.Segments;
using Quiver.Storage;

namespace Quiver.Shards;

internal sealed partial class Shard
{
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _maintenanceSignal = new(0, 1);
    private Task? _maintenanceLoop;

    /// <summary>The last error of background maintenance, if its last run failed (for health reports).</summary>
    public Exception? LastMaintenanceError { get; private set; }

    public void StartMaintenance()
    {
        if (_host.Options.BackgroundMaintenance)
        {
            _maintenanceLoop = Task.Run(MaintenanceLoopAsync);
        }

        // Index files left by a build cut short are incomplete; complete ones load in the background, missing ones build.
        SweepIndexFiles(includeTemporary: true);
        ScheduleIndexWork();
    }

    private void RequestMaintenance()
    {
        try
        {
            if (_maintenanceSignal.CurrentCount == 0)
            {
                _maintenanceSignal.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    private void StopMaintenance()
    {
        _stop.Cancel();
        try
        {
            _maintenanceLoop?.Wait();
        }
        catch (AggregateException)
        {
            // The loop ends by cancellation.
        }
    }

    private async Task MaintenanceLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _maintenanceSignal.WaitAsync(TimeSpan.FromSeconds(1), token).ConfigureAwait(false);
                if (NeedsFlush())
                {
                    await FlushAsync(token).ConfigureAwait(false);
                }

                if (HasReadyMerge())
                {
                    await UnderMaintenanceGateAsync(() => CompleteReadyMergesAsync(token), token).ConfigureAwait(false);
                }

                // One merge a pass, so that a flush waits for at most one merge's work (SegmentMaxBytes of rows), not
                // for a whole backlog; the loop comes straight back while merges remain.
                if (PlanCompaction().Count > 0 && await CompactAsync(maxMerges: 1, token).ConfigureAwait(false) > 0
                    && PlanCompaction().Count > 0)
                {
                    RequestMaintenance();
                }

                RetryFailedIndexBuilds(TimeSpan.FromSeconds(30));

                LastMaintenanceError = null;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Kept for health reports; the next signal retries. Data stays safe in the WAL meanwhile. Any exception,
                // not only I/O: a loop that died would let the WAL grow without bound.
                LastMaintenanceError = ex;
            }
        }
    }

    /// <summary>Whether the shard holds rows in growing or frozen segments (rows a flush would move to mapped files).</summary>
    public bool HasGrowingRows
    {
        get
        {
            lock (_applyLock)
            {
                return _frozen.Count > 0 || _growing.Values.Any(s => s.Count > 0);
            }
        }
    }

    private bool NeedsFlush()
    {
        if (Interlocked.Read(ref _walBytesSinceCheckpoint) >= _host.Options.CheckpointWalBytes)
        {
            return true;
        }

        lock (_applyLock)
        {
            // Growing segments are frozen as they reach the seal size (Shard.ApplyWrite); frozen ones wait for this flush.
            return _frozen.Count > 0;
        }
    }

    /// <summary>Checkpoint: seals every growing segment into a segment file, writes changed delete files, records the
    /// new segment list and WAL position in the manifest, then drops the WAL files before that position. A crash at any
    /// point leaves either the old manifest (with the WAL still holding everything since its checkpoint) or the new one;
    /// files neither names are removed on the next open. A flush that failed (say, on a full disk) leaves its segments
    /// frozen and searchable; the next flush seals them.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await GuardIoAsync("flush", () => CheckpointAsync(drop: null, cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            _maintenanceGate.Release();
        }
    }

    /// <summary>The checkpoint itself; the caller holds the maintenance gate. With <paramref name="drop"/>, the same
    /// manifest write also removes that partition, and writes stay blocked until its rows are gone from memory, so that
    /// no WAL record that touched the partition is ever replayed.</summary>
    private async Task<int> CheckpointAsync(PartitionMeta? drop, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var gateHeld = true;
        try
        {
            lock (_applyLock)
            {
                if (drop is null && _growing.Count == 0 && _frozen.Count == 0 && !AnyDeleteChanges() && _wal.NextLsn == Meta.CheckpointLsn)
                {
                    return 0;
                }
            }

            // Every record before the rotation is durable and applied once this returns, and the gate holds new ones back.
            var checkpointLsn = await _wal.RotateAsync(cancellationToken).ConfigureAwait(false);
            List<Segment> toSeal;
            long nextAutoId;
            long checkpointTs;
            lock (_applyLock)
            {
                _frozen.AddRange(_growing.Values);
                _growing.Clear();
                toSeal = [.. _frozen.Where(f => f.PartitionId != drop?.Id)];
                nextAutoId = _nextAutoId;
                checkpointTs = _appliedTs;
            }

            Interlocked.Exchange(ref _walBytesSinceCheckpoint, 0);
            if (drop is null)
            {
                _writeGate.Release();
                gateHeld = false;
            }

            try
            {
                foreach (var seg in toSeal)
                {
                    SealSegment(seg);
                }

                await PersistSegmentsAsync(checkpointLsn, checkpointTs, nextAutoId, drop, cancellationToken).ConfigureAwait(false);
                if (drop is not null)
                {
                    RemovePartitionData(drop.Id);
                }

                _wal.DeleteFilesBefore(checkpointLsn);
                if (drop is not null)
                {
                    SweepIndexFiles(includeTemporary: false);
                }
            }
            finally
            {
                // Also when a step failed: the segments sealed before it stay sealed and searched (recorded now, or by the
                // next checkpoint), and need their index like any other, or the index reads "in progress" with no build
                // queued to finish it.
                ScheduleIndexWork();
            }

            return toSeal.Count;
        }
        finally
        {
            if (gateHeld)
            {
                _writeGate.Release();
            }
        }
    }

    /// <summary>Runs maintenance I/O, turning file-system failures into the engine's error contract.</summary>
    private async Task<T> GuardIoAsync<T>(string what, Func<Task<T>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new QuiverException(
                Wal.IsDiskFull(ex) ? QuiverErrorCode.Capacity : QuiverErrorCode.Unavailable,
                $"{what} of collection '{Meta.Name}' failed, nothing was lost (the WAL still holds every write): {ex.Message}",
                ex);
        }
    }

    private void SealSegment(Segment seg)
    {
        var rows = new int[seg.Count];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = i;
        }

        if (rows.Length == 0)
        {
            lock (_applyLock)
            {
                _frozen.Remove(seg);
            }

            seg.Release();
            return;
        }

        // A frozen segment takes no more appends, so its vector arrays can be written as they are.
        var batch = seg.Extract(rows, includeVectors: false);
        var vectors = new ReadOnlyMemory<float>[]?[Schema.Fields.Length];
        for (var f = 0; f < vectors.Length; f++)
        {
            if (Schema.Fields[f].IsVector)
            {
                vectors[f] = seg.VectorMemory(f);
            }
        }

        var path = Path.Combine(SegmentFolder, SegmentMeta.SegmentFileName(seg.Id));
        var bytes = SegmentFile.Write(Fs, path, seg.Id, seg.PartitionId, batch, seg.InsertTimestamps(rows), vectors);
        var map = Fs.MapReadOnly(path);
        var mapped = SegmentFile.MapColumns(map, Schema, path);
        lock (_applyLock)
        {
            seg.Seal(mapped, map);
            seg.Bytes = bytes;
            _frozen.Remove(seg);
            _sealed.Add(seg);
            _sealed.Sort((a, b) => a.Id.CompareTo(b.Id));
        }
    }

    private bool AnyDeleteChanges()
    {
        foreach (var s in _sealed)
        {
            if (s.DeleteVersion != s.PersistedDeleteVersion)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Writes delete files for sealed segments whose marks changed, then the manifest naming the current sealed
    /// segments, the checkpoint LSN and the auto-id counter. Old delete files are removed after the manifest is durable.</summary>
    /// <remarks>Only delete marks at or before <paramref name="checkpointTs"/> go into delete files: later ones come from
    /// WAL records after the checkpoint, which under the Interval and Never policies may not be durable yet, and a
    /// durable delete file must not hold half of an upsert whose record a power loss could still take. Those marks are
    /// replayed from the WAL instead, and the segment stays marked for the next checkpoint.</remarks>
    private async Task PersistSegmentsAsync(long checkpointLsn, long checkpointTs, long nextAutoId, PartitionMeta? drop, CancellationToken cancellationToken)
    {
        var updates = new List<(Segment Segment, long Version, string File, string? Old)>();
        List<Segment> sealedNow;
        lock (_applyLock)
        {
            sealedNow = [.. _sealed.Where(s => s.PartitionId != drop?.Id)];
        }

        foreach (var seg in sealedNow)
        {
            List<(int Row, long Ts)> marks;
            long version;
            lock (_applyLock)
            {
                if (seg.DeleteVersion == seg.PersistedDeleteVersion)
                {
                    continue;
                }

                var all = seg.DeleteMarks();
                marks = all.FindAll(m => m.Ts <= checkpointTs);
                version = marks.Count == all.Count ? seg.DeleteVersion : -1;
            }

            // A fresh id per file: two checkpoints may persist different marks at one delete version.
            var file = $"{seg.Id:D20}-{_host.AllocateId():D20}.qdel";
            DeleteFile.Write(Fs, Path.Combine(SegmentFolder, file), seg.Id, marks);
            updates.Add((seg, version, file, seg.DeleteFile));
        }

        var segments = new List<SegmentMeta>(sealedNow.Count);
        foreach (var seg in sealedNow)
        {
            var file = seg.DeleteFile;
            foreach (var u in updates)
            {
                if (u.Segment == seg)
                {
                    file = u.File;
                }
            }

            segments.Add(new SegmentMeta { Id = seg.Id, PartitionId = seg.PartitionId, Rows = seg.Count, DeleteFile = file, Fields = seg.FieldsInFile });
        }

        var partitions = drop is null ? Meta.Partitions : [.. Meta.Partitions.Where(p => p.Id != drop.Id)];
        await PersistMetaAsync(Meta with { Segments = segments, CheckpointLsn = checkpointLsn, NextAutoId = nextAutoId, Partitions = partitions }, cancellationToken).ConfigureAwait(false);
        foreach (var (seg, version, file, old) in updates)
        {
            seg.PersistedDeleteVersion = version;
            seg.DeleteFile = file;
            if (old is not null && old != file)
            {
                Fs.Delete(Path.Combine(SegmentFolder, old));
            }
        }
    }

    private Task PersistMetaAsync(CollectionMeta meta, CancellationToken cancellationToken) =>
        _host.PersistAsync(this, meta, () => Meta = meta, cancellationToken);

    // Environment.TickCount64 of the last write logged (or of the open); read by compaction for its idle rule.
    private long _lastWriteTicks = Environment.TickCount64;

    /// <summary>Whether no write was logged for <see cref="QuiverOptions.CompactionIdleDelay"/>: then compaction also
    /// merges small segments that no size tier would yet.</summary>
    private bool IsIdle()
    {
        var delay = _host.Options.CompactionIdleDelay;
        return delay != Timeout.InfiniteTimeSpan && Environment.TickCount64 - Volatile.Read(ref _lastWriteTicks) >= delay.TotalMilliseconds;
    }

    /// <summary>Groups of sealed segments worth merging (<see cref="SegmentSizing.PlanCompaction"/>), oldest first.</summary>
    private List<List<Segment>> PlanCompaction()
    {
        var idle = IsIdle();
        lock (_applyLock)
        {
            var byId = _sealed.ToDictionary(s => s.Id);

            // Sources of a merge waiting for its indexes are taken. Rows expired by the TTL count as deleted (an expired
            // row may also carry a delete mark; the count is capped at the segment's rows).
            var expireBefore = Search.RowExpiry.ExpireBefore(Search.RowExpiry.TtlMs(Meta.Properties), _host.Options.Time);
            var candidates = _sealed.Where(s => !IsMergeSource(s))
                .Select(s => new SegmentSizing.Candidate(s.Id, s.PartitionId, s.Count,
                    Math.Min(s.Count, s.DeletedCount + Search.RowExpiry.ExpiredRows(s, expireBefore)), s.Bytes)).ToList();
            return [.. SegmentSizing.PlanCompaction(candidates, _host.Options, idle).Select(g => g.Select(c => byId[c.Id]).ToList())];
        }
    }

    /// <summary>Merges small segments and drops deleted rows, and returns once every merge is searched. Each merge writes a
    /// new segment file; when the collection has vector indexes, the merged segment stays out of searches (its sources
    /// answer) until its indexes are built, then replaces its sources in one step (<see cref="CompleteMergeAsync"/>).
    /// Flushes are not held back while the indexes build. Readers holding the old segments keep them until they finish.
    /// Returns the number of merges done.</summary>
    public Task<int> CompactAsync(CancellationToken cancellationToken) => CompactAsync(maxMerges: null, cancellationToken);

    private const int MaxCompactionRounds = 8;

    /// <summary>Compaction of at most <paramref name="maxMerges"/> groups (all when null). The background loop merges one
    /// group a pass and does not wait for its indexes (a later pass swaps it in); an explicit compaction (null) waits for
    /// them, without the maintenance gate, and swaps each merge in before planning the next round.</summary>
    private async Task<int> CompactAsync(int? maxMerges, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var merges = 0;

        // Merged segments can fill the next size tier, so plan again until nothing is left to merge; a few rounds reach
        // the top tier (a tier is F times the last), and the cap ends the loop even if deletes keep arriving during it.
        for (var round = 0; round < MaxCompactionRounds && merges < (maxMerges ?? int.MaxValue); round++)
        {
            var merged = await UnderMaintenanceGateAsync(async () =>
            {
                await CompleteReadyMergesAsync(cancellationToken).ConfigureAwait(false);
                var done = 0;
                foreach (var group in PlanCompaction().Take((maxMerges ?? int.MaxValue) - merges))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await MergeAsync(group, cancellationToken).ConfigureAwait(false);
                    EngineMetrics.Compacted(group.Sum(s => (long)s.Count));
                    done++;
                }

                return done;
            }, cancellationToken).ConfigureAwait(false);
            merges += merged;
            if (merged == 0 || maxMerges is not null)
            {
                break;
            }

            if (await WaitForPendingMergesAsync(cancellationToken).ConfigureAwait(false))
            {
                await UnderMaintenanceGateAsync(() => CompleteReadyMergesAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // An index build of a merged segment failed: its sources keep answering, and maintenance retries it.
                break;
            }
        }

        return merges;
    }

    /// <summary>Runs a compaction step under the maintenance gate with the I/O error contract, then sweeps index files of
    /// segments that left and queues index work for segments that came (also when the step failed part way).</summary>
    private async Task<int> UnderMaintenanceGateAsync(Func<Task<int>> step, CancellationToken cancellationToken)
    {
        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            return await GuardIoAsync("compaction", step).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                SweepIndexFiles(includeTemporary: false);
            }
            finally
            {
                _maintenanceGate.Release();
                ScheduleIndexWork();
            }
        }
    }

    /// <summary>Adds a partition (durably) and returns its id.</summary>
    public async Task CreatePartitionAsync(string name, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (PartitionKeys.KeyField(Schema) is not null)
        {
            Throw.Invalid("disable create partition if partition key mode is used");
        }

        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Meta.Partitions.Any(p => p.Name == name))
            {
                Throw.Exists($"partition '{name}' already exists in collection '{Meta.Name}'");
            }

            if (Meta.Partitions.Count >= CatalogNames.MaxPartitions)
            {
                Throw.Capacity($"collection '{Meta.Name}' already has {CatalogNames.MaxPartitions} partitions");
            }

            var partitions = new List<PartitionMeta>(Meta.Partitions) { new() { Id = _host.AllocateId(), Name = name } };
            await PersistMetaAsync(Meta with { Partitions = partitions }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _maintenanceGate.Release();
        }
    }

    /// <summary>Drops a partition and all its rows, as one checkpoint: after it, no WAL record that touched the partition
    /// is replayed, so recovery cannot disagree with what readers saw.</summary>
    public async Task DropPartitionAsync(string name, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (PartitionKeys.KeyField(Schema) is not null)
        {
            Throw.Invalid("disable drop partition if partition key mode is used");
        }

        if (name == CatalogNames.DefaultPartition)
        {
            Throw.Invalid($"the default partition '{name}' cannot be dropped");
        }

        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var p = Meta.Partitions.FirstOrDefault(x => x.Name == name);
            if (p is null)
            {
                Throw.NotFound($"partition '{name}' does not exist in collection '{Meta.Name}'");
            }

            await GuardIoAsync("drop partition", () => CheckpointAsync(p, cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            _maintenanceGate.Release();
        }
    }

    private void RemovePartitionData(long partitionId)
    {
        var gone = new List<Segment>();
        lock (_applyLock)
        {
            gone.AddRange(_sealed.Where(s => s.PartitionId == partitionId));
            gone.AddRange(_frozen.Where(s => s.PartitionId == partitionId));
            _sealed.RemoveAll(s => s.PartitionId == partitionId);
            _frozen.RemoveAll(s => s.PartitionId == partitionId);
            foreach (var pending in _pendingMerges.Where(m => m.Merged.PartitionId == partitionId).ToList())
            {
                _pendingMerges.Remove(pending);
                gone.Add(pending.Merged);
            }
        }

        foreach (var s in gone)
        {
            if (s.IsSealed)
            {
                Fs.Delete(Path.Combine(SegmentFolder, SegmentMeta.SegmentFileName(s.Id)));
                if (s.DeleteFile is { } df)
                {
                    Fs.Delete(Path.Combine(SegmentFolder, df));
                }
            }

            s.Release();
        }
    }

    /// <summary>Sets and removes collection properties durably (metadata only).</summary>
    public async Task AlterPropertiesAsync(IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string> remove, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        Search.RowExpiry.Validate(set);
        Search.PartitionKeyIsolation.Validate(set, Schema);
        Timestamptz.ValidateProperty(set);
        foreach (var (key, value) in set)
        {
            if (key.StartsWith(SearchRequest.DefaultSearchParamsProperty, StringComparison.Ordinal))
            {
                // Default search parameters act on every search: a bad one must fail here, not at the next search.
                var field = key[SearchRequest.DefaultSearchParamsProperty.Length..];
                if (Schema.IndexOf(field) is var fi && (fi < 0 || !Schema.Fields[fi].IsVector))
                {
                    Throw.Invalid($"collection property '{key}': '{field}' is not a vector field of collection '{Meta.Name}'");
                }

                Indexing.AnnSearchParams.Parse(Indexing.IndexParameters.FromJson(value, $"collection property '{key}'"));
            }
        }

        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Search.PartitionKeyIsolation.CheckChange(Meta, set, remove);
            var properties = new Dictionary<string, string>(Meta.Properties, StringComparer.Ordinal);
            foreach (var key in remove)
            {
                properties.Remove(key);
            }

            foreach (var (key, value) in set)
            {
                properties[key] = value;
            }

            await PersistMetaAsync(Meta with { Properties = properties }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _maintenanceGate.Release();
        }
    }

    /// <summary>Renames the collection (metadata only).</summary>
    public async Task RenameAsync(string database, string name, CancellationToken cancellationToken)
    {
        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await PersistMetaAsync(Meta with { Database = database, Name = name }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _maintenanceGate.Release();
        }
    }
}
