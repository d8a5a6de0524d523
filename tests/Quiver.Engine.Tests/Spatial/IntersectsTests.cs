using System.Numerics;
using Quiver.Spatial;

namespace Quiver.Engine.Tests.Spatial;

public class IntersectsTests
{
    private static Shape Parse(string wkt) => Wkt.TryParse(wkt, out var error) ?? throw new ArgumentException(error);

    [Theory]
    // points
    [InlineData("POINT (1 1)", "POINT (1 1)", true)]
    [InlineData("POINT (1 1)", "POINT (1 2)", false)]
    [InlineData("POINT (1 1)", "LINESTRING (0 0, 2 2)", true)]
    [InlineData("POINT (1 1.5)", "LINESTRING (0 0, 2 2)", false)]
    [InlineData("POINT (3 3)", "LINESTRING (0 0, 2 2)", false)]
    [InlineData("POINT (5 5)", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))", true)]
    [InlineData("POINT (10 5)", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))", true)]
    [InlineData("POINT (11 5)", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))", false)]
    [InlineData("POINT (3 3)", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))", false)]
    [InlineData("POINT (2 3)", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))", true)]
    // lines
    [InlineData("LINESTRING (0 0, 2 2)", "LINESTRING (0 2, 2 0)", true)]
    [InlineData("LINESTRING (0 0, 1 1)", "LINESTRING (2 2, 3 3)", false)]
    [InlineData("LINESTRING (0 0, 2 2)", "LINESTRING (1 1, 3 3)", true)]
    [InlineData("LINESTRING (0 0, 2 0)", "LINESTRING (2 0, 3 5)", true)]
    [InlineData("LINESTRING (0 0, 2 0)", "LINESTRING (1 1, 1 5)", false)]
    [InlineData("LINESTRING (-5 5, 15 5)", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))", true)]
    [InlineData("LINESTRING (1 1, 2 2)", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))", true)]
    [InlineData("LINESTRING (2.5 2.5, 3.5 3.5)", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))", false)]
    // polygons
    [InlineData("POLYGON ((0 0, 4 0, 4 4, 0 4, 0 0))", "POLYGON ((2 2, 6 2, 6 6, 2 6, 2 2))", true)]
    [InlineData("POLYGON ((0 0, 4 0, 4 4, 0 4, 0 0))", "POLYGON ((4 4, 6 4, 6 6, 4 6, 4 4))", true)]
    [InlineData("POLYGON ((0 0, 4 0, 4 4, 0 4, 0 0))", "POLYGON ((5 5, 6 5, 6 6, 5 6, 5 5))", false)]
    [InlineData("POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))", "POLYGON ((4 4, 6 4, 6 6, 4 6, 4 4))", true)]
    [InlineData("POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 8 2, 8 8, 2 8, 2 2))", "POLYGON ((4 4, 6 4, 6 6, 4 6, 4 4))", false)]
    // multi and collections
    [InlineData("MULTIPOINT ((20 20), (5 5))", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))", true)]
    [InlineData("GEOMETRYCOLLECTION (POINT (20 20), LINESTRING (30 30, 40 40))", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))", false)]
    [InlineData("POINT EMPTY", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0))", false)]
    public void Intersects_HandWorkedCases(string a, string b, bool expected)
    {
        Assert.Equal(expected, Predicates.Intersects(Parse(a), Parse(b)));
        Assert.Equal(expected, Predicates.Intersects(Parse(b), Parse(a)));
    }

    [Fact]
    public void Orientation_IsExactWhereTheDeterminantRoundsToZero()
    {
        // Nearly collinear points whose double determinant is dominated by rounding: the exact sign decides.
        var a = new Coord(0.5, 0.5);
        var b = new Coord(12, 12);
        var c = new Coord(24, 24);
        Assert.Equal(0, Predicates.Orientation(a, b, c));
        var up = new Coord(24, Math.BitIncrement(24.0));
        var down = new Coord(24, Math.BitDecrement(24.0));
        Assert.Equal(1, Predicates.Orientation(a, b, up));
        Assert.Equal(-1, Predicates.Orientation(a, b, down));
        var rng = new Random(3);
        for (var i = 0; i < 20_000; i++)
        {
            var p = new Coord(0.5 + rng.Next(-3, 4) * Math.Pow(2, -50), 0.5 + rng.Next(-3, 4) * Math.Pow(2, -50));
            var q = new Coord(12 + rng.Next(-3, 4) * Math.Pow(2, -48), 12 + rng.Next(-3, 4) * Math.Pow(2, -48));
            var r = new Coord(24 + rng.Next(-3, 4) * Math.Pow(2, -47), 24 + rng.Next(-3, 4) * Math.Pow(2, -47));
            Assert.Equal(Predicates.ExactOrientation(p, q, r), Predicates.Orientation(p, q, r));
        }
    }

    /// <summary>Random points, lines, triangles and holed squares on a small integer grid (where shared edges, touching
    /// corners and collinear overlaps are common) against an oracle that works on point sets: two geometries intersect
    /// exactly when some candidate point (a vertex of either, or a crossing of two edges, in exact rationals) lies in
    /// both, membership tested with rational arithmetic and a horizontal ray.</summary>
    [Fact]
    public void Intersects_AgreesWithAPointSetOracle()
    {
        var rng = new Random(11);
        var counts = new int[2];
        for (var i = 0; i < 3000; i++)
        {
            var a = IntersectsTestsShapes.Random(rng);
            var b = IntersectsTestsShapes.Random(rng);
            var expected = Oracle.Intersects(a, b);
            counts[expected ? 1 : 0]++;
            Assert.True(expected == Predicates.Intersects(a, b), $"case {i}: {Wkt.Write(a)} and {Wkt.Write(b)}: oracle says {expected}");
        }

        Assert.True(counts[0] > 300 && counts[1] > 300, $"the cases are one-sided: {counts[0]} disjoint, {counts[1]} intersecting");
    }

    private static class Oracle
    {
        private readonly record struct Q(BigInteger Num, BigInteger Den)
        {
            public static Q Of(double v) => new(new BigInteger(v), BigInteger.One);

            public int CompareTo(Q o) => (Num * o.Den).CompareTo(o.Num * Den);
        }

        private readonly record struct QP(Q X, Q Y);

        public static bool Intersects(Shape a, Shape b) => Candidates(a, b).Any(p => Contains(a, p) && Contains(b, p));

        private static IEnumerable<QP> Candidates(Shape a, Shape b)
        {
            foreach (var v in Vertices(a).Concat(Vertices(b)))
            {
                yield return new QP(Q.Of(v.X), Q.Of(v.Y));
            }

            foreach (var (p, q) in Edges(a))
            {
                foreach (var (r, s) in Edges(b))
                {
                    if (Crossing(p, q, r, s) is { } x)
                    {
                        yield return x;
                    }
                }
            }
        }

        private static IEnumerable<Coord> Vertices(Shape s) => s.Kind == GeometryKind.Polygon ? s.Rings.SelectMany(r => r) : s.Coords;

        private static IEnumerable<(Coord, Coord)> Edges(Shape s)
        {
            var chains = s.Kind == GeometryKind.Polygon ? [.. s.Rings] : new[] { s.Coords };
            foreach (var chain in chains)
            {
                for (var i = 0; i + 1 < chain.Length; i++)
                {
                    yield return (chain[i], chain[i + 1]);
                }
            }
        }

        // The single crossing point of two non-parallel segment lines when it lies on both segments (Cramer's rule).
        private static QP? Crossing(Coord p, Coord q, Coord r, Coord s)
        {
            BigInteger dx1 = (long)(q.X - p.X), dy1 = (long)(q.Y - p.Y), dx2 = (long)(s.X - r.X), dy2 = (long)(s.Y - r.Y);
            var den = (dx1 * dy2) - (dy1 * dx2);
            if (den.IsZero)
            {
                return null; // parallel: any shared point is a vertex of one of them, already a candidate
            }

            BigInteger ex = (long)(r.X - p.X), ey = (long)(r.Y - p.Y);
            var t = (ex * dy2) - (ey * dx2);
            var u = (ex * dy1) - (ey * dx1);
            if (den < 0)
            {
                (den, t, u) = (-den, -t, -u);
            }

            if (t < 0 || t > den || u < 0 || u > den)
            {
                return null;
            }

            return new QP(new Q((new BigInteger(p.X) * den) + (t * dx1), den), new Q((new BigInteger(p.Y) * den) + (t * dy1), den));
        }

        private static bool Contains(Shape s, QP p) => s.Kind switch
        {
            GeometryKind.Point => p.X.CompareTo(Q.Of(s.Coords[0].X)) == 0 && p.Y.CompareTo(Q.Of(s.Coords[0].Y)) == 0,
            GeometryKind.LineString => Edges(s).Any(e => OnSegment(p, e.Item1, e.Item2)),
            _ => Edges(s).Any(e => OnSegment(p, e.Item1, e.Item2)) || (RayCrossings(s.Rings[0], p) % 2 == 1 && s.Rings.Skip(1).All(h => RayCrossings(h, p) % 2 == 0)),
        };

        private static bool OnSegment(QP p, Coord a, Coord b)
        {
            // (b - a) × (p - a) == 0 with p = (X/D, Y/D'), scaled to integers.
            var cross = (((new BigInteger(b.X) - new BigInteger(a.X)) * ((p.Y.Num * p.X.Den) - (new BigInteger(a.Y) * p.Y.Den * p.X.Den)))
                - ((new BigInteger(b.Y) - new BigInteger(a.Y)) * ((p.X.Num * p.Y.Den) - (new BigInteger(a.X) * p.X.Den * p.Y.Den))));
            return cross.IsZero
                && Between(p.X, a.X, b.X) && Between(p.Y, a.Y, b.Y);
        }

        private static bool Between(Q v, double a, double b) => v.CompareTo(Q.Of(Math.Min(a, b))) >= 0 && v.CompareTo(Q.Of(Math.Max(a, b))) <= 0;

        // Crossings of the ray from p towards +x with a ring's edges, each edge taken half-open in y so that a vertex
        // on the ray is counted once; p is known not to be on the ring.
        private static int RayCrossings(System.Collections.Immutable.ImmutableArray<Coord> ring, QP p)
        {
            var n = 0;
            for (var i = 0; i + 1 < ring.Length; i++)
            {
                var a = ring[i];
                var b = ring[i + 1];
                var aAbove = Q.Of(a.Y).CompareTo(p.Y) > 0;
                var bAbove = Q.Of(b.Y).CompareTo(p.Y) > 0;
                if (aAbove == bAbove)
                {
                    continue;
                }

                // x where the edge meets the ray's line: a.X + (p.Y - a.Y) (b.X - a.X) / (b.Y - a.Y).
                var dy = new BigInteger(b.Y - a.Y);
                var num = (new BigInteger(a.X) * p.Y.Den * dy) + (((p.Y.Num) - (new BigInteger(a.Y) * p.Y.Den)) * new BigInteger(b.X - a.X));
                var den = p.Y.Den * dy;
                if (den < 0)
                {
                    (num, den) = (-num, -den);
                }

                if (new Q(num, den).CompareTo(p.X) > 0)
                {
                    n++;
                }
            }

            return n;
        }
    }
}
