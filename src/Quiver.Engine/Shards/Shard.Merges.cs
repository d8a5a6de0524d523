using System.Globalization;
using Quiver.Catalog;
using Quiver.Segments;

namespace Quiver.Shards;

/// <summary>Merges of sealed segments (compaction), as Milvus hands a compacted segment off: the merged segment is written
/// and opened, then kept out of searches, its sources still answering, until every vector index of the collection is
/// built for it; then one step under the apply lock puts it in their place and one manifest write records that. Deletes
/// that reach the sources meanwhile are journaled by the sources (<see cref="Segment.StartDeleteJournal"/>) and carried
/// over to the merged rows, so the swap costs O(deletes since the last carry) under the lock, never O(rows): keys need no
/// re-pointing, since each segment answers for its own keys (<see cref="Segment.FindLive"/>).
/// <para>Crash safety: until the manifest names the merged segment, recovery opens the sources and removes the merged
/// file and its index files (named by no manifest); once it does, the merged segment's index files are already durable,
/// and its delete file holds every mark whose WAL record was durable at the swap, the rest being replayed from the WAL.</para></summary>
internal sealed partial class Shard
{
    // Guarded by _applyLock; changed under the maintenance gate.
    private readonly List<PendingMerge> _pendingMerges = [];

    /// <summary>Merges written and waiting for their indexes before they are searched (for tests and health reports).</summary>
    internal int PendingMergeCount
    {
        get
        {
            lock (_applyLock)
            {
                return _pendingMerges.Count;
            }
        }
    }

    /// <summary>The host's index build queue (tests hold it to keep a merge pending).</summary>
    internal Indexing.IndexBuildScheduler IndexBuilds => _host.IndexBuilds;

    /// <summary>A merge written but not yet searched: the merged segment, its sources, where each kept source row went,
    /// and how far each source's delete journal has been carried over.</summary>
    private sealed class PendingMerge(Segment merged, List<Segment> sources, int[][] mergedRowOf)
    {
        public Segment Merged { get; } = merged;

        public List<Segment> Sources { get; } = sources;

        /// <summary>Per source, per source row: the merged row, or -1 for a row the merge dropped.</summary>
        public int[][] MergedRowOf { get; } = mergedRowOf;

        public int[] JournalRead { get; } = new int[sources.Count];
    }

    private async Task MergeAsync(List<Segment> sources, CancellationToken cancellationToken)
    {
        // Rows are dropped only for deletes whose WAL records are durable (a rotation syncs everything before it): under
        // the Interval and Never policies a later delete could still be lost to a power cut, and its row must survive it.
        // Every later mark goes to the sources' delete journals, started in the same step.
        var durableTs = await RotateWalAsync(() => sources.ForEach(s => s.StartDeleteJournal()), cancellationToken).ConfigureAwait(false);

        try
        {
            await WriteMergeAsync(sources, durableTs, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // A merge that failed before it was pending leaves its sources as they were; a pending one is retried.
            lock (_applyLock)
            {
                foreach (var s in sources)
                {
                    if (!IsMergeSource(s))
                    {
                        s.StopDeleteJournal();
                    }
                }
            }

            throw;
        }
    }

    /// <summary>Rotates the WAL, which makes every record before it durable and applied, and returns the timestamp applied
    /// by then; <paramref name="alsoUnderLock"/> runs in the same apply-lock step, before any later record applies.</summary>
    private async Task<long> RotateWalAsync(Action? alsoUnderLock, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _wal.RotateAsync(cancellationToken).ConfigureAwait(false);
            lock (_applyLock)
            {
                alsoUnderLock?.Invoke();
                return _appliedTs;
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Copies the rows of the sources that are live at <paramref name="durableTs"/> into a new segment file, opens
    /// it and makes it pending; swaps it in at once when there is no vector index to wait for (or no row left). A swap
    /// that fails leaves it pending, to be completed by the next compaction or maintenance pass.</summary>
    private async Task WriteMergeAsync(List<Segment> sources, long durableTs, CancellationToken cancellationToken)
    {
        // The copy runs without the apply lock, so that reads and the WAL's apply step never wait for it (it is the
        // whole of the rows, vectors included): a sealed segment's rows never change, and it stays in the shard while
        // the merge is written or pending (the planner skips merge sources). Only delete marks move: a mark at or before
        // durableTs was applied before the journals started, so it is seen here; every later one is in a journal.
        // Memory: the merged rows once (vectors copied straight into the arrays the file is written from, at most
        // SegmentMaxBytes of live rows by the plan), plus the scalar columns a second time while they are concatenated
        // and encoded; sources stay mapped, not loaded.
        var kept = new List<int[]>(sources.Count);
        var mergedRowOf = new int[sources.Count][];
        var total = 0;

        // Rows expired by the collection's TTL are dropped like deleted ones (no read sees them already).
        var expireBefore = Search.RowExpiry.ExpireBefore(Search.RowExpiry.TtlMs(Meta.Properties), _host.Options.Time);
        for (var i = 0; i < sources.Count; i++)
        {
            var s = sources[i];
            var rows = new List<int>(s.Count - s.DeletedCount);
            var map = new int[s.Count];
            var live = s.LiveAt(durableTs);
            for (var r = 0; r < s.Count; r++)
            {
                map[r] = -1;
                if (live[r] && !Search.RowExpiry.IsExpired(s.InsertTsOf(r), expireBefore))
                {
                    map[r] = total++;
                    rows.Add(r);
                }
            }

            kept.Add([.. rows]);
            mergedRowOf[i] = map;
        }

        if (total == 0)
        {
            await CompleteMergeAsync(sources, null, cancellationToken).ConfigureAwait(false);
            return;
        }

        var id = _host.AllocateId();
        var path = Path.Combine(SegmentFolder, SegmentMeta.SegmentFileName(id));
        if (_host.Options.MergesElsewhere is { } elsewhere)
        {
            // A cluster's shard: the rows are copied on whichever node takes the merge (docs/cluster.md, "Compaction as
            // work"), which hands back the file at `path`; it is opened and checked below as any segment file is, and
            // every delete rule stays here (the kept rows were chosen above, later marks are carried below).
            await elsewhere(MergeElsewhere(sources, kept, id, path), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // The rows gathered in memory count against the engine's budget while the file is written; a merge that does
            // not fit waits (the background loop retries it on a later pass, an explicit compaction is refused).
            var held = HoldMergeMemory(sources, kept);
            try
            {
                SegmentMerge.Write(Fs, path, Schema, id, sources[0].PartitionId, sources, kept);
            }
            finally
            {
                _host.Memory.AddMerge(-held);
            }
        }

        // Opening sets the segment's size (the same figure the write returns).
        var merged = SegmentFile.Open(Fs, path, Schema, id);
        merged.ChargeTo(_host.Memory);
        if (merged.Count != total)
        {
            merged.Release();
            Fs.Delete(path);
            throw new CorruptionException(path, string.Create(CultureInfo.InvariantCulture, $"the merged segment holds {merged.Count} rows, not the {total} kept"));
        }

        var pending = new PendingMerge(merged, sources, mergedRowOf);
        CarryDeletes(pending);
        lock (_applyLock)
        {
            _pendingMerges.Add(pending);
        }

        if (Meta.Indexes.Count == 0)
        {
            await CompleteMergeAsync(sources, pending, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What a writer elsewhere needs to write the merge of <paramref name="sources"/> as this shard would
    /// (<see cref="QuiverOptions.MergesElsewhere"/>).</summary>
    private SegmentMerge MergeElsewhere(List<Segment> sources, List<int[]> kept, long id, string path) => new()
    {
        Schema = Schema,
        Sources = [.. sources.Select((s, i) => new SegmentMergeSource
        {
            Path = Path.Combine(SegmentFolder, SegmentMeta.SegmentFileName(s.Id)),
            Id = s.Id,
            FieldsInFile = s.FieldsInFile,
            Kept = kept[i],
        })],
        MergedId = id,
        PartitionId = sources[0].PartitionId,
        MergedPath = path,
    };

    /// <summary>Charges the rows a merge gathers in memory (each source's bytes in the share of its rows kept) to the
    /// engine's memory budget and returns them, or refuses the merge with <see cref="MemoryQuotaExceededException"/> when
    /// they do not fit beside what the engine holds.</summary>
    private long HoldMergeMemory(List<Segment> sources, List<int[]> kept)
    {
        long bytes = 0;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i].Count > 0)
            {
                bytes += (long)Math.Ceiling(sources[i].Bytes * (double)kept[i].Length / sources[i].Count);
            }
        }

        var memory = _host.Memory;
        if (memory.TryAddMerge(bytes))
        {
            return bytes;
        }

        var detail = string.Create(CultureInfo.InvariantCulture,
            $"merge of {sources.Count} segments of collection '{Meta.Name}' ({bytes} bytes of rows in memory) deferred: {MemoryHeld(memory)}; it is retried by background maintenance");
        throw new MemoryQuotaExceededException(detail, bytes, memory.UsedBytes + memory.ReservedBytes, memory.BudgetBytes);
    }

    /// <summary>Marks on the merged rows the deletes journaled by the sources since the last carry. O(those marks). The
    /// merged segment is not searched yet, or the caller holds the apply lock.</summary>
    private static void CarryDeletes(PendingMerge pending)
    {
        var marks = new List<(int Row, long Ts)>();
        for (var i = 0; i < pending.Sources.Count; i++)
        {
            marks.Clear();
            pending.JournalRead[i] = pending.Sources[i].ReadDeleteJournal(pending.JournalRead[i], marks);
            var map = pending.MergedRowOf[i];
            foreach (var (row, ts) in marks)
            {
                if (map[row] >= 0)
                {
                    pending.Merged.MarkDeleted(map[row], ts);
                }
            }
        }
    }

    /// <summary>True when a merge waits for nothing more: every index of the collection is attached to its segment.</summary>
    private bool IsReady(PendingMerge pending)
    {
        foreach (var index in Meta.Indexes)
        {
            if (pending.Merged.AttachedIndexId(Schema.IndexOf(index.FieldName)) != index.Id)
            {
                return false;
            }
        }

        return true;
    }

    private bool HasReadyMerge()
    {
        lock (_applyLock)
        {
            return _pendingMerges.Any(IsReady);
        }
    }

    /// <summary>Whether <paramref name="seg"/> is a source of a pending merge. Under the apply lock.</summary>
    private bool IsMergeSource(Segment seg)
    {
        foreach (var pending in _pendingMerges)
        {
            if (pending.Sources.Contains(seg))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether <paramref name="seg"/> is the segment of a pending merge. Under the apply lock.</summary>
    private bool IsPendingMerge(Segment seg) => _pendingMerges.Any(p => p.Merged == seg);

    /// <summary>Swaps in every pending merge whose indexes are built. The caller holds the maintenance gate.</summary>
    private async Task<int> CompleteReadyMergesAsync(CancellationToken cancellationToken)
    {
        List<PendingMerge> ready;
        lock (_applyLock)
        {
            ready = [.. _pendingMerges.Where(IsReady)];
        }

        foreach (var pending in ready)
        {
            await CompleteMergeAsync(pending.Sources, pending, cancellationToken).ConfigureAwait(false);
        }

        return ready.Count;
    }

    /// <summary>Waits, without any gate, until every pending merge is ready (true) or one's index build failed with no
    /// retry queued (false). Throws when the shard closes or the token is cancelled.</summary>
    private async Task<bool> WaitForPendingMergesAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ThrowIfDisposed();
            List<PendingMerge> waiting;
            lock (_applyLock)
            {
                waiting = [.. _pendingMerges.Where(p => !IsReady(p))];
            }

            if (waiting.Count == 0)
            {
                return true;
            }

            foreach (var pending in waiting)
            {
                foreach (var index in Meta.Indexes)
                {
                    if (_indexErrors.ContainsKey((index.Id, pending.Merged.Id)) && !_host.IndexBuilds.IsPending(JobKey(index.Id, pending.Merged.Id)))
                    {
                        return false;
                    }
                }
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Puts <paramref name="pending"/>'s segment (none when no row was left) in place of
    /// <paramref name="sources"/>: writes the merged segment's delete file with every mark whose WAL record is durable
    /// (rotating the WAL first), then under the apply lock carries the last journaled deletes and swaps the segment lists,
    /// then records the new list in the manifest and deletes the sources' files. The caller holds the maintenance gate.</summary>
    private async Task CompleteMergeAsync(List<Segment> sources, PendingMerge? pending, CancellationToken cancellationToken)
    {
        var merged = pending?.Merged;
        if (pending is not null && merged is not null)
        {
            // A checkpoint may have persisted source marks and moved the WAL's replay point since the merge began, so the
            // merged segment's marks must be durable with it: those of records before a rotation are.
            var durableTs = await RotateWalAsync(null, cancellationToken).ConfigureAwait(false);
            CarryDeletes(pending);
            var all = merged.DeleteMarks();
            var marks = all.FindAll(m => m.Ts <= durableTs);
            if (marks.Count > 0)
            {
                var file = $"{merged.Id:D20}-{_host.AllocateId():D20}.qdel";
                DeleteFile.Write(Fs, Path.Combine(SegmentFolder, file), merged.Id, marks);
                merged.DeleteFile = file;
                merged.PersistedDeleteVersion = marks.Count == all.Count ? merged.DeleteVersion : -1;
            }
        }

        List<SegmentMeta> segments;
        lock (_applyLock)
        {
            if (pending is not null)
            {
                // The deletes applied since the carry above: O(those), the only per-row work under the lock.
                CarryDeletes(pending);
                _pendingMerges.Remove(pending);
            }

            if (merged is not null)
            {
                _sealed.Add(merged);
            }

            foreach (var s in sources)
            {
                s.StopDeleteJournal();
                _sealed.Remove(s);
            }

            _sealed.Sort((a, b) => a.Id.CompareTo(b.Id));

            // The manifest's list is what memory holds, so that a segment a failed flush sealed, or a merge whose
            // manifest write failed earlier, is recorded too rather than silently dropped or duplicated.
            segments = [.. _sealed.Select(s => new SegmentMeta { Id = s.Id, PartitionId = s.PartitionId, Rows = s.Count, DeleteFile = s.DeleteFile })];
        }

        try
        {
            await PersistMetaAsync(Meta with { Segments = segments }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The manifest on disk still names the sources: keep their files (the next open or checkpoint sorts them
            // out), but they have left memory, so drop the owner's reference.
            foreach (var s in sources)
            {
                s.Release();
            }

            throw;
        }

        foreach (var s in sources)
        {
            Fs.Delete(Path.Combine(SegmentFolder, SegmentMeta.SegmentFileName(s.Id)));
            if (s.DeleteFile is { } df)
            {
                Fs.Delete(Path.Combine(SegmentFolder, df));
            }

            s.Release();
        }
    }

    /// <summary>Drops every pending merge (the shard is closing; under the apply lock): the merged files stay until the next
    /// open removes them, as no manifest names them.</summary>
    private void ReleasePendingMerges()
    {
        foreach (var pending in _pendingMerges)
        {
            pending.Merged.Release();
        }

        _pendingMerges.Clear();
    }
}
