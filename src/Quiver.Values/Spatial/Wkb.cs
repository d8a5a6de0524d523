using System.Buffers.Binary;
using System.Collections.Immutable;

namespace Quiver.Spatial;

/// <summary>Well-Known Binary in: the form Milvus's <c>geometry_data</c> column carries (either byte order, 2D types
/// 1..7). Values are stored as canonical WKT, so there is no writer.</summary>
internal static class Wkb
{
    /// <summary>The geometry the bytes encode, or null with <paramref name="error"/> naming the byte offset.</summary>
    public static Shape? TryRead(ReadOnlySpan<byte> bytes, out string? error)
    {
        var pos = 0;
        try
        {
            var shape = Read(bytes, ref pos, 0);
            if (pos != bytes.Length)
            {
                throw new FormatException($"invalid WKB at byte {pos}: {bytes.Length - pos} bytes after the geometry");
            }

            error = null;
            return shape;
        }
        catch (FormatException ex)
        {
            error = ex.Message;
            return null;
        }
    }

    private static Shape Read(ReadOnlySpan<byte> b, ref int pos, int depth)
    {
        var start = pos;
        if (depth > Wkt.MaxNesting)
        {
            throw new FormatException($"invalid WKB at byte {start}: geometry collections nest deeper than {Wkt.MaxNesting} levels");
        }

        var little = Byte(b, ref pos) switch
        {
            0 => false,
            1 => true,
            _ => throw new FormatException($"invalid WKB at byte {start}: byte order must be 0 or 1"),
        };
        var type = UInt(b, ref pos, little);
        if (type is < 1 or > 7)
        {
            throw new FormatException($"invalid WKB at byte {start + 1}: geometry type {type} is not a two-dimensional type 1..7");
        }

        var kind = (GeometryKind)(type - 1);
        switch (kind)
        {
            case GeometryKind.Point:
                var c = Coordinate(b, ref pos, little);
                // An empty point is written as NaN NaN.
                return double.IsNaN(c.X) && double.IsNaN(c.Y) ? new Shape(kind, [], [], []) : Shape.Point(Finite(c, pos));
            case GeometryKind.LineString:
                return new Shape(kind, Coords(b, ref pos, little), [], []);
            case GeometryKind.Polygon:
                var rings = ImmutableArray.CreateBuilder<ImmutableArray<Coord>>();
                for (var n = Count(b, ref pos, little); n > 0; n--)
                {
                    rings.Add(Coords(b, ref pos, little));
                }

                return new Shape(kind, [], rings.ToImmutable(), []);
            default:
                var parts = ImmutableArray.CreateBuilder<Shape>();
                for (var n = Count(b, ref pos, little); n > 0; n--)
                {
                    parts.Add(Read(b, ref pos, depth + 1));
                }

                return new Shape(kind, [], [], parts.ToImmutable());
        }
    }

    private static ImmutableArray<Coord> Coords(ReadOnlySpan<byte> b, ref int pos, bool little)
    {
        var n = Count(b, ref pos, little);
        var coords = ImmutableArray.CreateBuilder<Coord>(n);
        for (var i = 0; i < n; i++)
        {
            coords.Add(Finite(Coordinate(b, ref pos, little), pos));
        }

        return coords.MoveToImmutable();
    }

    private static Coord Finite(Coord c, int pos) => double.IsFinite(c.X) && double.IsFinite(c.Y)
        ? c
        : throw new FormatException($"invalid WKB at byte {pos - 16}: coordinates must be finite");

    private static int Count(ReadOnlySpan<byte> b, ref int pos, bool little)
    {
        var start = pos;
        var n = UInt(b, ref pos, little);
        // Each counted item takes at least 5 bytes, so a count beyond what is left is a lie, not a reason to allocate.
        return n <= (uint)(b.Length - pos) ? (int)n : throw new FormatException($"invalid WKB at byte {start}: count {n} exceeds the bytes left");
    }

    private static Coord Coordinate(ReadOnlySpan<byte> b, ref int pos, bool little) => new(Double(b, ref pos, little), Double(b, ref pos, little));

    private static byte Byte(ReadOnlySpan<byte> b, ref int pos) =>
        pos < b.Length ? b[pos++] : throw new FormatException($"invalid WKB at byte {pos}: the bytes end early");

    private static uint UInt(ReadOnlySpan<byte> b, ref int pos, bool little)
    {
        var s = Take(b, ref pos, 4);
        return little ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32BigEndian(s);
    }

    private static double Double(ReadOnlySpan<byte> b, ref int pos, bool little)
    {
        var s = Take(b, ref pos, 8);
        return little ? BinaryPrimitives.ReadDoubleLittleEndian(s) : BinaryPrimitives.ReadDoubleBigEndian(s);
    }

    private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> b, ref int pos, int n)
    {
        if (b.Length - pos < n)
        {
            throw new FormatException($"invalid WKB at byte {pos}: the bytes end early");
        }

        var s = b.Slice(pos, n);
        pos += n;
        return s;
    }
}
