using System.Diagnostics;
using System.Runtime.InteropServices;
using Quiver.Common;
using Quiver.Storage;
using Quiver.Writes;

namespace Quiver.Segments;

/// <summary>A set of rows of one partition: columnar scalars, contiguous vectors, per row its insert timestamp, and
/// sparse delete marks (<see cref="Segments.DeleteMarks"/>: row → timestamp, costing per mark, not per row). A growing
/// segment takes appends in memory; a sealed one is immutable apart from delete marks, its vectors mapped from its file.
/// Rows are visible at snapshot timestamp T when insertTs &lt;= T &lt; deleteTs.
/// <para>A search of a sealed segment admits it in O(1): "every row" without deletes, and with them the live-row bitmap
/// that the marks build once per change a reader observes and share (<see cref="SegmentSnapshot.Visible(long)"/>), so
/// a delete itself costs O(1) however many rows the segment holds.</para>
/// Thread-safety: mutations (append, delete, seal) come from one thread at a time under the shard's apply lock; readers
/// take a <see cref="SegmentSnapshot"/> under the same lock and then read without it. The delete marks are also guarded
/// by a lock of their own, so that a snapshot taken outside the apply lock (a frozen segment being flushed) reads a
/// consistent prefix of them.</summary>
internal sealed class Segment
{
    public const long NotDeleted = long.MaxValue;

    /// <summary>Bytes one delete mark is counted at against the memory budget: its entry in the row → timestamp
    /// dictionary (hash, next link, int key, long value: 24 bytes with padding, and a 4-byte bucket) and in the
    /// arrival-order log (an (int, long) pair: 16 bytes). Unused capacity of the growing arrays is not counted.</summary>
    public const long DeleteMarkBytes = 24 + 4 + 16;

    private readonly VectorStore?[] _vectors;
    private readonly Indexing.IndexHandle?[] _vectorIndexes;
    private readonly DeleteMarks _deletes = new();
    private ScalarStore?[] _scalars;
    private CollectionSchema _schema;
    private ScalarStore? _dynamic;
    private GrowingKeys? _growingKeys;
    private SortedKeys? _sortedKeys;
    private ReadOnlyMemory<long> _insertTs;
    private MappedFile? _map;
    private int _refs = 1;
    private int _count;

    // The engine's memory ledger, the bytes this segment's growing rows charged to it (taken back when it is sealed or
    // released, whichever comes first, so exactly once), and the bytes its delete marks charged (taken back when it is
    // released: a sealed segment keeps its marks in memory).
    private Common.MemoryLedger? _ledger;
    private long _charged;
    private long _marksCharged;

    // The bytes of in-memory structures derived from this segment's columns (BM25 postings, scalar and token indexes,
    // filter bitmaps), per DerivedKind, charged until they are dropped or the segment is released.
    private readonly long[] _derivedCharged = new long[3];
    private Filtering.ScalarIndexes? _indexes;
    private Search.FilterBitmapCache? _filterBitmaps;

    private Segment(long id, long partitionId, CollectionSchema schema, int capacity, ScalarStore?[] scalars, VectorStore?[] vectors)
    {
        Id = id;
        PartitionId = partitionId;
        _schema = schema;
        _scalars = scalars;
        _vectors = vectors;
        _vectorIndexes = new Indexing.IndexHandle?[schema.Fields.Length];
        _insertTs = new long[capacity];
    }

    /// <summary>The schema of the dynamic field's column (<see cref="CollectionSchema.DynamicFieldName"/>).</summary>
    public static FieldSchema DynamicField { get; } = new() { Name = CollectionSchema.DynamicFieldName, DataType = DataType.Json, Nullable = true };

    public long Id { get; }

    public long PartitionId { get; }

    /// <summary>The schema of the segment's rows: the collection's, or an older one with fewer fields while
    /// <see cref="AddFields"/> has not run.</summary>
    public CollectionSchema Schema => Volatile.Read(ref _schema);

    /// <summary>How many of the schema's fields the segment's file holds, when fields were added after it was written
    /// (<see cref="AddFields"/>); null when it holds every field.</summary>
    public int? FieldsInFile { get; private set; }

    public int Count => _count;

    public bool IsSealed { get; private set; }

    /// <summary>Rows marked deleted (at any timestamp).</summary>
    public int DeletedCount => _deletes.Count;

    /// <summary>The highest timestamp of a delete mark (0 without marks).</summary>
    public long MaxDeleteTs => _deletes.MaxTs;

    /// <summary>Bumped on every delete mark; a checkpoint rewrites the delete file when it differs from the saved one.</summary>
    public long DeleteVersion { get; private set; }

    /// <summary>DeleteVersion as of the last persisted delete file.</summary>
    public long PersistedDeleteVersion { get; set; }

    /// <summary>The delete file that holds this segment's persisted deletes, if any (name only).</summary>
    public string? DeleteFile { get; set; }

    public long MaxInsertTs { get; private set; }

    /// <summary>Bytes of the rows, for the seal and merge sizes (<see cref="Shards.SegmentSizing"/>): of a growing segment,
    /// what the shard counted as rows were appended; of a sealed one, its file's length less its page checksums (SegmentFile.DataBytes). Set by the shard under its apply
    /// lock.</summary>
    public long Bytes { get; set; }

    /// <summary>Lazily built scalar indexes; only sealed segments (whose columns no longer change) hand them out.</summary>
    public Filtering.ScalarIndexes Indexes => Volatile.Read(ref _indexes) ?? LazyInitializer.EnsureInitialized(ref _indexes, () => new Filtering.ScalarIndexes(this));

    /// <summary>Bitmaps of filters scanned over this sealed segment's columns (<see cref="Search.FilterBitmapCache"/>).</summary>
    public Search.FilterBitmapCache FilterBitmaps => Volatile.Read(ref _filterBitmaps) ?? LazyInitializer.EnsureInitialized(ref _filterBitmaps, () => new Search.FilterBitmapCache(this));

    /// <summary>A new growing segment; its rows are charged to <paramref name="ledger"/> as the shard counts them
    /// (<see cref="ChargeGrowing"/>) until it is sealed or released. Its vectors grow in chunks of about
    /// <paramref name="vectorChunkBytes"/> (<see cref="VectorStore.Growing"/>).</summary>
    public static Segment CreateGrowing(
        long id, long partitionId, CollectionSchema schema, int capacity = 1024, Common.MemoryLedger? ledger = null, int vectorChunkBytes = VectorStore.ChunkBytes)
    {
        var scalars = new ScalarStore?[schema.Fields.Length];
        var vectors = new VectorStore?[schema.Fields.Length];
        for (var f = 0; f < schema.Fields.Length; f++)
        {
            var field = schema.Fields[f];
            if (field.IsVector)
            {
                vectors[f] = VectorStore.Growing(field.VectorWidth(), capacity, vectorChunkBytes);
            }
            else
            {
                scalars[f] = new ScalarStore(field, capacity);
            }
        }

        var s = new Segment(id, partitionId, schema, capacity, scalars, vectors)
        {
            _growingKeys = new GrowingKeys(intKeys: schema.PrimaryKey.DataType == DataType.Int64),
            _ledger = ledger,
        };
        if (schema.EnableDynamicField)
        {
            s._dynamic = new ScalarStore(DynamicField, capacity);
        }

        return s;
    }

    /// <summary>A sealed segment over columns, timestamps, vectors and primary-key order mapped from its file; takes
    /// ownership of <paramref name="map"/>. Costs O(fields), not O(rows): delete marks cost per mark, and keys are found
    /// through the mapped key order (<see cref="FindLive"/>).</summary>
    public static Segment CreateSealed(
        long id, long partitionId, CollectionSchema schema, int count, MappedColumns columns, long maxInsertTs, MappedFile? map) =>
        new(id, partitionId, schema, 0, columns.Scalars, columns.Vectors)
        {
            _insertTs = columns.InsertTs,
            _dynamic = columns.Dynamic,
            _sortedKeys = columns.Keys,
            _map = map,
            _count = count,
            MaxInsertTs = maxInsertTs,
            IsSealed = true,
        };

    /// <summary>Takes the fields <paramref name="schema"/> adds after this segment's (AddCollectionField): each reads the
    /// field's default value, or null, in every row (<see cref="AddedFields.Column"/>). Only a sealed segment, whose rows
    /// no longer change, takes them; <paramref name="fieldsInFile"/> is how many fields its file holds. Snapshots taken
    /// before keep their own columns and schema. Call under the shard's apply lock.</summary>
    public void AddFields(CollectionSchema schema, int fieldsInFile)
    {
        Debug.Assert(IsSealed, "fields are added to sealed segments only (a checkpoint seals the growing ones first)");
        Debug.Assert(schema.Fields.Skip(_scalars.Length).All(f => !(f.IsVector || f.IsSparseVector)), "only scalar fields are added");
        var scalars = new ScalarStore?[schema.Fields.Length];
        Array.Copy(_scalars, scalars, _scalars.Length);
        for (var f = _scalars.Length; f < scalars.Length; f++)
        {
            scalars[f] = AddedFields.Column(schema.Fields[f], _count);
        }

        // The columns before the schema: a reader that sees the new schema sees its columns. The vector stores and index
        // slots stay as they are (an added field is a scalar one; a snapshot reads only the fields its schema has).
        Volatile.Write(ref _scalars, scalars);
        FieldsInFile = fieldsInFile;
        Volatile.Write(ref _schema, schema);
    }

    /// <summary>Appends rows [start, start+count) of a batch, all with timestamp <paramref name="ts"/>. Returns the first row number.</summary>
    public int Append(RowBatch batch, int start, int count, long ts)
    {
        Debug.Assert(!IsSealed, "append to a sealed segment");
        var at = _count;
        EnsureCapacity(at + count);
        for (var f = 0; f < _scalars.Length; f++)
        {
            if (_scalars[f] is { } s)
            {
                s.Append(batch.Columns[f], start, count, at);
            }
            else
            {
                var dim = Schema.Fields[f].VectorWidth();
                _vectors[f]!.Append(batch.Columns[f].Vectors.AsSpan(start * dim, count * dim), at, batch.Columns[f].Nulls, start);
            }
        }

        if (_dynamic is not null && batch.Dynamic is { } dyn)
        {
            _dynamic.Append(new BatchColumn { Json = dyn }, start, count, at);
        }

        MemoryMarshal.AsMemory(_insertTs).Span.Slice(at, count).Fill(ts);
        MaxInsertTs = Math.Max(MaxInsertTs, ts);
        _count = at + count;
        for (var i = 0; i < count; i++)
        {
            _growingKeys!.Add(batch.Key(start + i), at + i);
        }

        return at;
    }

    /// <summary>Adds <paramref name="bytes"/> of appended rows to <see cref="Bytes"/> and to the engine's memory ledger.
    /// Call under the shard's apply lock, on a growing segment.</summary>
    public void ChargeGrowing(long bytes)
    {
        Debug.Assert(!IsSealed, "only growing rows are charged");
        Bytes += bytes;
        if (_ledger is { } ledger)
        {
            Interlocked.Add(ref _charged, bytes);
            ledger.AddGrowing(bytes);
        }
    }

    /// <summary>Charges this segment's delete marks (those it has and those to come) to <paramref name="ledger"/> until
    /// it is released: for sealed segments opened from their files, which have no ledger of their own. Call before the
    /// segment is shared, under the shard's apply lock (or before the shard is open).</summary>
    public void ChargeTo(Common.MemoryLedger ledger)
    {
        Debug.Assert(_ledger is null || ReferenceEquals(_ledger, ledger), "a segment is charged to one ledger");
        if (_ledger is not null)
        {
            return;
        }

        _ledger = ledger;
        var bytes = _deletes.Count * DeleteMarkBytes;
        if (bytes != 0)
        {
            Interlocked.Add(ref _marksCharged, bytes);
            ledger.AddDeleteMarks(bytes);
        }
    }

    /// <summary>Charges <paramref name="bytes"/> of a structure derived from this segment's columns and kept with it (its
    /// BM25 postings of a field, a scalar or token index, a filter's bitmap) to the engine's memory ledger as
    /// <paramref name="kind"/>, if they fit the budget; false (nothing charged: the caller drops the structure and
    /// answers without it) otherwise. Taken back by <see cref="UnchargeDerived"/> or at the segment's last release. A
    /// segment without a ledger (tests, tools) takes everything. Call while holding a reference.</summary>
    public bool TryChargeDerived(long bytes, DerivedKind kind = DerivedKind.Index)
    {
        if (_ledger is not { } ledger || bytes == 0)
        {
            return true;
        }

        if (!ledger.TryAddDerived(bytes, kind))
        {
            return false;
        }

        Interlocked.Add(ref _derivedCharged[(int)kind], bytes);
        return true;
    }

    /// <summary>Takes back <paramref name="freed"/> bytes charged as <paramref name="kind"/> and charges
    /// <paramref name="bytes"/> in their place in one step, if they fit once the old are gone
    /// (<see cref="Common.MemoryLedger.TryReplaceDerived"/>); false (nothing changed) otherwise.</summary>
    public bool TryReplaceDerived(long freed, long bytes, DerivedKind kind)
    {
        if (_ledger is not { } ledger || bytes == freed)
        {
            return true;
        }

        if (!ledger.TryReplaceDerived(freed, bytes, kind))
        {
            return false;
        }

        Interlocked.Add(ref _derivedCharged[(int)kind], bytes - freed);
        return true;
    }

    /// <summary>The engine's memory ledger this segment charges, if any.</summary>
    public Common.MemoryLedger? Ledger => _ledger;

    /// <summary>Whether <see cref="TryChargeDerived"/> of <paramref name="bytes"/> would succeed now (a structure
    /// refused before is not loaded again to find out).</summary>
    public bool FitsDerived(long bytes) => _ledger is not { } ledger || ledger.Fits(bytes);

    /// <summary>Takes back <paramref name="bytes"/> charged by <see cref="TryChargeDerived"/> as <paramref name="kind"/>
    /// (a structure dropped before the segment goes).</summary>
    public void UnchargeDerived(long bytes, DerivedKind kind = DerivedKind.Index)
    {
        if (_ledger is { } ledger && bytes != 0)
        {
            Interlocked.Add(ref _derivedCharged[(int)kind], -bytes);
            ledger.AddDerived(-bytes, kind);
        }
    }

    /// <summary>Takes back what <see cref="ChargeGrowing"/> charged (once: a second call finds nothing).</summary>
    private void Uncharge()
    {
        if (_ledger is { } ledger && Interlocked.Exchange(ref _charged, 0) is var charged and not 0)
        {
            ledger.AddGrowing(-charged);
        }
    }

    /// <summary>The live (not deleted) row holding <paramref name="key"/>, or -1. A growing segment answers from its key
    /// dictionary, a sealed one by binary search over its mapped key order, O(log rows). A key lives in at most one row
    /// of a shard (writes delete the old row before appending a new one), so at most one row of the key here is live.
    /// Call under the shard's apply lock.</summary>
    public int FindLive(PrimaryKey key)
    {
        if (_growingKeys is { } growing)
        {
            var row = growing.Find(key);
            return row >= 0 && DeleteTsOf(row) == NotDeleted ? row : -1;
        }

        var (lo, hi) = _sortedKeys!.Range(key);
        if (lo == hi)
        {
            // The key order is read (and checksummed on its first touch) only for a segment that holds the key.
            return -1;
        }

        for (var p = lo; p < hi; p++)
        {
            var row = _sortedKeys.RowAt(p);
            if (DeleteTsOf(row) == NotDeleted)
            {
                return row;
            }
        }

        return -1;
    }

    /// <summary>Marks a row deleted at <paramref name="ts"/>; a row already deleted keeps its earlier mark. O(1) on any
    /// segment: nothing per row is allocated or copied (readers build the live bitmap they need, see
    /// <see cref="Segments.DeleteMarks"/>).</summary>
    public bool MarkDeleted(int row, long ts)
    {
        Debug.Assert((uint)row < (uint)_count);
        if (!_deletes.Add(row, ts))
        {
            return false;
        }

        if (_ledger is { } ledger)
        {
            Interlocked.Add(ref _marksCharged, DeleteMarkBytes);
            ledger.AddDeleteMarks(DeleteMarkBytes);
        }

        DeleteVersion++;
        return true;
    }

    /// <summary>Starts recording every delete mark from now on (a merge of this segment carries them over to the merged
    /// segment in O(marks), not O(rows)); a journal already running starts again empty.</summary>
    public void StartDeleteJournal() => _deletes.StartJournal();

    /// <summary>Stops recording delete marks and drops the journal.</summary>
    public void StopDeleteJournal() => _deletes.StopJournal();

    /// <summary>Adds the journal's marks from position <paramref name="from"/> on to <paramref name="into"/> and returns
    /// the position after them (pass it as <paramref name="from"/> next time). Thread-safe against concurrent deletes.</summary>
    public int ReadDeleteJournal(int from, List<(int Row, long Ts)> into) => _deletes.ReadJournal(from, into);

    public long DeleteTsOf(int row) => _deletes.TsOf(row);

    /// <summary>(row, ts) of every delete mark, in row order.</summary>
    public List<(int Row, long Ts)> DeleteMarks() => _deletes.ToList();

    /// <summary>The rows not deleted at or before <paramref name="ts"/>, as a bitmap of the caller's own. O(rows / 64 +
    /// marks); thread-safe against concurrent deletes.</summary>
    public Bitmap LiveAt(long ts)
    {
        var live = new Bitmap(_count, initial: true);
        _deletes.View().ClearDeletedAt(live, ts);
        return live;
    }

    /// <summary>Switches the columns, insert timestamps and vectors of a just-written growing segment (every row, in
    /// order) to its mapped file, freeing the in-memory copies; snapshots taken before keep reading those. Call under the
    /// shard's apply lock.</summary>
    public void Seal(MappedColumns mapped, MappedFile map)
    {
        Debug.Assert(!IsSealed);
        Debug.Assert(mapped.InsertTs.Length == _count, "the file holds every row of the segment");
        for (var f = 0; f < _vectors.Length; f++)
        {
            if (mapped.Vectors[f] is { } v)
            {
                _vectors[f] = v;
            }

            if (mapped.Scalars[f] is { } s)
            {
                _scalars[f] = s;
            }
        }

        if (_dynamic is not null)
        {
            _dynamic = mapped.Dynamic;
        }

        _insertTs = mapped.InsertTs;
        Debug.Assert(mapped.Keys is not null, "a current segment file has its key order");
        _sortedKeys = mapped.Keys;
        _growingKeys = null;

        _map = map;
        IsSealed = true;

        // The rows now live in the mapped file; snapshots still reading the arrays drop them when they end.
        Uncharge();
    }

    /// <summary>The index attached to a vector field, acquired for a search (release it after), or null when none is
    /// attached. Only sealed segments carry indexes.</summary>
    public Indexing.IndexHandle? AcquireIndex(int fieldIndex)
    {
        var h = Volatile.Read(ref _vectorIndexes[fieldIndex]);
        return h is not null && h.TryAcquire() ? h : null;
    }

    /// <summary>The id of the index attached to a field, or 0 (for progress reports; no reference is taken).</summary>
    public long AttachedIndexId(int fieldIndex) => Volatile.Read(ref _vectorIndexes[fieldIndex])?.IndexId ?? 0;

    /// <summary>Attaches a built index to a sealed field, taking over the caller's reference; a previous one is released.</summary>
    public void AttachIndex(int fieldIndex, Indexing.IndexHandle handle)
    {
        Debug.Assert(IsSealed, "indexes attach to sealed segments only");
        Interlocked.Exchange(ref _vectorIndexes[fieldIndex], handle)?.Release();
    }

    /// <summary>Detaches the field's index if it is the one with <paramref name="indexId"/>; searches holding it finish first.</summary>
    public void DetachIndex(int fieldIndex, long indexId)
    {
        var h = Volatile.Read(ref _vectorIndexes[fieldIndex]);
        if (h is not null && h.IndexId == indexId && Interlocked.CompareExchange(ref _vectorIndexes[fieldIndex], null, h) == h)
        {
            h.Release();
        }
    }

    /// <summary>Takes a view of the rows appended so far; the caller disposes it. Call under the shard's apply lock, except on
    /// a frozen or sealed segment (its rows no longer change) that the caller knows stays in the shard meanwhile.</summary>
    public SegmentSnapshot Snapshot()
    {
        if (!TryAcquire())
        {
            throw new InvalidOperationException($"segment {Id} was already released");
        }

        var count = _count;

        // The schema first: the columns read after it cover at least its fields (AddFields writes them first).
        var schema = Schema;
        var scalars = Volatile.Read(ref _scalars);
        var columns = new ScalarColumn?[schema.Fields.Length];
        var vectors = new VectorView[schema.Fields.Length];
        for (var f = 0; f < columns.Length; f++)
        {
            if (scalars[f] is { } s)
            {
                columns[f] = s.View(count);
            }
            else
            {
                vectors[f] = _vectors[f]!.View(count);
            }
        }

        var dynamic = (JsonColumn?)_dynamic?.View(count);

        // A sealed segment's shared live bitmap covers exactly its rows; a growing one has none (its rows still come in).
        var deletes = new DeleteState(_deletes.View(), MaxInsertTs, IsSealed && count == _count);
        return new SegmentSnapshot(this, count, columns, vectors, dynamic, _insertTs, deletes) { Schema = schema };
    }

    /// <summary>The vectors of a vector field of a growing segment, all rows, without a copy (for sealing): one piece per
    /// chunk of the field's store, in row order.</summary>
    public ReadOnlyMemory<float>[] VectorMemory(int fieldIndex) => _vectors[fieldIndex]!.Memory(_count);

    /// <summary>Copies rows out as a batch (scalars, dynamic and, unless left out, vectors) for sealing and compaction.</summary>
    public RowBatch Extract(ReadOnlySpan<int> rows, bool includeVectors = true)
    {
        using var snap = Snapshot();
        var columns = new BatchColumn[snap.Schema.Fields.Length];
        for (var f = 0; f < columns.Length; f++)
        {
            if (snap.GetColumnOrNull(f) is { } c)
            {
                columns[f] = ScalarStore.Extract(c, rows);
            }
            else
            {
                var view = snap.Vectors[f];
                var nulls = VectorNulls(view, rows);
                if (!includeVectors)
                {
                    columns[f] = new BatchColumn { Nulls = nulls };
                    continue;
                }

                var dim = view.Dimension;
                var v = new float[rows.Length * dim];
                for (var i = 0; i < rows.Length; i++)
                {
                    view.Row(rows[i]).CopyTo(v.AsSpan(i * dim, dim));
                }

                columns[f] = new BatchColumn { Vectors = v, Nulls = nulls };
            }
        }

        var dynamic = _dynamic?.Extract(rows).Json;

        return new RowBatch { Schema = snap.Schema, Count = rows.Length, Columns = columns, Dynamic = dynamic };
    }

    /// <summary>A row's insert timestamp; of a sealed segment, only the page holding it is verified.</summary>
    public long InsertTsOf(int row) => MappedBlock.At(_insertTs, row);

    /// <summary>The null flags of the given rows of a vector field, or null when none of them is null.</summary>
    private static bool[]? VectorNulls(VectorView view, ReadOnlySpan<int> rows)
    {
        if (!view.HasNulls)
        {
            return null;
        }

        bool[]? nulls = null;
        for (var i = 0; i < rows.Length; i++)
        {
            if (view.IsNull(rows[i]))
            {
                nulls ??= new bool[rows.Length];
                nulls[i] = true;
            }
        }

        return nulls;
    }

    /// <summary>Every row's insert timestamp, without a copy (for TTL expiry, <see cref="Search.RowExpiry"/>).</summary>
    public ReadOnlySpan<long> AllInsertTimestamps => _insertTs.Span[.._count];

    /// <summary>Copies the insert timestamps of the given rows.</summary>
    public long[] InsertTimestamps(ReadOnlySpan<int> rows)
    {
        var ts = new long[rows.Length];
        var all = _insertTs.Span;
        for (var i = 0; i < rows.Length; i++)
        {
            ts[i] = all[rows[i]];
        }

        return ts;
    }

    /// <summary>Takes a reference for a reader; false if the segment was already released for good.</summary>
    public bool TryAcquire() => Common.RefCount.TryAcquire(ref _refs);

    /// <summary>Drops a reference; the last one (the owner's, dropped when the segment leaves the collection) unmaps the file.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            Uncharge();
            if (_ledger is { } ledger && Interlocked.Exchange(ref _marksCharged, 0) is var marks and not 0)
            {
                ledger.AddDeleteMarks(-marks);
            }

            // The filter cache first: it gives its bytes back and leaves the ledger's list of caches to drop.
            Volatile.Read(ref _filterBitmaps)?.Evict();
            for (var kind = 0; kind < _derivedCharged.Length; kind++)
            {
                if (_ledger is { } held && Interlocked.Exchange(ref _derivedCharged[kind], 0) is var derived and not 0)
                {
                    held.AddDerived(-derived, (DerivedKind)kind);
                }
            }

            for (var f = 0; f < _vectorIndexes.Length; f++)
            {
                Interlocked.Exchange(ref _vectorIndexes[f], null)?.Release();
            }

            _map?.Dispose();
            _map = null;
        }
    }

    /// <summary>The rows of this sealed segment not named by its first <paramref name="marks"/> delete marks, shared.</summary>
    internal Bitmap LiveBitmap(int marks) => _deletes.Live(_count, marks);

    private void EnsureCapacity(int needed)
    {
        var cap = _insertTs.Length;
        if (needed <= cap)
        {
            return;
        }

        var newCap = Math.Max(needed, cap * 2);
        foreach (var s in _scalars)
        {
            s?.Grow(newCap, _count);
        }

        foreach (var v in _vectors)
        {
            v?.Grow(newCap, _count);
        }

        _dynamic?.Grow(newCap, _count);
        var ins = new long[newCap];
        _insertTs.Span[.._count].CopyTo(ins);
        _insertTs = ins;
    }
}

/// <summary>A consistent view of a segment's first <see cref="RowCount"/> rows. Holds a reference on the segment
/// (so a mapped file stays mapped) until disposed.</summary>
internal sealed class SegmentSnapshot : IRowSource, IDisposable
{
    private readonly ScalarColumn?[] _columns;
    private readonly ReadOnlyMemory<long> _insertTs;
    private readonly DeleteState _deletes;
    private int _disposed;

    public SegmentSnapshot(
        Segment segment, int rowCount, ScalarColumn?[] columns, VectorView[] vectors, JsonColumn? dynamic, ReadOnlyMemory<long> insertTs,
        DeleteState deletes)
    {
        Segment = segment;
        RowCount = rowCount;
        _columns = columns;
        Vectors = vectors;
        Dynamic = dynamic;
        _insertTs = insertTs;
        _deletes = deletes;
    }

    public Segment Segment { get; }

    /// <summary>The segment's schema when the snapshot was taken (a field added later has no column here).</summary>
    public required CollectionSchema Schema { get; init; }

    public int RowCount { get; }

    public JsonColumn? Dynamic { get; }

    /// <summary>Per schema field index; default for scalar fields.</summary>
    public VectorView[] Vectors { get; }

    public Filtering.ScalarIndexes? Indexes => Segment.IsSealed && RowCount == Segment.Count ? Segment.Indexes : null;

    /// <summary>The column of a scalar field; null for a vector field.</summary>
    public ScalarColumn? GetColumnOrNull(int fieldIndex) => _columns[fieldIndex];

    public ScalarColumn GetColumn(int fieldIndex) =>
        _columns[fieldIndex] ?? throw new ArgumentException($"field {Schema.Fields[fieldIndex].Name} is a vector field", nameof(fieldIndex));

    /// <summary>Rows visible at <paramref name="ts"/>: inserted at or before it and not deleted at or before it; null when
    /// that is every row of the snapshot. The bitmap returned may be shared with other readers: never change it.
    /// <para>Cost: a read at or after every timestamp the snapshot saw (a view's own timestamp, which is taken with the
    /// snapshot under the apply lock) is O(1) without deletes and on a sealed segment (its live bitmap), and O(rows of
    /// this segment) on a growing segment with deletes. A read at an older timestamp tests every row's timestamps.</para></summary>
    public Bitmap? Visible(long ts) => Visible(ts, out _);

    /// <summary><see cref="Visible(long)"/>, and how many rows it admits (<paramref name="count"/>).</summary>
    public Bitmap? Visible(long ts, out int count)
    {
        var marks = _deletes.Marks;
        if (ts >= _deletes.MaxInsertTs && ts >= marks.MaxTs)
        {
            // Every row of the snapshot is inserted at or before ts, and every mark it saw is too; marks that arrived
            // after the snapshot are newer than ts, and the bitmap built for its prefix of the marks leaves them out.
            count = RowCount - marks.Count;
            if (marks.Count == 0)
            {
                return null;
            }

            if (_deletes.Sealed)
            {
                return Segment.LiveBitmap(marks.Count);
            }
        }

        var bm = new Bitmap(RowCount);
        var words = bm.Words;
        var insertTs = _insertTs.Span;
        for (var i = 0; i < RowCount; i++)
        {
            if (insertTs[i] <= ts)
            {
                words[i >> 6] |= 1UL << i;
            }
        }

        marks.ClearDeletedAt(bm, ts);
        count = bm.PopCount();
        return bm;
    }

    /// <summary>The delete marks the snapshot saw: a prefix of the segment's append-only log.</summary>
    public DeleteLogView Marks => _deletes.Marks;

    /// <summary>Whether a read at <paramref name="ts"/> sees exactly the snapshot's rows less its <see cref="Marks"/>
    /// (every row inserted and every mark made at or before it), as a view's own reads do.</summary>
    public bool SeesAllAt(long ts) => ts >= _deletes.MaxInsertTs && ts >= _deletes.Marks.MaxTs;

    /// <summary>The insert timestamps of the snapshot's rows, without a copy.</summary>
    public ReadOnlySpan<long> InsertTimestamps => _insertTs.Span[..RowCount];

    /// <summary>Whether the row is inserted at or before <paramref name="ts"/> and not deleted at or before it (a mark
    /// made after this snapshot is newer than any timestamp it reads at).</summary>
    public bool IsVisible(int row, long ts) => MappedBlock.At(_insertTs, row) <= ts && Segment.DeleteTsOf(row) > ts;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Segment.Release();
        }
    }
}

/// <summary>The delete marks a snapshot saw (a prefix of the segment's log), the newest insert's timestamp, and whether
/// the segment was sealed with every row in the snapshot (then its shared live bitmap stands for the marks).</summary>
internal readonly record struct DeleteState(DeleteLogView Marks, long MaxInsertTs, bool Sealed);
