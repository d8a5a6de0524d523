using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Quiver.Common;
using Quiver.Storage;
using Quiver.Writes;

namespace Quiver.Segments;

/// <summary>Writes and opens sealed segment files (<c>*.qseg</c>): a 64-byte header, a block directory, then 64-byte
/// aligned blocks each with its own CRC-32C. The byte layout is in docs/format-segment.md.</summary>
internal static class SegmentFile
{
    public const ulong Magic = 0x31_47_45_53_56_49_55_51; // "QUIVSEG1" little-endian
    public const int Version = 1;
    public const int HeaderSize = 64;
    public const int EntrySize = 32;
    public const int Alignment = 64;

    public enum BlockKind : uint
    {
        Scalars = 1,
        InsertTimestamps = 2,
        Vectors = 3,
    }

    /// <summary>Writes rows of <paramref name="batch"/> with their insert timestamps to <paramref name="path"/> durably:
    /// temp file, fsync, rename, fsync of the folder. Vectors come from the batch's vector columns, or, where
    /// <paramref name="vectors"/> gives them (by field index), straight from there, so that sealing a growing segment does
    /// not copy its vectors first. Returns the file length.</summary>
    public static long Write(
        IFileSystem fs, string path, long segmentId, long partitionId, RowBatch batch, ReadOnlySpan<long> insertTs, ReadOnlyMemory<float>[]? vectors = null)
    {
        var schema = batch.Schema;
        var scalars = new ByteWriter(1 << 16);
        batch.Encode(scalars, includeVectors: false);
        var blocks = new List<(BlockKind Kind, int Field, byte[]? Owned, ReadOnlyMemory<float> Floats)>
        {
            (BlockKind.Scalars, -1, scalars.WrittenSpan.ToArray(), default),
            (BlockKind.InsertTimestamps, -1, MemoryMarshal.AsBytes(insertTs).ToArray(), default),
        };
        for (var f = 0; f < schema.Fields.Length; f++)
        {
            if (schema.Fields[f].IsVector)
            {
                blocks.Add((BlockKind.Vectors, f, null, vectors?[f] ?? batch.Columns[f].Vectors));
            }
        }

        var directory = new byte[blocks.Count * EntrySize];
        var offset = Align(HeaderSize + directory.Length);
        for (var i = 0; i < blocks.Count; i++)
        {
            var b = blocks[i];
            ReadOnlySpan<byte> bytes = b.Owned ?? MemoryMarshal.AsBytes(b.Floats.Span);
            var e = directory.AsSpan(i * EntrySize, EntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)b.Kind);
            BinaryPrimitives.WriteInt32LittleEndian(e[4..], b.Field);
            BinaryPrimitives.WriteInt64LittleEndian(e[8..], offset);
            BinaryPrimitives.WriteInt64LittleEndian(e[16..], bytes.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[24..], Crc32C.Compute(bytes));
            offset = Align(offset + bytes.Length);
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], blocks.Count);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], segmentId);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], partitionId);
        BinaryPrimitives.WriteInt64LittleEndian(header[32..], batch.Count);
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
            foreach (var b in blocks)
            {
                var pad = (int)(Align(written) - written);
                file.Write(zeros[..pad]);
                written += pad;
                ReadOnlySpan<byte> bytes = b.Owned ?? MemoryMarshal.AsBytes(b.Floats.Span);
                file.Write(bytes);
                written += bytes.Length;
            }

            file.Sync();
        }

        fs.Rename(tmp, path);
        fs.SyncDirectory(Path.GetDirectoryName(path)!);
        return written;
    }

    /// <summary>Maps and verifies a segment file: header, directory and every block checksum. Any mismatch is a
    /// <see cref="CorruptionException"/> naming the file and block, never a silently wrong result.</summary>
    public static unsafe Segment Open(IFileSystem fs, string path, CollectionSchema schema, long expectedId)
    {
        var map = fs.MapReadOnly(path);
        try
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
            if (version != Version)
            {
                Throw.Corrupt(path, $"unsupported segment format version {version}");
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

            var directory = map.Span(HeaderSize, blockCount * EntrySize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[48..]) != Crc32C.Compute(directory))
            {
                Throw.Corrupt(path, "block directory checksum mismatch");
            }

            var count = (int)rows;
            RowBatch? scalars = null;
            long[]? insertTs = null;
            var vectors = new VectorStore?[schema.Fields.Length];
            for (var i = 0; i < blockCount; i++)
            {
                var e = directory.Slice(i * EntrySize, EntrySize);
                var kind = (BlockKind)BinaryPrimitives.ReadUInt32LittleEndian(e);
                var field = BinaryPrimitives.ReadInt32LittleEndian(e[4..]);
                var offset = BinaryPrimitives.ReadInt64LittleEndian(e[8..]);
                var length = BinaryPrimitives.ReadInt64LittleEndian(e[16..]);
                var crc = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
                if (offset < 0 || length < 0 || length > int.MaxValue || offset + length > map.Length)
                {
                    Throw.Corrupt(path, $"block {i} ({kind}) lies outside the file");
                }

                var data = map.Span(offset, (int)length);
                if (Crc32C.Compute(data) != crc)
                {
                    Throw.Corrupt(path, $"block {i} ({kind}{(field >= 0 ? $", field {field}" : "")}) checksum mismatch");
                }

                switch (kind)
                {
                    case BlockKind.Scalars:
                        var reader = new ByteReader(data);
                        scalars = RowBatch.Decode(schema, ref reader, includeVectors: false);
                        break;
                    case BlockKind.InsertTimestamps:
                        insertTs = MemoryMarshal.Cast<byte, long>(data).ToArray();
                        break;
                    case BlockKind.Vectors:
                        if ((uint)field >= (uint)schema.Fields.Length || !schema.Fields[field].IsVector)
                        {
                            Throw.Corrupt(path, $"vector block for field {field}, which is not a vector field");
                        }

                        var dim = schema.Fields[field].Dimension!.Value;
                        if (length != (long)count * dim * sizeof(float))
                        {
                            Throw.Corrupt(path, $"vector block of field '{schema.Fields[field].Name}' has {length} bytes, expected {(long)count * dim * sizeof(float)}");
                        }

                        vectors[field] = new VectorStore(dim, (float*)(map.Pointer + offset), count);
                        break;
                    default:
                        Throw.Corrupt(path, $"unknown block kind {(uint)kind}");
                        break;
                }
            }

            if (scalars is null || insertTs is null || scalars.Count != count || insertTs.Length != count)
            {
                Throw.Corrupt(path, "missing or mis-sized scalar or timestamp block");
            }

            for (var f = 0; f < schema.Fields.Length; f++)
            {
                if (schema.Fields[f].IsVector && vectors[f] is null)
                {
                    Throw.Corrupt(path, $"no vector block for field '{schema.Fields[f].Name}'");
                }
            }

            return Segment.CreateSealed(id, partitionId, schema, count, scalars.Columns, scalars.Dynamic, insertTs, vectors, map);
        }
        catch (FormatException ex)
        {
            map.Dispose();
            throw new CorruptionException(path, $"malformed block: {ex.Message}", ex);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>Maps a just-written file's vector blocks for a growing segment that is being sealed in place.</summary>
    public static unsafe VectorStore?[] MapVectors(MappedFile map, CollectionSchema schema, int count)
    {
        var vectors = new VectorStore?[schema.Fields.Length];
        var blockCount = BinaryPrimitives.ReadInt32LittleEndian(map.Span(12, 4));
        var directory = map.Span(HeaderSize, blockCount * EntrySize);
        for (var i = 0; i < blockCount; i++)
        {
            var e = directory.Slice(i * EntrySize, EntrySize);
            if ((BlockKind)BinaryPrimitives.ReadUInt32LittleEndian(e) == BlockKind.Vectors)
            {
                var field = BinaryPrimitives.ReadInt32LittleEndian(e[4..]);
                var offset = BinaryPrimitives.ReadInt64LittleEndian(e[8..]);
                vectors[field] = new VectorStore(schema.Fields[field].Dimension!.Value, (float*)(map.Pointer + offset), count);
            }
        }

        return vectors;
    }

    private static long Align(long x) => (x + Alignment - 1) / Alignment * Alignment;
}

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
