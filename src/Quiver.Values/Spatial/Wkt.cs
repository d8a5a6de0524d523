using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace Quiver.Spatial;

/// <summary>Well-Known Text, the form GEOMETRY values take in and out: a reader that names the position of the first
/// mistake, and a writer of one canonical form (upper-case keywords, one space after a keyword and after each comma,
/// shortest round-trip numbers), so that a value read and written back is stable and two spellings of one geometry are
/// stored alike. Two-dimensional only, as Milvus's GEOMETRY is.</summary>
internal static class Wkt
{
    /// <summary>Deepest nesting of GEOMETRYCOLLECTIONs accepted (the reader recurses once per level).</summary>
    public const int MaxNesting = 32;

    /// <summary>The geometry <paramref name="text"/> spells, or null with <paramref name="error"/> naming the mistake and
    /// its zero-based character position.</summary>
    public static Shape? TryParse(string text, out string? error)
    {
        var reader = new Reader(text);
        try
        {
            var shape = reader.Geometry(0);
            reader.SkipSpace();
            if (!reader.AtEnd)
            {
                throw reader.Fail("unexpected text after the geometry");
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

    /// <summary>The canonical WKT of <paramref name="shape"/>.</summary>
    public static string Write(Shape shape)
    {
        var sb = new StringBuilder();
        Write(sb, shape);
        return sb.ToString();
    }

    /// <summary>The canonical form of a WKT text, or null with the reader's error.</summary>
    public static string? Normalize(string text, out string? error) => TryParse(text, out error) is { } shape ? Write(shape) : null;

    private static readonly (string Name, GeometryKind Kind)[] Keywords =
    [
        ("POINT", GeometryKind.Point),
        ("LINESTRING", GeometryKind.LineString),
        ("POLYGON", GeometryKind.Polygon),
        ("MULTIPOINT", GeometryKind.MultiPoint),
        ("MULTILINESTRING", GeometryKind.MultiLineString),
        ("MULTIPOLYGON", GeometryKind.MultiPolygon),
        ("GEOMETRYCOLLECTION", GeometryKind.GeometryCollection),
    ];

    internal static string NameOf(GeometryKind kind) => Array.Find(Keywords, k => k.Kind == kind).Name;

    private static void Write(StringBuilder sb, Shape shape)
    {
        sb.Append(NameOf(shape.Kind));
        if (shape.IsEmpty)
        {
            sb.Append(" EMPTY");
            return;
        }

        sb.Append(' ');
        switch (shape.Kind)
        {
            case GeometryKind.Point:
            case GeometryKind.LineString:
                WriteCoords(sb, shape.Coords);
                break;
            case GeometryKind.Polygon:
                WriteRings(sb, shape.Rings);
                break;
            case GeometryKind.MultiPoint:
            case GeometryKind.MultiLineString:
                WriteList(sb, shape.Parts, (b, p) => WriteCoords(b, p.Coords), bareEmpty: true);
                break;
            case GeometryKind.MultiPolygon:
                WriteList(sb, shape.Parts, (b, p) => WriteRings(b, p.Rings), bareEmpty: true);
                break;
            default:
                WriteList(sb, shape.Parts, Write, bareEmpty: false);
                break;
        }
    }

    /// <summary>A parenthesized list of members; an empty member of a multi kind is written as a bare EMPTY.</summary>
    private static void WriteList(StringBuilder sb, ImmutableArray<Shape> parts, Action<StringBuilder, Shape> item, bool bareEmpty)
    {
        sb.Append('(');
        for (var i = 0; i < parts.Length; i++)
        {
            sb.Append(i == 0 ? "" : ", ");
            if (bareEmpty && parts[i].IsEmpty)
            {
                sb.Append("EMPTY");
            }
            else
            {
                item(sb, parts[i]);
            }
        }

        sb.Append(')');
    }

    private static void WriteRings(StringBuilder sb, ImmutableArray<ImmutableArray<Coord>> rings)
    {
        sb.Append('(');
        for (var i = 0; i < rings.Length; i++)
        {
            sb.Append(i == 0 ? "" : ", ");
            WriteCoords(sb, rings[i]);
        }

        sb.Append(')');
    }

    private static void WriteCoords(StringBuilder sb, ImmutableArray<Coord> coords)
    {
        sb.Append('(');
        for (var i = 0; i < coords.Length; i++)
        {
            sb.Append(i == 0 ? "" : ", ").Append(Number(coords[i].X)).Append(' ').Append(Number(coords[i].Y));
        }

        sb.Append(')');
    }

    // Shortest text that reads back to the same double; -0 is written as 0 so that equal points are stored alike.
    private static string Number(double v) => (v == 0 ? 0 : v).ToString("R", CultureInfo.InvariantCulture);

    private sealed class Reader(string text)
    {
        private int _pos;

        public bool AtEnd => _pos >= text.Length;

        public FormatException Fail(string what) =>
            new($"invalid WKT at position {_pos}: {what}{(AtEnd ? " (at the end of the text)" : $" (near '{Near()}')")}");

        private string Near()
        {
            var end = Math.Min(text.Length, _pos + 12);
            return text[_pos..end];
        }

        public void SkipSpace()
        {
            while (!AtEnd && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        private string Word()
        {
            SkipSpace();
            var start = _pos;
            while (!AtEnd && char.IsAsciiLetter(text[_pos]))
            {
                _pos++;
            }

            return text[start.._pos].ToUpperInvariant();
        }

        private bool Peek(char c)
        {
            SkipSpace();
            return !AtEnd && text[_pos] == c;
        }

        private void Expect(char c)
        {
            if (!Peek(c))
            {
                throw Fail($"expected '{c}'");
            }

            _pos++;
        }

        /// <summary>True after the word EMPTY; false (nothing consumed) before '('.</summary>
        private bool Empty()
        {
            SkipSpace();
            var start = _pos;
            if (Word() == "EMPTY")
            {
                return true;
            }

            _pos = start;
            if (Peek('('))
            {
                return false;
            }

            var word = Word();
            _pos = start;
            throw word is "Z" or "M" or "ZM"
                ? Fail("only two-dimensional geometries are supported")
                : Fail("expected '(' or EMPTY");
        }

        public Shape Geometry(int depth)
        {
            SkipSpace();
            var start = _pos;
            var word = Word();
            var kind = Array.FindIndex(Keywords, k => k.Name == word);
            if (kind < 0)
            {
                _pos = start;
                throw Fail("expected a geometry type (POINT, LINESTRING, POLYGON, MULTIPOINT, MULTILINESTRING, MULTIPOLYGON or GEOMETRYCOLLECTION)");
            }

            return Body(Keywords[kind].Kind, depth);
        }

        private Shape Body(GeometryKind kind, int depth)
        {
            var empty = Empty();
            switch (kind)
            {
                case GeometryKind.Point:
                    if (empty)
                    {
                        return new Shape(kind, [], [], []);
                    }

                    Expect('(');
                    var c = Coordinate();
                    Expect(')');
                    return Shape.Point(c);
                case GeometryKind.LineString:
                    return new Shape(kind, empty ? [] : Line(), [], []);
                case GeometryKind.Polygon:
                    return new Shape(kind, [], empty ? [] : Polygon(), []);
                case GeometryKind.GeometryCollection when !empty && depth >= MaxNesting:
                    throw Fail($"geometry collections nest deeper than {MaxNesting} levels");
                default:
                    return new Shape(kind, [], [], empty ? [] : Parts(kind, depth));
            }
        }

        private ImmutableArray<Shape> Parts(GeometryKind kind, int depth)
        {
            var parts = ImmutableArray.CreateBuilder<Shape>();
            Expect('(');
            do
            {
                parts.Add(kind switch
                {
                    GeometryKind.MultiPoint => MultiPointMember(),
                    GeometryKind.MultiLineString => Body(GeometryKind.LineString, depth),
                    GeometryKind.MultiPolygon => Body(GeometryKind.Polygon, depth),
                    _ => Geometry(depth + 1),
                });
            }
            while (Comma());
            Expect(')');
            return parts.ToImmutable();
        }

        // MULTIPOINT takes its points with parentheses, (1 2), or without, 1 2, as GEOS and GDAL read it.
        private Shape MultiPointMember()
        {
            if (Peek('('))
            {
                return Body(GeometryKind.Point, 0);
            }

            SkipSpace();
            var start = _pos;
            if (Word() == "EMPTY")
            {
                return new Shape(GeometryKind.Point, [], [], []);
            }

            _pos = start;
            return Shape.Point(Coordinate());
        }

        private ImmutableArray<ImmutableArray<Coord>> Polygon()
        {
            var rings = ImmutableArray.CreateBuilder<ImmutableArray<Coord>>();
            Expect('(');
            do
            {
                SkipSpace();
                var start = _pos;
                var ring = Line();
                if (ring.Length < 4 || ring[0] != ring[^1])
                {
                    _pos = start;
                    throw Fail(ring.Length < 4
                        ? $"a polygon ring needs at least 4 points, found {ring.Length}"
                        : "a polygon ring must be closed (its last point equal to its first)");
                }

                rings.Add(ring);
            }
            while (Comma());
            Expect(')');
            return rings.ToImmutable();
        }

        private ImmutableArray<Coord> Line()
        {
            SkipSpace();
            var start = _pos;
            var coords = ImmutableArray.CreateBuilder<Coord>();
            Expect('(');
            do
            {
                coords.Add(Coordinate());
            }
            while (Comma());
            Expect(')');
            if (coords.Count < 2)
            {
                _pos = start;
                throw Fail("a line string needs at least 2 points");
            }

            return coords.ToImmutable();
        }

        private bool Comma()
        {
            if (Peek(','))
            {
                _pos++;
                return true;
            }

            return false;
        }

        private Coord Coordinate()
        {
            var x = Number();
            var y = Number();
            SkipSpace();
            if (!AtEnd && (char.IsAsciiDigit(text[_pos]) || text[_pos] is '-' or '+' or '.'))
            {
                throw Fail("only two-dimensional coordinates are supported (found a third ordinate)");
            }

            return new Coord(x, y);
        }

        private double Number()
        {
            SkipSpace();
            var start = _pos;
            if (!AtEnd && text[_pos] is '-' or '+')
            {
                _pos++;
            }

            var digits = Digits();
            if (!AtEnd && text[_pos] == '.')
            {
                _pos++;
                digits += Digits();
            }

            if (digits > 0 && !AtEnd && text[_pos] is 'e' or 'E')
            {
                _pos++;
                if (!AtEnd && text[_pos] is '-' or '+')
                {
                    _pos++;
                }

                if (Digits() == 0)
                {
                    digits = 0;
                }
            }

            if (digits == 0)
            {
                _pos = start;
                throw Fail("expected a number");
            }

            var value = double.Parse(text.AsSpan(start, _pos - start), NumberStyles.Float, CultureInfo.InvariantCulture);
            if (!double.IsFinite(value))
            {
                _pos = start;
                throw Fail("the number is out of range");
            }

            return value;
        }

        private int Digits()
        {
            var start = _pos;
            while (!AtEnd && char.IsAsciiDigit(text[_pos]))
            {
                _pos++;
            }

            return _pos - start;
        }
    }
}
