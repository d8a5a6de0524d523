using System.Numerics;

namespace Quiver.Spatial;

/// <summary>Exact planar predicates. The orientation of three points is decided by a floating-point determinant when
/// its error bound allows (Shewchuk's first filter) and otherwise in exact integer arithmetic over the doubles' binary
/// expansions, so no answer depends on rounding.</summary>
internal static class Predicates
{
    // Shewchuk's ccwerrboundA = (3 + 16 eps) eps with eps = 2^-53.
    private const double ErrorBound = (3.0 + 16.0 * 1.1102230246251565e-16) * 1.1102230246251565e-16;

    /// <summary>Sign of the cross product (b - a) × (c - a): +1 when a, b, c turn counter-clockwise, -1 clockwise, 0
    /// when collinear. Exact for all finite doubles.</summary>
    public static int Orientation(Coord a, Coord b, Coord c)
    {
        var left = (b.X - a.X) * (c.Y - a.Y);
        var right = (b.Y - a.Y) * (c.X - a.X);
        var det = left - right;
        var bound = ErrorBound * (Math.Abs(left) + Math.Abs(right));
        if (det > bound || -det > bound)
        {
            return Math.Sign(det);
        }

        return ExactOrientation(a, b, c);
    }

    /// <summary>The orientation in exact arithmetic: every double is m·2^e, so scaling all six by the smallest 2^e turns
    /// them into integers whose determinant has the true sign.</summary>
    internal static int ExactOrientation(Coord a, Coord b, Coord c)
    {
        Span<double> values = [a.X, a.Y, b.X, b.Y, c.X, c.Y];
        var minExp = int.MaxValue;
        foreach (var v in values)
        {
            if (v != 0)
            {
                minExp = Math.Min(minExp, Decompose(v).Exponent);
            }
        }

        if (minExp == int.MaxValue)
        {
            return 0;
        }

        BigInteger Scaled(double v)
        {
            if (v == 0)
            {
                return BigInteger.Zero;
            }

            var (mantissa, exponent) = Decompose(v);
            return new BigInteger(mantissa) << (exponent - minExp);
        }

        BigInteger ax = Scaled(a.X), ay = Scaled(a.Y), bx = Scaled(b.X), by = Scaled(b.Y), cx = Scaled(c.X), cy = Scaled(c.Y);
        return ((bx - ax) * (cy - ay) - (by - ay) * (cx - ax)).Sign;
    }

    /// <summary>v = Mantissa · 2^Exponent with an integer mantissa.</summary>
    private static (long Mantissa, int Exponent) Decompose(double v)
    {
        var bits = BitConverter.DoubleToInt64Bits(v);
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xF_FFFF_FFFF_FFFFL;
        if (exponent == 0)
        {
            exponent = 1; // subnormal
        }
        else
        {
            mantissa |= 1L << 52;
        }

        return (v < 0 ? -mantissa : mantissa, exponent - 1075);
    }

    /// <summary>True when p lies on the closed segment a–b.</summary>
    public static bool OnSegment(Coord p, Coord a, Coord b) =>
        Orientation(a, b, p) == 0
        && Math.Min(a.X, b.X) <= p.X && p.X <= Math.Max(a.X, b.X)
        && Math.Min(a.Y, b.Y) <= p.Y && p.Y <= Math.Max(a.Y, b.Y);

    /// <summary>True when the closed segments a–b and c–d share a point.</summary>
    public static bool SegmentsIntersect(Coord a, Coord b, Coord c, Coord d)
    {
        var o1 = Orientation(a, b, c);
        var o2 = Orientation(a, b, d);
        var o3 = Orientation(c, d, a);
        var o4 = Orientation(c, d, b);
        if (o1 * o2 < 0 && o3 * o4 < 0)
        {
            return true; // a proper crossing
        }

        return (o1 == 0 && OnSegment(c, a, b))
            || (o2 == 0 && OnSegment(d, a, b))
            || (o3 == 0 && OnSegment(a, c, d))
            || (o4 == 0 && OnSegment(b, c, d));
    }

    /// <summary>Where p lies relative to a polygon (shell and holes): +1 inside, 0 on a ring, -1 outside. The winding
    /// number of each ring is counted with orientation tests only (Sunday's rule), so the answer is exact.</summary>
    public static int Locate(Coord p, Shape polygon)
    {
        var inside = false;
        for (var r = 0; r < polygon.Rings.Length; r++)
        {
            var ring = polygon.Rings[r];
            var winding = 0;
            for (var i = 0; i + 1 < ring.Length; i++)
            {
                var a = ring[i];
                var b = ring[i + 1];
                if (OnSegment(p, a, b))
                {
                    return 0;
                }

                if (a.Y <= p.Y)
                {
                    if (b.Y > p.Y && Orientation(a, b, p) > 0)
                    {
                        winding++;
                    }
                }
                else if (b.Y <= p.Y && Orientation(a, b, p) < 0)
                {
                    winding--;
                }
            }

            // Inside the shell and outside every hole; a point inside a hole is outside the polygon.
            if (r == 0)
            {
                inside = winding != 0;
            }
            else if (winding != 0)
            {
                inside = false;
            }
        }

        return inside ? 1 : -1;
    }

    /// <summary>True when the two geometries share at least one point (ST_INTERSECTS; not disjoint).</summary>
    public static bool Intersects(Shape a, Shape b)
    {
        foreach (var x in a.Simple())
        {
            foreach (var y in b.Simple())
            {
                if (SimpleIntersects(x, y))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool SimpleIntersects(Shape a, Shape b)
    {
        if (a.Kind > b.Kind)
        {
            (a, b) = (b, a);
        }

        switch (a.Kind, b.Kind)
        {
            case (GeometryKind.Point, GeometryKind.Point):
                return a.Coords[0] == b.Coords[0];
            case (GeometryKind.Point, GeometryKind.LineString):
                return OnLine(a.Coords[0], b.Coords);
            case (GeometryKind.Point, GeometryKind.Polygon):
                return Locate(a.Coords[0], b) >= 0;
            case (GeometryKind.LineString, GeometryKind.LineString):
                return LinesCross(a.Coords, b.Coords);
            case (GeometryKind.LineString, GeometryKind.Polygon):
                // Either the line meets a ring, or it lies wholly inside or outside: then its first point decides.
                return b.Rings.Any(ring => LinesCross(a.Coords, ring)) || Locate(a.Coords[0], b) > 0;
            default:
                // Two polygons: their rings meet, or one lies inside the other (then any vertex of it is inside).
                return a.Rings.Any(ra => b.Rings.Any(rb => LinesCross(ra, rb)))
                    || Locate(a.Rings[0][0], b) > 0
                    || Locate(b.Rings[0][0], a) > 0;
        }
    }

    private static bool OnLine(Coord p, System.Collections.Immutable.ImmutableArray<Coord> line)
    {
        for (var i = 0; i + 1 < line.Length; i++)
        {
            if (OnSegment(p, line[i], line[i + 1]))
            {
                return true;
            }
        }

        return false;
    }

    private static bool LinesCross(System.Collections.Immutable.ImmutableArray<Coord> a, System.Collections.Immutable.ImmutableArray<Coord> b)
    {
        for (var i = 0; i + 1 < a.Length; i++)
        {
            for (var j = 0; j + 1 < b.Length; j++)
            {
                if (SegmentsIntersect(a[i], a[i + 1], b[j], b[j + 1]))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
