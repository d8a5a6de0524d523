using System.Buffers.Binary;
using Quiver.Segments;

namespace Quiver.Engine.Tests.Storage;

/// <summary>Reads a segment file's block directory (docs/format-segment.md), for tests that damage one block's bytes.</summary>
internal static class SegmentBlocks
{
    /// <summary>The offset and length of the first block of <paramref name="kind"/> (of <paramref name="field"/>'s, when
    /// given) in the bytes of a segment file.</summary>
    public static (long Offset, long Length) Find(byte[] file, SegmentFile.BlockKind kind, int? field = null)
    {
        var blocks = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(12));
        for (var i = 0; i < blocks; i++)
        {
            var e = file.AsSpan(SegmentFile.HeaderSize + (i * SegmentFile.EntrySize), SegmentFile.EntrySize);
            if ((SegmentFile.BlockKind)BinaryPrimitives.ReadUInt32LittleEndian(e) == kind
                && (field is null || BinaryPrimitives.ReadInt32LittleEndian(e[4..]) == field))
            {
                return (BinaryPrimitives.ReadInt64LittleEndian(e[8..]), BinaryPrimitives.ReadInt64LittleEndian(e[16..]));
            }
        }

        throw new InvalidOperationException(field is null ? $"no {kind} block" : $"no {kind} block for field {field}");
    }
}
