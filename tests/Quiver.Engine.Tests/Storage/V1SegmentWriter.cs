using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Quiver.Common;
using Quiver.Storage;
using Quiver.Writes;

namespace Quiver.Engine.Tests.Storage;

/// <summary>The segment writer of format version 1, as the engine had it before version 2: every scalar field in one
/// row-batch block, then the insert timestamps, then one block per vector field. Kept here to produce the old files that
/// the engine must migrate on open.</summary>
internal static class V1SegmentWriter
{
    public static void Write(string path, long segmentId, long partitionId, RowBatch batch, ReadOnlySpan<long> insertTs)
    {
        var schema = batch.Schema;
        var scalars = new ByteWriter(1 << 16);
        batch.Encode(scalars, includeVectors: false);
        var blocks = new List<(uint Kind, int Field, byte[] Bytes)>
        {
            (1, -1, scalars.WrittenSpan.ToArray()),
            (2, -1, MemoryMarshal.AsBytes(insertTs).ToArray()),
        };
        for (var f = 0; f < schema.Fields.Length; f++)
        {
            if (schema.Fields[f].IsVector)
            {
                blocks.Add((3, f, MemoryMarshal.AsBytes(batch.Columns[f].Vectors.AsSpan()).ToArray()));
            }
        }

        var directory = new byte[blocks.Count * 32];
        var offset = Align(64 + directory.Length);
        var file = new List<(long Offset, byte[] Bytes)>();
        for (var i = 0; i < blocks.Count; i++)
        {
            var e = directory.AsSpan(i * 32, 32);
            BinaryPrimitives.WriteUInt32LittleEndian(e, blocks[i].Kind);
            BinaryPrimitives.WriteInt32LittleEndian(e[4..], blocks[i].Field);
            BinaryPrimitives.WriteInt64LittleEndian(e[8..], offset);
            BinaryPrimitives.WriteInt64LittleEndian(e[16..], blocks[i].Bytes.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[24..], Crc32C.Compute(blocks[i].Bytes));
            file.Add((offset, blocks[i].Bytes));
            offset = Align(offset + blocks[i].Bytes.Length);
        }

        var bytes = new byte[offset];
        var header = bytes.AsSpan(0, 64);
        BinaryPrimitives.WriteUInt64LittleEndian(header, 0x31_47_45_53_56_49_55_51); // "QUIVSEG1"
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 1);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], blocks.Count);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], segmentId);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], partitionId);
        BinaryPrimitives.WriteInt64LittleEndian(header[32..], batch.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header[48..], Crc32C.Compute(directory));
        BinaryPrimitives.WriteUInt32LittleEndian(header[52..], Crc32C.Compute(header[..52]));
        directory.CopyTo(bytes.AsSpan(64));
        foreach (var (at, block) in file)
        {
            block.CopyTo(bytes.AsSpan((int)at));
        }

        File.WriteAllBytes(path, bytes);
    }

    private static long Align(long x) => (x + 63) / 64 * 64;
}
