using System.Collections.Immutable;
using System.Numerics;

namespace Quiver.Spatial;

/// <summary>Where a point lies relative to a geometry.</summary>
internal enum Location
{
    Interior = 0,
    Boundary = 1,
    Exterior = 2,
}

/// <summary>
/// The DE-9IM relation of two planar geometries, computed exactly: which of the nine intersections of interior,
/// boundary and exterior are non-empty, and the dimension of the interiors' intersection. Every edge of either geometry
/// is split at each point where it meets the other one (crossings as exact rationals); each piece then lies wholly in
/// one part of the other geometry, so its midpoint decides, located with exact rational arithmetic. Area interiors are
/// settled by which side of a shared edge each interior lies on. The parts of a multi geometry or a collection are
/// taken as a union (a point interior to any part is interior), the usual reading of valid geometries.
/// </summary>
internal sealed class Relate
{
    private readonly bool[,] _matrix = new bool[3, 3];

    private Relate(Shape a, Shape b)
    {
        A = new Parts(a);
        B = new Parts(b);
    }

    private Parts A { get; }

    private Parts B { get; }

    /// <summary>Dimension of the interiors' intersection: -1 empty, 0 points, 1 lines, 2 areas.</summary>
    public int InteriorDimension { get; private set; } = -1;

    public bool this[Location a, Location b] => _matrix[(int)a, (int)b];

    /// <summary>The relation of <paramref name="a"/> to <paramref name="b"/>.</summary>
    public static Relate Compute(Shape a, Shape b)
    {
        var r = new Relate(a, b);
        if (!r.A.IsEmpty && !r.B.IsEmpty)
        {
            r.Fill();
        }

        return r;
    }

    /// <summary>The dimension of a geometry: -1 empty, 0 points, 1 lines, 2 areas (the largest of its parts).</summary>
    public static int Dimension(Shape s) => new Parts(s).Dimension;

    /// <summary>Milvus's geometry operator <paramref name="name"/> (lower case, without ST_DWITHIN) on A and B, by the
    /// OGC's DE-9IM patterns: equals T*F**FFF*, contains T*****FF*, within T*F**F***, touches FT*******, F**T***** or
    /// F***T****, crosses T*T****** (lower dimension first), T*****T** (higher first) or 0******** (two lines), overlaps
    /// T*T***T** (two point sets or two areas) or 1*T***T** (two lines). An empty geometry relates to nothing.</summary>
    public static bool Holds(string name, Shape a, Shape b)
    {
        var r = Compute(a, b);
        if (r.A.IsEmpty || r.B.IsEmpty)
        {
            return false;
        }

        const Location I = Location.Interior, B = Location.Boundary, E = Location.Exterior;
        var ii = r[I, I];
        int da = r.A.Dimension, db = r.B.Dimension;
        return name switch
        {
            "st_equals" => ii && !r[I, E] && !r[B, E] && !r[E, I] && !r[E, B],
            "st_contains" => ii && !r[E, I] && !r[E, B],
            "st_within" => ii && !r[I, E] && !r[B, E],
            "st_touches" => !ii && (r[I, B] || r[B, I] || r[B, B]),
            "st_crosses" => da < db ? ii && r[I, E] : da > db ? ii && r[E, I] : da == 1 && r.InteriorDimension == 0,
            "st_overlaps" => da != db ? false : da == 1 ? r.InteriorDimension == 1 && r[I, E] && r[E, I] : ii && r[I, E] && r[E, I],
            "st_intersects" => ii || r[I, B] || r[B, I] || r[B, B],
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a relate operator"),
        };
    }

    private void Set(Location a, Location b, int dimension)
    {
        _matrix[(int)a, (int)b] = true;
        if (a == Location.Interior && b == Location.Interior)
        {
            InteriorDimension = Math.Max(InteriorDimension, dimension);
        }
    }

    private void Fill()
    {
        _matrix[2, 2] = true;
        foreach (var p in A.Points)
        {
            var q = RPoint.Of(p);
            Set(A.Locate(q), B.Locate(q), 0);
        }

        foreach (var p in B.Points)
        {
            var q = RPoint.Of(p);
            Set(A.Locate(q), B.Locate(q), 0);
        }

        Pieces(A, B, swap: false);
        Pieces(B, A, swap: true);

        // An area is never covered by lines and points: it meets the exterior of a geometry without area.
        if (A.Dimension == 2 && B.Dimension < 2)
        {
            Set(Location.Interior, Location.Exterior, 2);
        }

        if (B.Dimension == 2 && A.Dimension < 2)
        {
            Set(Location.Exterior, Location.Interior, 2);
        }
    }

    /// <summary>Splits every edge of <paramref name="own"/> where <paramref name="other"/> meets it and records the
    /// locations of the split points and of each piece (by its midpoint).</summary>
    private void Pieces(Parts own, Parts other, bool swap)
    {
        void Record(Location mine, Location theirs, int dimension)
        {
            if (swap)
            {
                Set(theirs, mine, dimension);
            }
            else
            {
                Set(mine, theirs, dimension);
            }
        }

        foreach (var edge in own.Edges)
        {
            var splits = new List<(RPoint Point, Rational T)> { (RPoint.Of(edge.From), Rational.Zero), (RPoint.Of(edge.To), Rational.One) };
            foreach (var o in other.Edges)
            {
                foreach (var hit in Meet(edge.From, edge.To, o.From, o.To))
                {
                    splits.Add(hit);
                }
            }

            foreach (var p in other.Points)
            {
                if (Predicates.OnSegment(p, edge.From, edge.To))
                {
                    splits.Add((RPoint.Of(p), Parameter(edge.From, edge.To, RPoint.Of(p))));
                }
            }

            splits.Sort((x, y) => x.T.CompareTo(y.T));
            for (var i = 0; i < splits.Count; i++)
            {
                var point = splits[i].Point;
                Record(own.Locate(point), other.Locate(point), 0);
                if (i + 1 < splits.Count && splits[i + 1].T.CompareTo(splits[i].T) > 0)
                {
                    var mid = RPoint.Mid(point, splits[i + 1].Point);
                    var mine = own.Locate(mid);
                    var theirs = other.Locate(mid);
                    Record(mine, theirs, 1);
                    if (edge.Ring is { } ring)
                    {
                        AreaSides(edge, ring, mid, other, Record);
                    }
                }
            }
        }
    }

    /// <summary>What a piece of an area's ring says about that area's interior (on one side of the piece) and exterior
    /// (on the other): beside a piece inside or outside the other geometry both sides share that location; beside a
    /// piece on the other area's boundary, the sides follow each area's interior side.</summary>
    private static void AreaSides(Edge edge, Ring ring, RPoint mid, Parts other, Action<Location, Location, int> record)
    {
        // Beside the piece only the other's areas count: its lines and points cover no neighbourhood.
        var theirs = other.LocateInAreas(mid);
        if (theirs != Location.Boundary)
        {
            // A piece in the other's interior or exterior: small neighbourhoods on both sides share its location.
            record(Location.Interior, theirs, 2);
            record(Location.Exterior, theirs, 2);
            return;
        }

        // On the other's boundary: find the other's ring edge under the piece (a line's boundary has no sides).
        foreach (var o in other.Edges)
        {
            if (o.Ring is not { } otherRing || !OnEdge(mid, o))
            {
                continue;
            }

            var same = Math.Sign(edge.To.X - edge.From.X) == Math.Sign(o.To.X - o.From.X)
                && Math.Sign(edge.To.Y - edge.From.Y) == Math.Sign(o.To.Y - o.From.Y);
            var theirInteriorLeft = otherRing.InteriorLeft == same;
            var left = ring.InteriorLeft;
            var interiorSide = left == theirInteriorLeft ? Location.Interior : Location.Exterior;
            record(Location.Interior, interiorSide, 2);
            record(Location.Exterior, interiorSide == Location.Interior ? Location.Exterior : Location.Interior, 2);
            return;
        }

        // On the boundary of a line of the other geometry (its endpoint): both sides are outside it.
        record(Location.Interior, Location.Exterior, 2);
        record(Location.Exterior, Location.Exterior, 2);
    }

    private static bool OnEdge(RPoint p, Edge e) => Parts.OnSegment(p, e.From, e.To);

    /// <summary>Points where segment a–b meets segment c–d, with their parameters along a–b: a single crossing, or the
    /// ends of a collinear overlap (which are endpoints of one of the segments).</summary>
    private static IEnumerable<(RPoint Point, Rational T)> Meet(Coord a, Coord b, Coord c, Coord d)
    {
        var o1 = Predicates.Orientation(a, b, c);
        var o2 = Predicates.Orientation(a, b, d);
        if (o1 == 0 && o2 == 0)
        {
            foreach (var p in new[] { c, d })
            {
                if (Predicates.OnSegment(p, a, b))
                {
                    yield return (RPoint.Of(p), Parameter(a, b, RPoint.Of(p)));
                }
            }

            yield break;
        }

        if (!Predicates.SegmentsIntersect(a, b, c, d))
        {
            yield break;
        }

        // t = ((c - a) × (d - c)) / ((b - a) × (d - c)), exact in rationals.
        Rational ax = Rational.Of(a.X), ay = Rational.Of(a.Y), bx = Rational.Of(b.X), by = Rational.Of(b.Y);
        Rational cx = Rational.Of(c.X), cy = Rational.Of(c.Y), dx = Rational.Of(d.X), dy = Rational.Of(d.Y);
        var ex = dx - cx;
        var ey = dy - cy;
        var num = ((cx - ax) * ey) - ((cy - ay) * ex);
        var den = ((bx - ax) * ey) - ((by - ay) * ex);
        var t = num / den;
        yield return (new RPoint(ax + (t * (bx - ax)), ay + (t * (by - ay))), t);
    }

    /// <summary>The parameter of a point known to lie on segment a–b.</summary>
    private static Rational Parameter(Coord a, Coord b, RPoint p) => a.X != b.X
        ? (p.X - Rational.Of(a.X)) / (Rational.Of(b.X) - Rational.Of(a.X))
        : a.Y != b.Y ? (p.Y - Rational.Of(a.Y)) / (Rational.Of(b.Y) - Rational.Of(a.Y)) : Rational.Zero;

    /// <summary>A ring of a polygon and the side its polygon's interior lies on.</summary>
    private sealed record Ring(bool InteriorLeft);

    /// <summary>An edge: of a line (Ring null) or of a polygon's ring.</summary>
    private sealed record Edge(Coord From, Coord To, Ring? Ring);

    /// <summary>A geometry taken apart: isolated points, line chains with their boundary (endpoints counted modulo
    /// two), polygons.</summary>
    private sealed class Parts
    {
        public Parts(Shape shape)
        {
            var points = new List<Coord>();
            var lines = new List<ImmutableArray<Coord>>();
            var polygons = new List<Shape>();
            var edges = new List<Edge>();
            foreach (var s in shape.Simple())
            {
                switch (s.Kind)
                {
                    case GeometryKind.Point:
                        points.Add(s.Coords[0]);
                        break;
                    case GeometryKind.LineString:
                        lines.Add(s.Coords);
                        for (var i = 0; i + 1 < s.Coords.Length; i++)
                        {
                            if (s.Coords[i] != s.Coords[i + 1])
                            {
                                edges.Add(new Edge(s.Coords[i], s.Coords[i + 1], null));
                            }
                        }

                        break;
                    default:
                        polygons.Add(s);
                        for (var r = 0; r < s.Rings.Length; r++)
                        {
                            var ringShape = s.Rings[r];
                            // A shell's interior is to the left when it turns counter-clockwise; a hole's when it turns clockwise.
                            var ring = new Ring(Counterclockwise(ringShape) == (r == 0));
                            for (var i = 0; i + 1 < ringShape.Length; i++)
                            {
                                if (ringShape[i] != ringShape[i + 1])
                                {
                                    edges.Add(new Edge(ringShape[i], ringShape[i + 1], ring));
                                }
                            }
                        }

                        break;
                }
            }

            Points = points;
            Lines = lines;
            Polygons = polygons;
            Edges = edges;
            var ends = new Dictionary<Coord, int>();
            foreach (var line in lines)
            {
                ends[line[0]] = ends.GetValueOrDefault(line[0]) + 1;
                ends[line[^1]] = ends.GetValueOrDefault(line[^1]) + 1;
            }

            LineBoundary = [.. ends.Where(kv => kv.Value % 2 == 1).Select(kv => kv.Key)];
            Dimension = polygons.Count > 0 ? 2 : lines.Count > 0 ? 1 : points.Count > 0 ? 0 : -1;
        }

        public List<Coord> Points { get; }

        public List<ImmutableArray<Coord>> Lines { get; }

        public List<Shape> Polygons { get; }

        public List<Edge> Edges { get; }

        public HashSet<Coord> LineBoundary { get; }

        public int Dimension { get; }

        public bool IsEmpty => Dimension < 0;

        /// <summary>The point's location relative to the union of the polygons alone.</summary>
        public Location LocateInAreas(RPoint p)
        {
            var result = Location.Exterior;
            foreach (var polygon in Polygons)
            {
                switch (LocateInPolygon(p, polygon))
                {
                    case Location.Interior:
                        return Location.Interior;
                    case Location.Boundary:
                        result = Location.Boundary;
                        break;
                }
            }

            return result;
        }

        /// <summary>Interior when any part holds the point inside, else boundary when any part has it on its boundary.</summary>
        public Location Locate(RPoint p)
        {
            var result = LocateInAreas(p);
            if (result == Location.Interior)
            {
                return result;
            }

            foreach (var line in Lines)
            {
                for (var i = 0; i + 1 < line.Length; i++)
                {
                    if (OnSegment(p, line[i], line[i + 1]))
                    {
                        if (!(p.IsExactly(out var c) && LineBoundary.Contains(c)))
                        {
                            return Location.Interior;
                        }

                        result = Location.Boundary;
                    }
                }
            }

            foreach (var point in Points)
            {
                if (p.IsExactly(out var c) && c == point)
                {
                    return Location.Interior;
                }
            }

            return result;
        }

        private static bool Counterclockwise(ImmutableArray<Coord> ring)
        {
            // At the lowest (then leftmost) vertex the ring turns the way it runs.
            var k = 0;
            for (var i = 1; i + 1 < ring.Length; i++)
            {
                if (ring[i].Y < ring[k].Y || (ring[i].Y == ring[k].Y && ring[i].X < ring[k].X))
                {
                    k = i;
                }
            }

            var n = ring.Length - 1;
            var prev = ring[(k - 1 + n) % n];
            var next = ring[(k + 1) % n];
            var o = Predicates.Orientation(prev, ring[k], next);
            return o > 0;
        }

        public static bool OnSegment(RPoint p, Coord a, Coord b)
        {
            if (Orientation(a, b, p) != 0)
            {
                return false;
            }

            Rational ax = Rational.Of(a.X), bx = Rational.Of(b.X), ay = Rational.Of(a.Y), by = Rational.Of(b.Y);
            return Between(p.X, ax, bx) && Between(p.Y, ay, by);
        }

        private static bool Between(Rational v, Rational a, Rational b) =>
            a.CompareTo(b) <= 0 ? a.CompareTo(v) <= 0 && v.CompareTo(b) <= 0 : b.CompareTo(v) <= 0 && v.CompareTo(a) <= 0;

        private static int Orientation(Coord a, Coord b, RPoint p)
        {
            Rational ax = Rational.Of(a.X), ay = Rational.Of(a.Y);
            return (((Rational.Of(b.X) - ax) * (p.Y - ay)) - ((Rational.Of(b.Y) - ay) * (p.X - ax))).Sign;
        }

        /// <summary>Sunday's winding rule over exact orientations, holes subtracted.</summary>
        private static Location LocateInPolygon(RPoint p, Shape polygon)
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
                        return Location.Boundary;
                    }

                    var aBelow = Rational.Of(a.Y).CompareTo(p.Y) <= 0;
                    var bBelow = Rational.Of(b.Y).CompareTo(p.Y) <= 0;
                    if (aBelow && !bBelow && Orientation(a, b, p) > 0)
                    {
                        winding++;
                    }
                    else if (!aBelow && bBelow && Orientation(a, b, p) < 0)
                    {
                        winding--;
                    }
                }

                if (r == 0)
                {
                    inside = winding != 0;
                }
                else if (winding != 0)
                {
                    inside = false;
                }
            }

            return inside ? Location.Interior : Location.Exterior;
        }
    }
}

/// <summary>An exact rational number (denominator positive, not reduced: only compared and combined).</summary>
internal readonly record struct Rational(BigInteger Num, BigInteger Den)
{
    public static readonly Rational Zero = new(BigInteger.Zero, BigInteger.One);

    public static readonly Rational One = new(BigInteger.One, BigInteger.One);

    public int Sign => Num.Sign;

    /// <summary>The exact value of a finite double.</summary>
    public static Rational Of(double v)
    {
        if (v == 0)
        {
            return Zero;
        }

        var bits = BitConverter.DoubleToInt64Bits(v);
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xF_FFFF_FFFF_FFFFL;
        if (exponent == 0)
        {
            exponent = 1;
        }
        else
        {
            mantissa |= 1L << 52;
        }

        exponent -= 1075;
        var m = new BigInteger(v < 0 ? -mantissa : mantissa);
        return exponent >= 0 ? new Rational(m << exponent, BigInteger.One) : Reduce(m, BigInteger.One << -exponent);
    }

    private static Rational Reduce(BigInteger num, BigInteger den)
    {
        if (den.Sign < 0)
        {
            num = -num;
            den = -den;
        }

        var g = BigInteger.GreatestCommonDivisor(num, den);
        return g.IsOne || g.IsZero ? new Rational(num, den) : new Rational(num / g, den / g);
    }

    public int CompareTo(Rational o) => (Num * o.Den).CompareTo(o.Num * Den);

    public static Rational operator +(Rational a, Rational b) => Reduce((a.Num * b.Den) + (b.Num * a.Den), a.Den * b.Den);

    public static Rational operator -(Rational a, Rational b) => Reduce((a.Num * b.Den) - (b.Num * a.Den), a.Den * b.Den);

    public static Rational operator *(Rational a, Rational b) => Reduce(a.Num * b.Num, a.Den * b.Den);

    public static Rational operator /(Rational a, Rational b) => Reduce(a.Num * b.Den, a.Den * b.Num);
}

/// <summary>A point with exact rational coordinates.</summary>
internal readonly record struct RPoint(Rational X, Rational Y)
{
    public static RPoint Of(Coord c) => new(Rational.Of(c.X), Rational.Of(c.Y));

    public static RPoint Mid(RPoint a, RPoint b)
    {
        var half = new Rational(BigInteger.One, new BigInteger(2));
        return new RPoint((a.X + b.X) * half, (a.Y + b.Y) * half);
    }

    /// <summary>True with the double coordinate when the point is exactly representable.</summary>
    public bool IsExactly(out Coord c)
    {
        c = default;
        if (!IsDouble(X, out var x) || !IsDouble(Y, out var y))
        {
            return false;
        }

        c = new Coord(x, y);
        return true;
    }

    private static bool IsDouble(Rational r, out double value)
    {
        value = (double)r.Num / (double)r.Den;
        return double.IsFinite(value) && Rational.Of(value).CompareTo(r) == 0;
    }
}
