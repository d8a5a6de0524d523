using System.Collections.Concurrent;
using System.Globalization;
using Quiver.Catalog;
using Quiver.Indexing;
using Quiver.Segments;
using Quiver.Storage;
using Quiver.Writes;

namespace Quiver.Shards;

/// <summary>Vector indexes of a shard: creating and dropping them (metadata under the maintenance gate), building or
/// loading one per sealed segment in the background, and reporting progress. Index files are derived data in
/// <see cref="IndexFolder"/>, named by index id and segment id; a missing or damaged one is rebuilt, an orphan deleted.</summary>
internal sealed partial class Shard
{
    private readonly ConcurrentDictionary<(long IndexId, long SegmentId), double> _buildProgress = new();
    private readonly ConcurrentDictionary<(long IndexId, long SegmentId), (string Message, DateTime At)> _indexErrors = new();

    // Held by the running index build of this shard, and by the running load of each vector field (one lane per field,
    // IndexBuildScheduler); dispose waits on all of them so no job writes into a folder being deleted.
    private readonly SemaphoreSlim _indexJobGate = new(1, 1);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _indexLoadGates = new(StringComparer.Ordinal);

    // Loads queued or running, by (index id, segment id): what a search waits for (WaitForIndexLoads).
    private readonly ConcurrentDictionary<(long IndexId, long SegmentId), Task> _pendingLoads = new();
    private long _indexesBuilt;
    private long _indexesLoaded;
    private long _searchesWaitedForLoads;

    /// <summary>Folder of the collection's index files.</summary>
    public string IndexFolder => Path.Combine(Folder, "indexes");

    /// <summary>The file system the shard's files live on (derived index data such as BM25 postings is written here).</summary>
    public IFileSystem FileSystem => Fs;

    /// <summary>Segment indexes built in this process.</summary>
    public long IndexesBuilt => Interlocked.Read(ref _indexesBuilt);

    /// <summary>Segment indexes loaded from their files (at open, or after a rebuild elsewhere).</summary>
    public long IndexesLoaded => Interlocked.Read(ref _indexesLoaded);

    /// <summary>Searches that found an index load of this shard queued or running and waited for it.</summary>
    public long SearchesWaitedForIndexLoads => Interlocked.Read(ref _searchesWaitedForLoads);

    /// <summary>The loads of index files queued or running in this shard for the index of the field a search walks
    /// (<paramref name="field"/>, its anns_field; null: the collection's one vector field), as one task, or null when
    /// there are none or searches do not wait for them (<see cref="QuiverOptions.IndexLoadWait"/> zero). A search never
    /// waits for another field's loads: it would not walk that index. O(1) when no load is pending.</summary>
    public Task? IndexLoadsPending(string? field) =>
        _pendingLoads.IsEmpty || _host.Options.IndexLoadWait == TimeSpan.Zero ? null : LoadsOf([field]);

    /// <summary>As <see cref="IndexLoadsPending(string?)"/> for a hybrid search: the loads of every field its
    /// <paramref name="searches"/> walk.</summary>
    public Task? IndexLoadsPending(IReadOnlyList<SearchRequest> searches) =>
        _pendingLoads.IsEmpty || _host.Options.IndexLoadWait == TimeSpan.Zero ? null : LoadsOf(searches.Select(s => s.AnnsField));

    private Task? LoadsOf(IEnumerable<string?> fields)
    {
        var indexes = Meta.Indexes;
        var ids = new HashSet<long>();
        foreach (var name in fields)
        {
            // A field that names no indexed vector field (or none, where the collection has several) waits for nothing:
            // the search itself refuses it.
            if ((name ?? SingleVectorField()) is { } field && indexes.FirstOrDefault(i => i.FieldName == field) is { } index)
            {
                ids.Add(index.Id);
            }
        }

        // A load that has ended may still be listed for a moment (its entry goes in a continuation).
        var loads = _pendingLoads.Where(p => ids.Contains(p.Key.IndexId) && !p.Value.IsCompleted).Select(p => p.Value).ToArray();
        return loads.Length == 0 ? null : Task.WhenAll(loads);
    }

    /// <summary>The name of the collection's only vector field (dense or sparse), or null when it has several.</summary>
    private string? SingleVectorField()
    {
        string? found = null;
        foreach (var f in Schema.Fields)
        {
            if (f.IsVector || f.IsSparseVector)
            {
                if (found is not null)
                {
                    return null;
                }

                found = f.Name;
            }
        }

        return found;
    }

    /// <summary>Waits for <paramref name="loads"/> (<see cref="IndexLoadsPending(string?)"/>) at most
    /// <see cref="QuiverOptions.IndexLoadWait"/>: a segment whose index is still loading afterwards is searched exactly,
    /// which is correct, only slower. A load that fails ends the wait as one that succeeds does.</summary>
    public async Task WaitForIndexLoadsAsync(Task loads, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _searchesWaitedForLoads);
        try
        {
            await loads.WaitAsync(_host.Options.IndexLoadWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Past the bound: the search goes on, exactly where an index is missing.
        }
    }

    /// <summary>Records a new index durably, then queues its build for every sealed segment.</summary>
    public async Task CreateIndexAsync(IndexMeta index, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            if (Meta.Indexes.Any(i => i.FieldName == index.FieldName))
            {
                Throw.Exists($"field '{index.FieldName}' of collection '{Meta.Name}' already has an index; drop it first");
            }

            if (Meta.Indexes.Any(i => i.Name == index.Name))
            {
                Throw.Exists($"collection '{Meta.Name}' already has an index named '{index.Name}'");
            }

            DurableFolders.Create(Fs, IndexFolder);
            var fieldIndex = Schema.IndexOf(index.FieldName);
            var field = Schema.Fields[fieldIndex];
            if (field.Metric == index.Metric)
            {
                await PersistMetaAsync(Meta with { Indexes = [.. Meta.Indexes, index] }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await BindMetricAsync(fieldIndex, index, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _maintenanceGate.Release();
        }

        ScheduleIndexWork();
    }

    /// <summary>Records <paramref name="index"/> and sets its field's metric to the index's (the field has
    /// <see cref="FieldSchema.MetricFromIndex"/> and no index; the caller holds the maintenance gate). Writes are held
    /// off meanwhile so that no zero vector slips in between the check and the new schema. Rows are stored as given
    /// (never normalized) and index files are named by index id, so nothing on disk depends on the old metric.</summary>
    private async Task BindMetricAsync(int fieldIndex, IndexMeta index, CancellationToken cancellationToken)
    {
        var field = Schema.Fields[fieldIndex];
        if (!field.MetricFromIndex)
        {
            Throw.Invalid($"create index: metric_type {index.Metric} does not match field '{field.Name}', which uses {field.Metric}");
        }

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            if (index.Metric == MetricType.Cosine)
            {
                RefuseStoredZeroVectors(fieldIndex);
            }

            var schema = Schema with { Fields = Schema.Fields.SetItem(fieldIndex, field with { Metric = index.Metric }) };
            await PersistMetaAsync(Meta with { Schema = schema, Indexes = [.. Meta.Indexes, index] }, cancellationToken).ConfigureAwait(false);
            Schema = schema;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>COSINE cannot compare a zero vector, so binding it is refused while any stored row (deleted ones too:
    /// index builds read every row of a segment) has one; the error names the first such row's primary key.</summary>
    private void RefuseStoredZeroVectors(int fieldIndex)
    {
        using var view = AcquireView([], allRows: true);
        var pk = Schema.IndexOf(Schema.PrimaryKey.Name);
        foreach (var snap in view.Segments)
        {
            var vectors = snap.Vectors[fieldIndex];
            var norms = vectors.SquaredNorms;
            for (var row = 0; row < snap.RowCount; row++)
            {
                // A null row of a nullable field is stored as zeros but is no vector: nothing compares it.
                if (norms[row] == 0f && !vectors.IsNull(row))
                {
                    var key = snap.Segment.Extract([row], includeVectors: false).Key(0);
                    Throw.Invalid($"create index: field '{Schema.Fields[fieldIndex].Name}' holds a zero vector (primary key {key}), " +
                        "which COSINE cannot compare; delete it and compact, or use L2 or IP");
                }
            }
        }
    }

    /// <summary>Under the write gate: refuses a batch validated against an older schema whose zero vectors the current
    /// one (a field just bound to COSINE) does not accept.</summary>
    private void RefuseZeroVectorsIfRebound(RowBatch batch)
    {
        if (ReferenceEquals(batch.Schema, Schema))
        {
            return;
        }

        for (var f = 0; f < Schema.Fields.Length; f++)
        {
            if (Schema.Fields[f] is not { IsVector: true, Metric: MetricType.Cosine } field || batch.Schema.Fields[f].Metric == MetricType.Cosine)
            {
                continue;
            }

            var dim = field.Dimension!.Value;
            var vectors = batch.Columns[f].Vectors!;
            for (var row = 0; row < batch.Count; row++)
            {
                if (batch.Columns[f].Nulls?[row] != true && Distance.VectorMath.SquaredNorm(vectors.AsSpan(row * dim, dim)) == 0f)
                {
                    Throw.Invalid($"insert rejected, nothing written: row {row}: field '{field.Name}': zero vector cannot be compared under COSINE");
                }
            }
        }
    }

    /// <summary>Drops an index: durably from the metadata, then from every segment (searches already using it finish
    /// first), then its files.</summary>
    public async Task DropIndexAsync(string indexName, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        IndexMeta index;
        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            index = Meta.Indexes.FirstOrDefault(i => i.Name == indexName)
                ?? throw new QuiverException(QuiverErrorCode.NotFound, $"collection '{Meta.Name}' has no index named '{indexName}'");
            await PersistMetaAsync(Meta with { Indexes = [.. Meta.Indexes.Where(i => i.Id != index.Id)] }, cancellationToken).ConfigureAwait(false);
            var field = Schema.IndexOf(index.FieldName);
            lock (_applyLock)
            {
                foreach (var seg in SegmentsToIndex())
                {
                    seg.DetachIndex(field, index.Id);
                }
            }

            SweepIndexFiles(includeTemporary: false);
        }
        finally
        {
            _maintenanceGate.Release();
        }

        ForgetIndexErrors(k => k.IndexId == index.Id);
    }

    /// <summary>Build progress of an index: rows of sealed segments, and of those the rows whose segment has the index
    /// attached. Growing segments are searched exactly and are not counted.</summary>
    public IndexProgress ProgressOf(IndexMeta index)
    {
        var field = Schema.IndexOf(index.FieldName);
        long total = 0, indexed = 0;
        var segments = 0;
        var done = 0;
        double partial = 0;
        long memory = 0;
        string? error = null;
        var types = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var sparse = Schema.Fields[field].IsSparseVector;
        var perSegment = new List<SegmentIndexProgress>();
        lock (_applyLock)
        {
            foreach (var seg in _sealed)
            {
                segments++;
                total += seg.Count;
                if (sparse)
                {
                    // Ready as soon as it exists: a segment's posting lists are built by its first search. A BM25
                    // field's postings count as the index's memory once loaded (Sparse/Bm25Budget.cs).
                    indexed += seg.Count;
                    done++;
                    var bytes = Sparse.Bm25Corpus.LoadedBytes([seg], field);
                    memory += bytes;
                    perSegment.Add(new(seg.Id, seg.Count, SegmentIndexState.Built, 1, null, bytes, null));
                }
                else if (seg.AttachedIndexId(field) == index.Id)
                {
                    indexed += seg.Count;
                    done++;
                    string? type = null;
                    long bytes = 0;
                    if (seg.AcquireIndex(field) is { } h)
                    {
                        bytes = h.Index.MemoryBytes;
                        memory += bytes;
                        type = h.Index.Kind.ToMilvusName();
                        types[type] = types.GetValueOrDefault(type) + seg.Count;
                        h.Release();
                    }
                    perSegment.Add(new(seg.Id, seg.Count, SegmentIndexState.Built, 1, type, bytes, null));
                }
                else if (_buildProgress.TryGetValue((index.Id, seg.Id), out var f))
                {
                    partial += f * seg.Count;
                    perSegment.Add(new(seg.Id, seg.Count, SegmentIndexState.Building, f, null, 0, null));
                }
                else if (_indexErrors.TryGetValue((index.Id, seg.Id), out var e) && !_host.IndexBuilds.IsPending(JobKey(index.Id, seg.Id)))
                {
                    // Failed means: this segment's last attempt failed and no retry is queued.
                    error ??= e.Message;
                    perSegment.Add(new(seg.Id, seg.Count, SegmentIndexState.Failed, 0, null, 0, e.Message));
                }
                else
                {
                    perSegment.Add(new(seg.Id, seg.Count, SegmentIndexState.Queued, 0, null, 0, null));
                }
            }
        }

        return new IndexProgress(total, indexed, segments, done, total == 0 ? 1 : (indexed + partial) / total, error, memory, types, perSegment);
    }

    /// <summary>Queues a build-or-load job for every (sealed segment, index) pair without an attached index.</summary>
    private void ScheduleIndexWork()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var indexes = Meta.Indexes;
        if (indexes.Count == 0)
        {
            return;
        }

        List<Segment> sealedNow;
        lock (_applyLock)
        {
            sealedNow = [.. SegmentsToIndex()];
        }

        foreach (var index in indexes)
        {
            var field = Schema.IndexOf(index.FieldName);
            if (Schema.Fields[field].IsSparseVector)
            {
                // Sparse posting lists are built on a segment's first search (Sparse/SparseSearch.cs), not as jobs.
                continue;
            }

            foreach (var seg in sealedNow)
            {
                if (seg.AttachedIndexId(field) == index.Id)
                {
                    continue;
                }

                var s = seg;
                if (!Fs.FileExists(Path.Combine(IndexFolder, IndexMeta.FileName(index.Id, seg.Id))))
                {
                    _host.IndexBuilds.Enqueue(JobKey(index.Id, seg.Id), token => Task.Run(() => RunIndexJob(s, index, token, loadOnly: false), token));
                    continue;
                }

                // A segment with an index file only loads it, in its field's load lane (never behind a build, nor behind
                // another field's load); searches on the field wait for it. A file that does not load is deleted and the segment's build queued once the load has ended.
                var built = true;
                var done = _host.IndexBuilds.Queue(JobKey(index.Id, seg.Id),
                    token => Task.Run(() => built = RunIndexJob(s, index, token, loadOnly: true), token), loadLane: (this, index.FieldName));
                if (done is null)
                {
                    continue;
                }

                var key = (index.Id, seg.Id);
                _pendingLoads[key] = done;
                _ = done.ContinueWith(t =>
                {
                    _pendingLoads.TryRemove(KeyValuePair.Create(key, t));
                    if (!built)
                    {
                        ScheduleIndexWork();
                    }
                }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    /// <summary>Loads the segment's index file when a valid one exists, else builds and saves it (unless
    /// <paramref name="loadOnly"/>: then it deletes a file that does not load and returns false, so the build is queued in
    /// the builds' lane); then attaches it if the segment is still sealed here, the index still exists and no other job
    /// attached it meanwhile. Failures are kept for progress reports. Returns false only when a build is still needed.</summary>
    private bool RunIndexJob(Segment seg, IndexMeta index, CancellationToken schedulerToken, bool loadOnly)
    {
        var gate = loadOnly ? _indexLoadGates.GetOrAdd(index.FieldName, _ => new SemaphoreSlim(1, 1)) : _indexJobGate;
        gate.Wait(CancellationToken.None);
        if (Volatile.Read(ref _disposed) != 0 || !seg.TryAcquire())
        {
            gate.Release();
            return true;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(schedulerToken, _stop.Token);
        var token = linked.Token;
        var path = Path.Combine(IndexFolder, IndexMeta.FileName(index.Id, seg.Id));
        long buildReserved = 0;
        try
        {
            var field = Schema.IndexOf(index.FieldName);
            if (!StillWanted(seg, index) || seg.AttachedIndexId(field) == index.Id)
            {
                return true;
            }

            VectorView raw;
            using (var snap = seg.Snapshot())
            {
                // The view points into the segment's mapping, which lives as long as the reference this job holds and,
                // once attached, as long as the segment itself.
                raw = snap.Vectors[field];
            }

            VectorIndex? built = null;
            var loaded = false;
            IndexKindNames.TryParse(index.IndexType, out var kind);
            if (Fs.FileExists(path))
            {
                try
                {
                    built = IndexFactory.Load(IndexFile.Open(Fs, path), raw);
                    if (built.Metric != index.Metric || (kind != IndexKind.AutoIndex && built.Kind != kind))
                    {
                        built.Dispose();
                        built = null;
                    }
                    else
                    {
                        loaded = true;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Derived data: a file that does not load, whatever the reason, is rebuilt rather than trusted.
                }

                if (built is null)
                {
                    Fs.Delete(path);
                }
            }

            if (built is null && loadOnly)
            {
                return false;
            }

            if (built is null && _host.Options.IndexBuildsElsewhere is { } elsewhere)
            {
                // A cluster's shard: the build runs on whichever node takes it (docs/cluster.md, "Index builds as work"),
                // which hands back the file at `path`; only its load runs here, checked as any file found here is.
                elsewhere(BuildElsewhere(seg, index, path), token).GetAwaiter().GetResult();
                built = IndexFactory.Load(IndexFile.Open(Fs, path), raw);
                if (built.Metric != index.Metric || (kind != IndexKind.AutoIndex && built.Kind != kind))
                {
                    var found = $"{built.Kind} {built.Metric}";
                    built.Dispose();
                    Fs.Delete(path);
                    throw new CorruptionException(path, $"the index file built elsewhere holds {found}, not the index's {index.IndexType} {index.Metric}");
                }

                loaded = true;
            }

            if (built is null)
            {
                var p = new IndexParameters(index.Params);

                // The index is built in memory: its estimated bytes are reserved against the engine's budget first, and
                // a build that does not fit is deferred (recorded as this segment's error, retried by maintenance).
                buildReserved = ReserveIndexBuild(seg, index, kind, p, Schema.Fields[field].Dimension ?? raw.Dimension);
                var options = new IndexBuildOptions(
                    Threads: Math.Max(1, _host.Options.IndexBuildThreads),
                    Seed: unchecked((int)seg.Id),
                    Progress: f => _buildProgress[(index.Id, seg.Id)] = f,
                    MemoryBudgetBytes: _host.Options.IndexMemoryBudgetBytes,
                    IndexRows: SealedRows(),
                    KMeansInit: _host.Options.IvfKMeansInit);
                built = SegmentIndexBuild.BuildAndSave(index, raw, options, Fs, path, token);
            }

            // The index's own bytes replace the build's reservation in one step, if they fit; else the index waits
            // (its file stays, so the retry loads it instead of building it again).
            var bytes = built.MemoryBytes;
            if (!_host.Memory.TryConvert(buildReserved, bytes))
            {
                built.Dispose();
                ThrowIndexMemory(seg, index, bytes, loaded ? "loaded from its file" : "built");
            }

            buildReserved = 0;
            var handle = new IndexHandle(index.Id, built, loaded, _host.Memory, bytes);
            bool attached;
            bool already;
            lock (_applyLock)
            {
                // A load and a build run in two lanes: the other may have attached this index first.
                already = seg.AttachedIndexId(field) == index.Id;
                attached = !already && StillWanted(seg, index);
                if (attached)
                {
                    seg.AttachIndex(field, handle);
                }
            }

            if (!attached)
            {
                handle.Release();
                if (!already)
                {
                    Fs.Delete(path);
                }

                return true;
            }

            Interlocked.Increment(ref loaded ? ref _indexesLoaded : ref _indexesBuilt);
            _indexErrors.TryRemove((index.Id, seg.Id), out _);
            if (HasReadyMerge())
            {
                // A merged segment waiting for this index can now replace its sources.
                RequestMaintenance();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Engine or collection closing; the next open resumes.
        }
        catch (Exception ex)
        {
            _indexErrors[(index.Id, seg.Id)] = (string.Create(CultureInfo.InvariantCulture, $"segment {seg.Id}: {ex.Message}"), DateTime.UtcNow);
        }
        finally
        {
            if (buildReserved != 0)
            {
                _host.Memory.Release(buildReserved);
            }

            _buildProgress.TryRemove((index.Id, seg.Id), out _);
            seg.Release();
            gate.Release();
        }

        return true;
    }

    private long SealedRows()
    {
        lock (_applyLock)
        {
            return _sealed.Sum(s => (long)s.Count);
        }
    }

    /// <summary>What a builder elsewhere needs to build <paramref name="index"/> over <paramref name="seg"/> as this
    /// shard would (<see cref="QuiverOptions.IndexBuildsElsewhere"/>).</summary>
    private SegmentIndexBuild BuildElsewhere(Segment seg, IndexMeta index, string path) => new()
    {
        SegmentPath = Path.Combine(SegmentFolder, SegmentMeta.SegmentFileName(seg.Id)),
        SegmentId = seg.Id,
        FieldsInFile = seg.FieldsInFile,
        Schema = seg.Schema,
        Index = index,
        IndexPath = path,
        IndexRows = SealedRows(),
        MemoryBudgetBytes = _host.Options.IndexMemoryBudgetBytes,
        KMeansInit = _host.Options.IvfKMeansInit,
    };

    /// <summary>Reserves the estimated memory of building <paramref name="index"/> over <paramref name="seg"/>
    /// (<see cref="IndexMemory.Estimate"/>) and returns it, or throws <see cref="MemoryQuotaExceededException"/> when it
    /// does not fit beside what the engine holds.</summary>
    private long ReserveIndexBuild(Segment seg, IndexMeta index, IndexKind kind, IndexParameters p, int dimension)
    {
        long estimate;
        try
        {
            estimate = IndexMemory.Estimate(kind, index.Metric, p, seg.Count, dimension);
        }
        catch (Exception ex) when (ex is QuiverException or ArgumentException)
        {
            // Parameters the estimate cannot read fail the build itself, with the build's own message.
            return 0;
        }

        if (estimate > 0 && !_host.Memory.TryReserve(estimate))
        {
            ThrowIndexMemory(seg, index, estimate, "built");
        }

        return estimate;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowIndexMemory(Segment seg, IndexMeta index, long bytes, string how)
    {
        var memory = _host.Memory;
        var detail = string.Create(CultureInfo.InvariantCulture,
            $"index '{index.Name}' of collection '{Meta.Name}' ({bytes} bytes in memory for segment {seg.Id}) not {how}: {MemoryHeld(memory)}; the build waits and is retried by background maintenance; drop an index or a collection, or raise MemoryBudgetBytes");
        throw new MemoryQuotaExceededException(detail, bytes, memory.UsedBytes + memory.ReservedBytes, memory.BudgetBytes);
    }

    /// <summary>Sealed segments and the segments of pending merges, which get their indexes before they are searched.
    /// Under the apply lock.</summary>
    private IEnumerable<Segment> SegmentsToIndex() => _sealed.Concat(_pendingMerges.Select(p => p.Merged));

    private bool StillWanted(Segment seg, IndexMeta index)
    {
        lock (_applyLock)
        {
            return Volatile.Read(ref _disposed) == 0 && (_sealed.Contains(seg) || IsPendingMerge(seg)) && Meta.Indexes.Any(i => i.Id == index.Id);
        }
    }

    private object JobKey(long indexId, long segmentId) => (this, indexId, segmentId);

    /// <summary>Re-queues failed builds whose last attempt is older than <paramref name="age"/> (called by the
    /// maintenance loop, so a transient failure such as a full disk heals without new writes or a restart). Errors of
    /// segments that left the shard are forgotten.</summary>
    private void RetryFailedIndexBuilds(TimeSpan age)
    {
        if (_indexErrors.IsEmpty)
        {
            return;
        }

        HashSet<long> live;
        lock (_applyLock)
        {
            live = [.. SegmentsToIndex().Select(s => s.Id)];
        }

        ForgetIndexErrors(k => !live.Contains(k.SegmentId));
        if (_indexErrors.Values.Any(e => DateTime.UtcNow - e.At >= age))
        {
            ScheduleIndexWork();
        }
    }

    private void ForgetIndexErrors(Func<(long IndexId, long SegmentId), bool> which)
    {
        foreach (var key in _indexErrors.Keys)
        {
            if (which(key))
            {
                _indexErrors.TryRemove(key, out _);
            }
        }
    }

    /// <summary>Waits for this shard's running index jobs (a build, and a load per field) to end (dispose has cancelled
    /// them); later jobs see the shard disposed and do nothing.</summary>
    private async Task WaitForIndexJobAsync()
    {
        await _indexJobGate.WaitAsync().ConfigureAwait(false);
        _indexJobGate.Release();
        foreach (var gate in _indexLoadGates.Values)
        {
            await gate.WaitAsync().ConfigureAwait(false);
            gate.Release();
        }
    }

    /// <summary>Deletes index files of segments or indexes that no longer exist. Temporary files of a build in flight are
    /// left alone unless <paramref name="includeTemporary"/> (at open, when no build can be running).</summary>
    private void SweepIndexFiles(bool includeTemporary)
    {
        if (!Fs.DirectoryExists(IndexFolder))
        {
            return;
        }

        HashSet<string> keep;
        lock (_applyLock)
        {
            keep = [.. from seg in SegmentsToIndex() from index in Meta.Indexes select IndexMeta.FileName(index.Id, seg.Id)];
        }

        foreach (var file in Fs.ListFiles(IndexFolder))
        {
            var name = Path.GetFileName(file);
            var temporary = name.EndsWith(".tmp", StringComparison.Ordinal);
            if ((temporary && includeTemporary) || (!temporary && !keep.Contains(name)))
            {
                Fs.Delete(file);
            }
        }
    }
}

/// <summary>Build progress of one index over a shard's sealed segments; <paramref name="RowsByType"/>: indexed rows per
/// index type built (AUTOINDEX's per-segment choices); <paramref name="PerSegment"/>: each sealed segment's part.</summary>
internal readonly record struct IndexProgress(
    long TotalRows, long IndexedRows, int Segments, int IndexedSegments, double Fraction, string? LastError, long MemoryBytes,
    IReadOnlyDictionary<string, long> RowsByType, IReadOnlyList<SegmentIndexProgress> PerSegment);
