using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Quiver.Common;
using Quiver.Distance;
using Quiver.Storage;
using Quiver.Writes;

namespace Quiver.Segments;

/// <summary>Writes and opens sealed segment files (<c>*.qseg</c>): a 64-byte header, a block directory, then 64-byte
/// aligned blocks, each followed by a table of one CRC-32C per <see cref="PageSize"/> bytes of it: per scalar field its
/// values at their own width (or offsets plus UTF-8 bytes) and a null bitmap, the insert timestamps, per vector field its
/// vectors and their squared norms, and the rows in primary-key order. Opening maps the file and builds column views over
/// it: the work is per block, not per row, and each page is verified on first touch (<see cref="MappedBlock"/>), so that a
/// probe of a few keys checksums a few pages. Version 3 files (one CRC-32C per block) are read as they are, a block
/// verified whole on its first touch; version 1 files (one row-batch block for all scalars) and version 2 files (no
/// primary-key order) are rewritten as the current version on open. The byte layout is in docs/format-segment.md.</summary>
internal static class SegmentFile
{
    public const ulong Magic = 0x31_47_45_53_56_49_55_51; // "QUIVSEG1" little-endian
    public const int Version = 4;

    /// <summary>The oldest version read in place; older files are rewritten on open.</summary>
    public const int OldestReadInPlace = 3;

    /// <summary>log2 of <see cref="PageSize"/>, stored in each directory entry of a version 4 file.</summary>
    public const int PageShift = 12;

    /// <summary>Bytes per page checksum of a version 4 block: the operating system's page, what a probe maps in anyway.</summary>
    public const int PageSize = 1 << PageShift;
    public const int HeaderSize = 64;
    public const int EntrySize = 32;
    public const int Alignment = 64;

    /// <summary>The field index that directory entries of the dynamic field (<see cref="CollectionSchema.DynamicFieldName"/>) carry.</summary>
    public const int DynamicFieldIndex = -2;

    public enum BlockKind : uint
    {
        /// <summary>Version 1 only: every scalar field in the row-batch encoding.</summary>
        Scalars = 1,
        InsertTimestamps = 2,
        Vectors = 3,
        SquaredNorms = 4,
        /// <summary>Fixed-width values, or the UTF-8 bytes of a variable-length field.</summary>
        Values = 5,
        /// <summary>rowCount + 1 Int64 offsets into the Values block of a VarChar, JSON, Array or dynamic field.</summary>
        Offsets = 6,
        /// <summary>Null bitmap, 64-bit words, set bit = null; present only when a row is null.</summary>
        Nulls = 7,
        /// <summary>Version 3: rowCount Int32 row numbers in primary-key order (the primary key's field).</summary>
        KeyOrder = 8,
        /// <summary>Version 3, Int64 primary keys: the rowCount keys in ascending order (the primary key's field).</summary>
        SortedKeys = 9,
        /// <summary>Version 3: a bloom filter of the primary keys, UInt64 words (<see cref="Segments.KeyFilter"/>).</summary>
        KeyFilter = 10,
    }

    /// <summary>Writes rows of <paramref name="batch"/> with their insert timestamps to <paramref name="path"/> durably:
    /// temp file, fsync, rename, fsync of the folder. Vectors come from the batch's vector columns, or, where
    /// <paramref name="vectors"/> gives them (by field index, the rows in order in one or more pieces of whole rows: a
    /// growing segment's chunks), straight from there, so that sealing a growing segment does not copy its vectors first. <paramref name="version"/> is <see cref="Version"/> but for tests of reading version 3
    /// files. Returns the segment's size for segment sizing: the file length less its page checksums
    /// (<see cref="DataBytes"/>).</summary>
    public static long Write(
        IFileSystem fs, string path, long segmentId, long partitionId, RowBatch batch, ReadOnlySpan<long> insertTs, ReadOnlyMemory<float>[]?[]? vectors = null,
        int version = Version)
    {
        if (version is not (OldestReadInPlace or Version))
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, $"writes versions {OldestReadInPlace} and {Version}");
        }

        var schema = batch.Schema;
        var count = batch.Count;
        var blocks = new List<(BlockKind Kind, int Field, byte[]? Owned, ReadOnlyMemory<float>[]? Floats)>
        {
            (BlockKind.InsertTimestamps, -1, MemoryMarshal.AsBytes(insertTs).ToArray(), default),
        };
        long maxInsertTs = 0;
        foreach (var ts in insertTs)
        {
            maxInsertTs = Math.Max(maxInsertTs, ts);
        }

        for (var f = 0; f < schema.Fields.Length; f++)
        {
            var field = schema.Fields[f];
            var c = batch.Columns[f];
            if (field.IsVector)
            {
                var pieces = vectors?[f] ?? [c.Vectors];
                var dim = field.VectorWidth();
                var norms = new float[count];
                var r = 0;
                foreach (var piece in pieces)
                {
                    for (var at = 0; at < piece.Length; at += dim)
                    {
                        norms[r++] = VectorMath.SquaredNorm(piece.Span.Slice(at, dim));
                    }
                }

                blocks.Add((BlockKind.Vectors, f, null, WholePages(pieces, version)));
                blocks.Add((BlockKind.SquaredNorms, f, null, [norms]));
                AddNulls(blocks, f, c.Nulls, count);
                continue;
            }

            var (offsets, values) = AddScalar(blocks, f, field.DataType.Storage(), c, count);
            if (f == batch.PrimaryKeyIndex)
            {
                AddKeyOrder(blocks, f, c, offsets, values, count);
            }
        }

        if (batch.Dynamic is { } dyn)
        {
            AddScalar(blocks, DynamicFieldIndex, DataType.Json, new BatchColumn { Json = dyn }, count);
        }

        var directory = new byte[blocks.Count * EntrySize];
        var pageSums = new byte[blocks.Count][];
        var lengths = new long[blocks.Count];
        var offset = Align(HeaderSize + directory.Length);
        for (var i = 0; i < blocks.Count; i++)
        {
            var b = blocks[i];
            var pieces = b.Floats ?? [];
            var length = b.Owned?.LongLength ?? 0;
            foreach (var piece in pieces)
            {
                length += (long)piece.Length * sizeof(float);
            }

            var e = directory.AsSpan(i * EntrySize, EntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)b.Kind);
            BinaryPrimitives.WriteInt32LittleEndian(e[4..], b.Field);
            BinaryPrimitives.WriteInt64LittleEndian(e[8..], offset);
            BinaryPrimitives.WriteInt64LittleEndian(e[16..], length);
            lengths[i] = length;
            offset = Align(offset + length);
            if (version == OldestReadInPlace)
            {
                // WholePages gave a version 3 block one piece.
                pageSums[i] = [];
                BinaryPrimitives.WriteUInt32LittleEndian(e[24..], Crc32C.Compute(b.Owned ?? MemoryMarshal.AsBytes(pieces[0].Span)));
                continue;
            }

            // Version 4: the block's page checksums follow it at the next aligned offset; the entry holds the table's
            // CRC-32C and the page size. Every piece but the last is whole pages (WholePages), so the pieces' tables
            // joined are the block's.
            pageSums[i] = b.Owned is { } owned ? PageChecksums(owned) : [.. pieces.SelectMany(p => PageChecksums(MemoryMarshal.AsBytes(p.Span)))];
            BinaryPrimitives.WriteUInt32LittleEndian(e[24..], Crc32C.Compute(pageSums[i]));
            BinaryPrimitives.WriteInt32LittleEndian(e[28..], PageShift);
            offset = Align(offset + pageSums[i].Length);
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], version);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], blocks.Count);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], segmentId);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], partitionId);
        BinaryPrimitives.WriteInt64LittleEndian(header[32..], count);
        BinaryPrimitives.WriteInt64LittleEndian(header[40..], maxInsertTs);
        BinaryPrimitives.WriteUInt32LittleEndian(header[48..], Crc32C.Compute(directory));
        BinaryPrimitives.WriteUInt32LittleEndian(header[52..], Crc32C.Compute(header[..52]));

        var tmp = path + ".tmp";
        long written;
        using (var file = fs.Create(tmp))
        {
            file.Write(header);
            file.Write(directory);
            written = HeaderSize + directory.Length;
            Span<byte> zeros = stackalloc byte[Alignment];
            zeros.Clear();
            for (var i = 0; i < blocks.Count; i++)
            {
                var b = blocks[i];
                if (b.Owned is { } owned)
                {
                    written = WriteAligned(file, written, owned, zeros);
                }
                else
                {
                    written = WriteAligned(file, written, [], zeros);
                    foreach (var piece in b.Floats!)
                    {
                        file.Write(MemoryMarshal.AsBytes(piece.Span));
                        written += (long)piece.Length * sizeof(float);
                    }
                }

                if (pageSums[i].Length > 0)
                {
                    written = WriteAligned(file, written, pageSums[i], zeros);
                }
            }

            file.Sync();
        }

        fs.Rename(tmp, path);
        fs.SyncDirectory(Path.GetDirectoryName(path)!);
        return DataBytes(lengths);
    }

    /// <summary>What segment sizing counts of a file (<see cref="Segment.Bytes"/>): its header, directory and blocks with
    /// their alignment, not the page checksums, i.e. the length of the version 3 file of the same rows. So the
    /// thresholds of <see cref="QuiverOptions.SegmentSealBytes"/> and <see cref="QuiverOptions.SegmentMaxBytes"/> mean
    /// rows, and merges plan the same packing whatever the checksum layout (the tables add about 0.1 % to a large block,
    /// but up to 64 bytes of padding to each block of a tiny one).</summary>
    private static long DataBytes(ReadOnlySpan<long> blockLengths)
    {
        var end = Align(HeaderSize + ((long)blockLengths.Length * EntrySize));
        for (var i = 0; i < blockLengths.Length; i++)
        {
            var start = Align(end);
            end = start + blockLengths[i];
        }

        return end;
    }

    /// <summary>The pieces of a block as they can be written and checksummed piece by piece: as given when every piece
    /// but the last is whole pages (a growing segment's chunks are), otherwise (and for a version 3 block, whose one
    /// CRC covers the whole block) joined into one.</summary>
    private static ReadOnlyMemory<float>[] WholePages(ReadOnlyMemory<float>[] pieces, int version)
    {
        var whole = version != OldestReadInPlace;
        for (var i = 0; i < pieces.Length - 1 && whole; i++)
        {
            whole = ((long)pieces[i].Length * sizeof(float)) % PageSize == 0;
        }

        if (whole || pieces.Length == 1)
        {
            return pieces;
        }

        var joined = new float[pieces.Sum(p => (long)p.Length)];
        var at = 0;
        foreach (var piece in pieces)
        {
            piece.CopyTo(joined.AsMemory(at));
            at += piece.Length;
        }

        return [joined];
    }

    /// <summary>Writes <paramref name="bytes"/> at the next 64-byte boundary after <paramref name="written"/> bytes;
    /// returns the bytes written then.</summary>
    private static long WriteAligned(Stream file, long written, ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> zeros)
    {
        var pad = (int)(Align(written) - written);
        file.Write(zeros[..pad]);
        file.Write(bytes);
        return written + pad + bytes.Length;
    }

    /// <summary>One CRC-32C per <see cref="PageSize"/> bytes of <paramref name="bytes"/> (the last page may be short), as
    /// little-endian UInt32s.</summary>
    private static byte[] PageChecksums(ReadOnlySpan<byte> bytes)
    {
        var pages = (int)(((long)bytes.Length + PageSize - 1) >> PageShift);
        var table = new byte[pages * sizeof(uint)];
        for (var p = 0; p < pages; p++)
        {
            var start = p << PageShift;
            BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(p * sizeof(uint)), Crc32C.Compute(bytes.Slice(start, Math.Min(PageSize, bytes.Length - start))));
        }

        return table;
    }

    /// <summary>Maps a segment file and builds its columns over the mapping, checking the header, the directory and every
    /// block's bounds and size; each page's CRC-32C (a version 3 file: each block's) is checked on its first touch. Any
    /// mismatch is a <see cref="CorruptionException"/> naming the file and block, never a silently wrong result. A version
    /// 1 or 2 file is first rewritten in place as the current version (same name, crash-safe); a version 3 file is read as
    /// it is until compaction rewrites its rows. <paramref name="fieldsInFile"/> (from the
    /// manifest) is how many of the schema's fields the file holds when fields were added to the collection after it was
    /// written; the others read their default value or null in every row (<see cref="AddedFields"/>).</summary>
    public static Segment Open(IFileSystem fs, string path, CollectionSchema schema, long expectedId, int? fieldsInFile = null)
    {
        MappedFile? map = fs.MapReadOnly(path);
        try
        {
            var h = ReadHeader(map, path, expectedId);
            if (h.Version < OldestReadInPlace)
            {
                Migrate(fs, path, schema, map, h);
                map.Dispose();
                map = null;
                map = fs.MapReadOnly(path);
                h = ReadHeader(map, path, expectedId);
            }

            var segment = OpenV2(path, schema, map, h, fieldsInFile);
            var lengths = new long[h.BlockCount];
            for (var i = 0; i < lengths.Length; i++)
            {
                lengths[i] = BinaryPrimitives.ReadInt64LittleEndian(map.Span(HeaderSize + (i * EntrySize) + 16, 8));
            }

            segment.Bytes = DataBytes(lengths);
            return segment;
        }
        catch
        {
            map?.Dispose();
            throw;
        }
    }

    /// <summary>The columns, timestamps and vectors of a just-written file, for a growing segment that is being sealed
    /// in place (<see cref="Segment.Seal"/>), so that it drops its in-memory copies.</summary>
    public static MappedColumns MapColumns(MappedFile map, CollectionSchema schema, string path)
    {
        var h = ReadHeader(map, path, BinaryPrimitives.ReadInt64LittleEndian(map.Span(16, 8)));
        return MapColumns(Blocks(map, path, h, schema), path, schema, h.Rows, withKeys: true);
    }

    private readonly record struct Header(int Version, int BlockCount, long Id, long PartitionId, int Rows, long MaxInsertTs);

    private static Header ReadHeader(MappedFile map, string path, long expectedId)
    {
        if (map.Length < HeaderSize)
        {
            Throw.Corrupt(path, $"file is {map.Length} bytes, shorter than the {HeaderSize}-byte header");
        }

        var header = map.Span(0, HeaderSize);
        if (BinaryPrimitives.ReadUInt64LittleEndian(header) != Magic)
        {
            Throw.Corrupt(path, "bad magic number: not a Quiver segment file");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header[52..]) != Crc32C.Compute(header[..52]))
        {
            Throw.Corrupt(path, "header checksum mismatch");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (version is < 1 or > Version)
        {
            Throw.Corrupt(path, $"segment format version {version}, which this build does not read (it reads 1 and 2, by rewriting them, 3 and {Version}); " +
                "open the data folder with the Quiver release that wrote it");
        }

        var blockCount = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        var id = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        var partitionId = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
        var rows = BinaryPrimitives.ReadInt64LittleEndian(header[32..]);
        if (id != expectedId)
        {
            Throw.Corrupt(path, $"holds segment {id}, the manifest expects {expectedId}");
        }

        if (blockCount < 0 || HeaderSize + ((long)blockCount * EntrySize) > map.Length || rows < 0 || rows > int.MaxValue)
        {
            Throw.Corrupt(path, $"impossible block count {blockCount} or row count {rows}");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header[48..]) != Crc32C.Compute(map.Span(HeaderSize, blockCount * EntrySize)))
        {
            Throw.Corrupt(path, "block directory checksum mismatch");
        }

        return new Header(version, blockCount, id, partitionId, (int)rows, BinaryPrimitives.ReadInt64LittleEndian(header[40..]));
    }

    /// <summary>The directory's blocks by (kind, field), bounds-checked, not yet verified.</summary>
    private static unsafe Dictionary<(BlockKind, int), MappedBlock> Blocks(MappedFile map, string path, Header h, CollectionSchema schema)
    {
        var directory = map.Span(HeaderSize, h.BlockCount * EntrySize);
        var blocks = new Dictionary<(BlockKind, int), MappedBlock>(h.BlockCount);
        for (var i = 0; i < h.BlockCount; i++)
        {
            var e = directory.Slice(i * EntrySize, EntrySize);
            var kind = (BlockKind)BinaryPrimitives.ReadUInt32LittleEndian(e);
            var field = BinaryPrimitives.ReadInt32LittleEndian(e[4..]);
            var offset = BinaryPrimitives.ReadInt64LittleEndian(e[8..]);
            var length = BinaryPrimitives.ReadInt64LittleEndian(e[16..]);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
            var pageShift = BinaryPrimitives.ReadInt32LittleEndian(e[28..]);
            var name = field switch
            {
                DynamicFieldIndex => $"block {i} ({kind}, dynamic field)",
                >= 0 when field < schema.Fields.Length => $"block {i} ({kind}, field '{schema.Fields[field].Name}')",
                _ => $"block {i} ({kind})",
            };
            if (offset < 0 || length < 0 || length > int.MaxValue || offset > map.Length - length || offset % Alignment != 0)
            {
                Throw.Corrupt(path, $"{name} lies outside the file or off its 64-byte alignment");
            }

            if (field != -1 && field != DynamicFieldIndex && (uint)field >= (uint)schema.Fields.Length)
            {
                Throw.Corrupt(path, $"{name} names field {field}, which the schema does not have");
            }

            uint* pageSums = null;
            if (h.Version >= 4)
            {
                // The page checksum table follows the block at the next aligned offset.
                var tableOffset = Align(offset + length);
                var tableLength = length == 0 || pageShift is < 6 or > 30 ? 0 : ((length + (1L << pageShift) - 1) >> pageShift) * sizeof(uint);
                if (pageShift is < 6 or > 30 || tableOffset > map.Length - tableLength)
                {
                    Throw.Corrupt(path, $"{name}: page size 2^{pageShift} out of range, or its page checksums lie outside the file");
                }

                pageSums = (uint*)(map.Pointer + tableOffset);
            }

            if (!blocks.TryAdd((kind, field), new MappedBlock(map.Pointer + offset, (int)length, crc, pageSums, pageShift, path, name)))
            {
                Throw.Corrupt(path, $"{name} appears twice");
            }
        }

        return blocks;
    }

    private static Segment OpenV2(string path, CollectionSchema schema, MappedFile map, Header h, int? fieldsInFile)
    {
        if (fieldsInFile is not { } held)
        {
            return Segment.CreateSealed(h.Id, h.PartitionId, schema, h.Rows, MapColumns(Blocks(map, path, h, schema), path, schema, h.Rows, withKeys: true), h.MaxInsertTs, map);
        }

        // The file's own blocks are read (and checked) against the schema it was written with; the added fields follow.
        if (held < 1 || held > schema.Fields.Length)
        {
            Throw.Corrupt(path, $"the manifest says the file holds {held} fields of a {schema.Fields.Length}-field schema");
        }

        var written = schema with { Fields = schema.Fields[..held] };
        var columns = MapColumns(Blocks(map, path, h, written), path, written, h.Rows, withKeys: true);
        var segment = Segment.CreateSealed(h.Id, h.PartitionId, written, h.Rows, columns, h.MaxInsertTs, map);
        segment.AddFields(schema, held);
        return segment;
    }

    /// <summary>Views over every block; <paramref name="withKeys"/> false reads a version 2 file, which has no key order.</summary>
    private static MappedColumns MapColumns(Dictionary<(BlockKind, int), MappedBlock> blocks, string path, CollectionSchema schema, int count, bool withKeys)
    {
        var insertTs = Block(blocks, path, BlockKind.InsertTimestamps, -1, "insert timestamps", (long)count * sizeof(long));
        var scalars = new ScalarStore?[schema.Fields.Length];
        for (var f = 0; f < schema.Fields.Length; f++)
        {
            var field = schema.Fields[f];
            if (!field.IsVector)
            {
                scalars[f] = ScalarStore.Fixed(MapColumn(blocks, path, field, f, count));
            }
        }

        var dynamic = schema.EnableDynamicField
            ? ScalarStore.Fixed(MapColumn(blocks, path, Segment.DynamicField, DynamicFieldIndex, count))
            : null;
        SortedKeys? keys = null;
        if (withKeys)
        {
            var pk = schema.IndexOf(schema.PrimaryKey.Name);
            var order = Block(blocks, path, BlockKind.KeyOrder, pk, "primary key order", (long)count * sizeof(int)).Paged<int>();
            var filter = Block(blocks, path, BlockKind.KeyFilter, pk, "primary key filter", (long)KeyFilter.WordCount(count) * sizeof(ulong)).Paged<ulong>();
            var column = scalars[pk]!.View(count);
            keys = column is StringColumn strings
                ? new SortedKeys(order, strings, filter)
                : new SortedKeys(order, Block(blocks, path, BlockKind.SortedKeys, pk, "sorted primary keys", (long)count * sizeof(long)).Paged<long>(), filter);
        }

        return new MappedColumns(scalars, dynamic, insertTs.Memory<long>(), MapVectorStores(blocks, schema, count, path), keys);
    }

    private static VectorStore?[] MapVectorStores(Dictionary<(BlockKind, int), MappedBlock> blocks, CollectionSchema schema, int count, string path)
    {
        var vectors = new VectorStore?[schema.Fields.Length];
        for (var f = 0; f < schema.Fields.Length; f++)
        {
            var field = schema.Fields[f];
            if (field.IsVector)
            {
                var dim = field.VectorWidth();
                var v = Block(blocks, path, BlockKind.Vectors, f, $"vectors of field '{field.Name}'", (long)count * dim * sizeof(float));
                var n = Block(blocks, path, BlockKind.SquaredNorms, f, $"squared norms of field '{field.Name}'", (long)count * sizeof(float));
                vectors[f] = new VectorStore(dim, v, n, count, NullBitmap(blocks, path, field, f, count));
            }
        }

        return vectors;
    }

    /// <summary>A column over a field's blocks: values at their width, or offsets plus bytes, and the optional null bitmap.</summary>
    private static ScalarColumn MapColumn(Dictionary<(BlockKind, int), MappedBlock> blocks, string path, FieldSchema field, int f, int count)
    {
        var what = $"field '{field.Name}'";
        var nulls = NullBitmap(blocks, path, field, f, count);

        var t = field.DataType.Storage();
        if (t is DataType.VarChar or DataType.Json or DataType.Array or DataType.SparseFloatVector)
        {
            var offsets = Block(blocks, path, BlockKind.Offsets, f, $"value offsets of {what}", ((long)count + 1) * sizeof(long));
            var bytes = Block(blocks, path, BlockKind.Values, f, $"values of {what}", -1);
            var values = new MappedValues(offsets.Memory<long>(), bytes.Memory<byte>(), path);
            return t switch
            {
                DataType.VarChar => new StringColumn(field, values, count, nulls),
                DataType.SparseFloatVector => new SparseColumn(field, values, count, nulls, path),
                _ => new JsonColumn(field, values, count, nulls),
            };
        }

        var fixedBlock = Block(blocks, path, BlockKind.Values, f, $"values of {what}", (long)count * WidthOf(t));
        return t switch
        {
            DataType.Bool => new BoolColumn(field, fixedBlock.Memory<bool>(), count, nulls),
            DataType.Int8 => ScalarColumn.Numeric(field, fixedBlock.Memory<sbyte>(), count, nulls),
            DataType.Int16 => ScalarColumn.Numeric(field, fixedBlock.Memory<short>(), count, nulls),
            DataType.Int32 => ScalarColumn.Numeric(field, fixedBlock.Memory<int>(), count, nulls),
            DataType.Int64 => ScalarColumn.Numeric(field, fixedBlock.Memory<long>(), count, nulls),
            DataType.Float => ScalarColumn.Numeric(field, fixedBlock.Memory<float>(), count, nulls),
            _ => ScalarColumn.Numeric(field, fixedBlock.Memory<double>(), count, nulls),
        };
    }

    /// <summary>A field's optional null bitmap (empty without one); one on a field that is not nullable is corruption.</summary>
    private static ReadOnlyMemory<ulong> NullBitmap(Dictionary<(BlockKind, int), MappedBlock> blocks, string path, FieldSchema field, int f, int count)
    {
        if (!blocks.ContainsKey((BlockKind.Nulls, f)))
        {
            return ReadOnlyMemory<ulong>.Empty;
        }

        var what = $"field '{field.Name}'";
        if (!field.Nullable && f != DynamicFieldIndex)
        {
            Throw.Corrupt(path, $"null bitmap for {what}, which is not nullable");
        }

        return Block(blocks, path, BlockKind.Nulls, f, $"null bitmap of {what}", (long)Bitmap.WordCount(count) * sizeof(ulong)).Memory<ulong>();
    }

    /// <summary>A required block of an expected length (-1: any length).</summary>
    private static MappedBlock Block(Dictionary<(BlockKind, int), MappedBlock> blocks, string path, BlockKind kind, int field, string what, long expectedLength)
    {
        if (!blocks.TryGetValue((kind, field), out var b))
        {
            Throw.Corrupt(path, $"no block for the {what}");
        }

        if (expectedLength >= 0 && b.Length != expectedLength)
        {
            Throw.Corrupt(path, $"the {what} block has {b.Length} bytes, expected {expectedLength}");
        }

        return b;
    }

    /// <summary>Bytes per value of a fixed-width type.</summary>
    private static int WidthOf(DataType t) => t switch
    {
        DataType.Bool or DataType.Int8 => 1,
        DataType.Int16 => 2,
        DataType.Int32 or DataType.Float => 4,
        _ => 8,
    };

    /// <summary>The blocks of one scalar field (or the dynamic field): values at the field's width or offsets plus UTF-8
    /// bytes, and a null bitmap when some row is null.</summary>
    private static (long[]? Offsets, byte[] Values) AddScalar(
        List<(BlockKind Kind, int Field, byte[]? Owned, ReadOnlyMemory<float>[]? Floats)> blocks, int f, DataType type, BatchColumn c, int count)
    {
        byte[] values;
        long[]? offsets = null;
        switch (type)
        {
            case DataType.VarChar or DataType.Json or DataType.Array or DataType.SparseFloatVector:
            {
                offsets = new long[count + 1];
                var bytes = new ArrayBufferWriter<byte>();
                using var json = new Utf8JsonWriter(bytes, new JsonWriterOptions { SkipValidation = true });
                for (var r = 0; r < count; r++)
                {
                    if (c.Strings is { } s)
                    {
                        if (s[r] is { } text)
                        {
                            Encoding.UTF8.GetBytes(text, bytes);
                        }
                    }
                    else if (c.Sparse is { } sparse)
                    {
                        // Milvus's row bytes: (uint32 index, float32 value) pairs, read in place by SparseColumn.
                        if (sparse[r] is { } v)
                        {
                            var n = v.Count * SparseVector.PairBytes;
                            v.WriteBytes(bytes.GetSpan(n));
                            bytes.Advance(n);
                        }
                    }
                    else if (c.Json![r] is { ValueKind: not JsonValueKind.Undefined } j)
                    {
                        j.WriteTo(json);
                        json.Flush();
                        json.Reset();
                    }

                    offsets[r + 1] = bytes.WrittenCount;
                }

                blocks.Add((BlockKind.Offsets, f, MemoryMarshal.AsBytes(offsets.AsSpan()).ToArray(), default));
                values = bytes.WrittenSpan.ToArray();
                break;
            }

            case DataType.Bool:
                values = new byte[count];
                for (var r = 0; r < count; r++)
                {
                    values[r] = c.Bools![r] ? (byte)1 : (byte)0;
                }

                break;
            case DataType.Int8: values = Narrow<sbyte>(c.Longs!, count); break;
            case DataType.Int16: values = Narrow<short>(c.Longs!, count); break;
            case DataType.Int32: values = Narrow<int>(c.Longs!, count); break;
            case DataType.Int64: values = MemoryMarshal.AsBytes(c.Longs.AsSpan(0, count)).ToArray(); break;
            case DataType.Float:
            {
                var floats = new float[count];
                for (var r = 0; r < count; r++)
                {
                    floats[r] = (float)c.Doubles![r];
                }

                values = MemoryMarshal.AsBytes(floats.AsSpan()).ToArray();
                break;
            }

            default: values = MemoryMarshal.AsBytes(c.Doubles.AsSpan(0, count)).ToArray(); break;
        }

        blocks.Add((BlockKind.Values, f, values, default));
        AddNulls(blocks, f, c.Nulls, count);
        return (offsets, values);
    }

    /// <summary>A field's null bitmap block, when some row is null.</summary>
    private static void AddNulls(List<(BlockKind Kind, int Field, byte[]? Owned, ReadOnlyMemory<float>[]? Floats)> blocks, int f, bool[]? nulls, int count)
    {
        if (nulls is null || Array.IndexOf(nulls, true, 0, count) < 0)
        {
            return;
        }

        var words = new ulong[Bitmap.WordCount(count)];
        for (var r = 0; r < count; r++)
        {
            if (nulls[r])
            {
                words[r >> 6] |= 1UL << r;
            }
        }

        blocks.Add((BlockKind.Nulls, f, MemoryMarshal.AsBytes(words.AsSpan()).ToArray(), default));
    }

    /// <summary>The primary key's blocks: the rows sorted by key and, for Int64 keys, the sorted keys (VarChar keys are
    /// compared through their values and offsets blocks, in UTF-8 byte order), then the keys' bloom filter.</summary>
    private static void AddKeyOrder(
        List<(BlockKind Kind, int Field, byte[]? Owned, ReadOnlyMemory<float>[]? Floats)> blocks, int f, BatchColumn c, long[]? offsets, byte[] values, int count)
    {
        var filter = new ulong[KeyFilter.WordCount(count)];
        if (offsets is null)
        {
            var (order, sorted) = SortedKeys.Sort(c.Longs.AsSpan(0, count));
            blocks.Add((BlockKind.KeyOrder, f, MemoryMarshal.AsBytes(order.AsSpan()).ToArray(), default));
            blocks.Add((BlockKind.SortedKeys, f, MemoryMarshal.AsBytes(sorted.AsSpan()).ToArray(), default));
            foreach (var key in sorted)
            {
                KeyFilter.Add(filter, KeyFilter.Hash(key));
            }
        }
        else
        {
            var order = SortedKeys.Sort(values, offsets, count);
            blocks.Add((BlockKind.KeyOrder, f, MemoryMarshal.AsBytes(order.AsSpan()).ToArray(), default));
            for (var r = 0; r < count; r++)
            {
                KeyFilter.Add(filter, KeyFilter.Hash(values.AsSpan((int)offsets[r], (int)(offsets[r + 1] - offsets[r]))));
            }
        }

        blocks.Add((BlockKind.KeyFilter, f, MemoryMarshal.AsBytes(filter.AsSpan()).ToArray(), default));
    }

    private static byte[] Narrow<T>(long[] src, int count)
        where T : unmanaged, INumber<T>
    {
        var dst = new T[count];
        for (var r = 0; r < count; r++)
        {
            dst[r] = T.CreateTruncating(src[r]);
        }

        return MemoryMarshal.AsBytes(dst.AsSpan()).ToArray();
    }

    /// <summary>Rewrites an older file as the current version under the same name, with the write protocol of
    /// <see cref="Write"/> (temp file, fsync, rename, fsync of the folder): a crash leaves either the old file or the new
    /// one, and the manifest, which names the file, needs no change. Row order is kept, so delete files and index files of
    /// the segment stay valid. Every block read is verified first. Version 1 holds all scalars in one row-batch block;
    /// version 2 has the current columns but no primary-key order.</summary>
    private static void Migrate(IFileSystem fs, string path, CollectionSchema schema, MappedFile map, Header h)
    {
        var blocks = Blocks(map, path, h, schema);
        var count = h.Rows;
        var tsBlock = Block(blocks, path, BlockKind.InsertTimestamps, -1, "insert timestamps", (long)count * sizeof(long));
        var scalars = h.Version == 1 ? DecodeV1Scalars(blocks, path, schema, count) : ReadV2Scalars(blocks, path, schema, h);
        var vectors = new ReadOnlyMemory<float>[]?[schema.Fields.Length];
        for (var f = 0; f < schema.Fields.Length; f++)
        {
            var field = schema.Fields[f];
            if (field.IsVector)
            {
                vectors[f] = [Block(blocks, path, BlockKind.Vectors, f, $"vectors of field '{field.Name}'", (long)count * field.VectorWidth() * sizeof(float)).Memory<float>()];
            }
        }

        try
        {
            Write(fs, path, h.Id, h.PartitionId, scalars, tsBlock.Memory<long>().Span, vectors);
        }
        catch (IOException ex)
        {
            throw new IOException(
                $"{path}: rewriting this format version {h.Version} segment file as version {Version} failed ({ex.Message}); the old file is unchanged: " +
                "free disk space or grant write access to the data folder and open it again", ex);
        }
    }

    private static RowBatch DecodeV1Scalars(Dictionary<(BlockKind, int), MappedBlock> blocks, string path, CollectionSchema schema, int count)
    {
        var scalarBlock = Block(blocks, path, BlockKind.Scalars, -1, "scalars", -1);
        RowBatch scalars;
        try
        {
            var reader = new ByteReader(scalarBlock.Bytes);
            scalars = RowBatchCodec.Decode(schema, ref reader, includeVectors: false);
        }
        catch (FormatException ex)
        {
            throw new CorruptionException(path, $"malformed version 1 scalars block: {ex.Message}", ex);
        }

        if (scalars.Count != count)
        {
            Throw.Corrupt(path, $"the version 1 scalars block holds {scalars.Count} rows, the header {count}");
        }

        return scalars;
    }

    /// <summary>Every row's scalars of a version 2 file, read through the same column views as a current file (which
    /// verify each block), as a batch to write again.</summary>
    private static RowBatch ReadV2Scalars(Dictionary<(BlockKind, int), MappedBlock> blocks, string path, CollectionSchema schema, Header h)
    {
        // The segment does not own the mapping (map: null): the caller disposes it after the rewrite.
        var segment = Segment.CreateSealed(h.Id, h.PartitionId, schema, h.Rows, MapColumns(blocks, path, schema, h.Rows, withKeys: false), h.MaxInsertTs, map: null);
        try
        {
            var rows = new int[h.Rows];
            for (var i = 0; i < rows.Length; i++)
            {
                rows[i] = i;
            }

            return segment.Extract(rows, includeVectors: false);
        }
        finally
        {
            segment.Release();
        }
    }

    private static long Align(long x) => (x + Alignment - 1) / Alignment * Alignment;
}

/// <summary>Everything of a segment that lives in its mapped file: a store per scalar field (null for vector fields), the
/// dynamic field's (null without one), the insert timestamps, a store per vector field (null for scalar fields), and the
/// rows in primary-key order (null only while a version 2 file is read to be rewritten).</summary>
internal sealed record MappedColumns(ScalarStore?[] Scalars, ScalarStore? Dynamic, ReadOnlyMemory<long> InsertTs, VectorStore?[] Vectors, SortedKeys? Keys);

/// <summary>Delete files (<c>*.qdel</c>): the delete marks of one sealed segment as of a checkpoint.
/// Layout: magic "QUIVDEL1" (8), version i32, count i32, segment id i64, then count x (row i32, reserved i32, ts i64),
/// then CRC-32C (u32) of everything before it.</summary>
internal static class DeleteFile
{
    public const ulong Magic = 0x31_4C_45_44_56_49_55_51; // "QUIVDEL1"

    public static void Write(IFileSystem fs, string path, long segmentId, IReadOnlyList<(int Row, long Ts)> marks)
    {
        var w = new ByteWriter(24 + (marks.Count * 16) + 4);
        w.I64(unchecked((long)Magic));
        w.I32(1);
        w.I32(marks.Count);
        w.I64(segmentId);
        foreach (var (row, ts) in marks)
        {
            w.I32(row);
            w.I32(0);
            w.I64(ts);
        }

        w.U32(Crc32C.Compute(w.WrittenSpan));
        AtomicFile.WriteAllBytes(fs, path, w.WrittenSpan);
    }

    public static List<(int Row, long Ts)> Read(IFileSystem fs, string path, long segmentId, int rowCount)
    {
        byte[] data;
        using (var s = fs.OpenRead(path))
        {
            data = new byte[s.Length];
            s.ReadExactly(data);
        }

        if (data.Length < 28 || BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(data.Length - 4)) != Crc32C.Compute(data.AsSpan(0, data.Length - 4)))
        {
            Throw.Corrupt(path, "delete file checksum mismatch or truncated file");
        }

        var r = new ByteReader(data.AsSpan(0, data.Length - 4));
        if (unchecked((ulong)r.I64()) != Magic || r.I32() != 1)
        {
            Throw.Corrupt(path, "bad magic number or version in delete file");
        }

        var count = r.I32();
        var id = r.I64();
        if (id != segmentId || count < 0 || r.Remaining != count * 16)
        {
            Throw.Corrupt(path, $"delete file for segment {id} with {count} marks does not fit (expected segment {segmentId})");
        }

        var marks = new List<(int, long)>(count);
        for (var i = 0; i < count; i++)
        {
            var row = r.I32();
            r.I32();
            var ts = r.I64();
            if ((uint)row >= (uint)rowCount)
            {
                Throw.Corrupt(path, $"delete mark for row {row} of a {rowCount}-row segment");
            }

            marks.Add((row, ts));
        }

        return marks;
    }
}
