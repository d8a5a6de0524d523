using Quiver.Spatial;

namespace Quiver.Engine.Tests.Spatial;

public class RelateTests
{
    private static Shape Parse(string wkt) => Wkt.TryParse(wkt, out var error) ?? throw new ArgumentException(error);

    private const string Square = "POLYGON ((0 0, 4 0, 4 4, 0 4, 0 0))";

    [Theory]
    // equals: the same point set however it is written
    [InlineData("st_equals", Square, "POLYGON ((4 4, 0 4, 0 0, 4 0, 4 4))", true)]
    [InlineData("st_equals", Square, "POLYGON ((0 0, 0 4, 4 4, 4 0, 0 0))", true)]
    [InlineData("st_equals", Square, "POLYGON ((0 0, 2 0, 4 0, 4 4, 0 4, 0 0))", true)]
    [InlineData("st_equals", "LINESTRING (0 0, 2 2)", "LINESTRING (2 2, 1 1, 0 0)", true)]
    [InlineData("st_equals", "POINT (1 1)", "MULTIPOINT ((1 1), (1 1))", true)]
    [InlineData("st_equals", Square, "POLYGON ((0 0, 4 0, 4 5, 0 4, 0 0))", false)]
    // contains / within: boundary contact allowed, the interiors must meet
    [InlineData("st_contains", Square, "POINT (2 2)", true)]
    [InlineData("st_contains", Square, "POINT (4 2)", false)]
    [InlineData("st_contains", Square, "LINESTRING (1 1, 3 3)", true)]
    [InlineData("st_contains", Square, "LINESTRING (0 0, 4 0)", false)]
    [InlineData("st_contains", Square, "LINESTRING (0 0, 4 4)", true)]
    [InlineData("st_contains", Square, "POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))", true)]
    [InlineData("st_contains", Square, Square, true)]
    [InlineData("st_contains", Square, "POLYGON ((3 3, 5 3, 5 5, 3 5, 3 3))", false)]
    [InlineData("st_contains", "POLYGON ((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 3 1, 3 3, 1 3, 1 1))", "POINT (2 2)", false)]
    [InlineData("st_contains", "POLYGON ((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 3 1, 3 3, 1 3, 1 1))", "POLYGON ((1 1, 3 1, 3 3, 1 3, 1 1))", false)]
    [InlineData("st_contains", "LINESTRING (0 0, 4 4)", "POINT (2 2)", true)]
    [InlineData("st_contains", "LINESTRING (0 0, 4 4)", "POINT (0 0)", false)]
    [InlineData("st_within", "POINT (2 2)", Square, true)]
    [InlineData("st_within", "POLYGON ((1 1, 2 1, 2 2, 1 2, 1 1))", Square, true)]
    [InlineData("st_within", Square, "POLYGON ((1 1, 2 1, 2 2, 1 2, 1 1))", false)]
    // touches: boundaries meet, interiors do not
    [InlineData("st_touches", Square, "POLYGON ((4 0, 8 0, 8 4, 4 4, 4 0))", true)]
    [InlineData("st_touches", Square, "POLYGON ((4 4, 8 4, 8 8, 4 8, 4 4))", true)]
    [InlineData("st_touches", Square, "POINT (4 1)", true)]
    [InlineData("st_touches", Square, "POINT (2 2)", false)]
    [InlineData("st_touches", Square, "LINESTRING (4 2, 8 2)", true)]
    [InlineData("st_touches", Square, "LINESTRING (2 2, 8 2)", false)]
    [InlineData("st_touches", "LINESTRING (0 0, 2 0)", "LINESTRING (2 0, 2 5)", true)]
    [InlineData("st_touches", "LINESTRING (0 0, 2 0)", "LINESTRING (1 0, 1 5)", true)]
    [InlineData("st_touches", "POINT (1 1)", "POINT (1 1)", false)]
    [InlineData("st_touches", Square, "POLYGON ((5 0, 8 0, 8 4, 5 4, 5 0))", false)]
    // crosses
    [InlineData("st_crosses", "LINESTRING (0 0, 4 4)", "LINESTRING (0 4, 4 0)", true)]
    [InlineData("st_crosses", "LINESTRING (0 0, 4 4)", "LINESTRING (2 2, 6 6)", false)]
    [InlineData("st_crosses", "LINESTRING (0 0, 2 0)", "LINESTRING (1 0, 1 5)", false)]
    [InlineData("st_crosses", "LINESTRING (-1 2, 5 2)", Square, true)]
    [InlineData("st_crosses", "LINESTRING (1 2, 3 2)", Square, false)]
    [InlineData("st_crosses", Square, "LINESTRING (-1 2, 5 2)", true)]
    [InlineData("st_crosses", "MULTIPOINT ((2 2), (9 9))", Square, true)]
    // overlaps
    [InlineData("st_overlaps", Square, "POLYGON ((2 2, 6 2, 6 6, 2 6, 2 2))", true)]
    [InlineData("st_overlaps", Square, "POLYGON ((1 1, 2 1, 2 2, 1 2, 1 1))", false)]
    [InlineData("st_overlaps", Square, "POLYGON ((4 0, 8 0, 8 4, 4 4, 4 0))", false)]
    [InlineData("st_overlaps", "LINESTRING (0 0, 4 4)", "LINESTRING (2 2, 6 6)", true)]
    [InlineData("st_overlaps", "LINESTRING (0 0, 4 4)", "LINESTRING (1 1, 3 3)", false)]
    [InlineData("st_overlaps", "LINESTRING (0 0, 4 4)", "LINESTRING (0 4, 4 0)", false)]
    [InlineData("st_overlaps", "MULTIPOINT ((1 1), (2 2))", "MULTIPOINT ((2 2), (3 3))", true)]
    [InlineData("st_overlaps", Square, "LINESTRING (-1 2, 5 2)", false)]
    // empty geometries relate to nothing
    [InlineData("st_contains", Square, "POINT EMPTY", false)]
    [InlineData("st_equals", "POINT EMPTY", "POINT EMPTY", false)]
    public void Holds_HandWorkedCases(string op, string a, string b, bool expected) =>
        Assert.Equal(expected, Relate.Holds(op, Parse(a), Parse(b)));

    private static readonly string[] Operators = ["st_equals", "st_contains", "st_within", "st_touches", "st_crosses", "st_overlaps", "st_intersects"];

    /// <summary>Axis-aligned rectangles on a small grid against the arithmetic on their bounds (a naive oracle): they
    /// intersect when the closed ranges overlap on both axes, their interiors meet when the open ranges do, and one
    /// contains the other when its ranges hold the other's.</summary>
    [Fact]
    public void Rectangles_AgreeWithTheirBounds()
    {
        var rng = new Random(17);
        var seen = new HashSet<string>();
        for (var i = 0; i < 2000; i++)
        {
            var (a, ra) = Rectangle(rng);
            var (b, rb) = Rectangle(rng);
            bool Closed(int lo1, int hi1, int lo2, int hi2) => lo1 <= hi2 && lo2 <= hi1;
            bool Open(int lo1, int hi1, int lo2, int hi2) => lo1 < hi2 && lo2 < hi1;
            var meet = Closed(ra.X0, ra.X1, rb.X0, rb.X1) && Closed(ra.Y0, ra.Y1, rb.Y0, rb.Y1);
            var interiors = Open(ra.X0, ra.X1, rb.X0, rb.X1) && Open(ra.Y0, ra.Y1, rb.Y0, rb.Y1);
            var aHoldsB = ra.X0 <= rb.X0 && rb.X1 <= ra.X1 && ra.Y0 <= rb.Y0 && rb.Y1 <= ra.Y1;
            var bHoldsA = rb.X0 <= ra.X0 && ra.X1 <= rb.X1 && rb.Y0 <= ra.Y0 && ra.Y1 <= rb.Y1;
            var expected = new Dictionary<string, bool>
            {
                ["st_equals"] = aHoldsB && bHoldsA,
                ["st_contains"] = aHoldsB,
                ["st_within"] = bHoldsA,
                ["st_touches"] = meet && !interiors,
                ["st_crosses"] = false,
                ["st_overlaps"] = interiors && !aHoldsB && !bHoldsA,
                ["st_intersects"] = meet,
            };
            foreach (var op in Operators)
            {
                var got = Relate.Holds(op, a, b);
                Assert.True(expected[op] == got, $"case {i}: {op}({Wkt.Write(a)}, {Wkt.Write(b)}): expected {expected[op]}");
                if (got)
                {
                    seen.Add(op);
                }
            }
        }

        Assert.Equal(["st_contains", "st_equals", "st_intersects", "st_overlaps", "st_touches", "st_within"], seen.Order());
    }

    private static (Shape Shape, (int X0, int X1, int Y0, int Y1) Bounds) Rectangle(Random rng)
    {
        int x0 = rng.Next(0, 6), y0 = rng.Next(0, 6);
        int x1 = x0 + rng.Next(1, 4), y1 = y0 + rng.Next(1, 4);
        // Start at a random corner and run either way, so that ring direction and start never matter.
        Coord[] corners = [new(x0, y0), new(x1, y0), new(x1, y1), new(x0, y1)];
        var start = rng.Next(4);
        var step = rng.Next(2) == 0 ? 1 : 3;
        var ring = Enumerable.Range(0, 5).Select(k => corners[(start + (k * step)) % 4]).ToArray();
        return (new Shape(GeometryKind.Polygon, [], [[.. ring]], []), (x0, x1, y0, y1));
    }

    /// <summary>Single segments on a grid against orientation arithmetic: a proper crossing crosses; a shared endpoint or
    /// an endpoint on the other's interior touches; a collinear overlap of positive length overlaps unless one holds
    /// the other.</summary>
    [Fact]
    public void Segments_AgreeWithOrientations()
    {
        var rng = new Random(23);
        for (var i = 0; i < 3000; i++)
        {
            Coord P() => new(rng.Next(0, 5), rng.Next(0, 5));
            Coord a = P(), b = P(), c = P(), d = P();
            if (a == b || c == d)
            {
                continue;
            }

            var s = new Shape(GeometryKind.LineString, [a, b], [], []);
            var t = new Shape(GeometryKind.LineString, [c, d], [], []);
            int o1 = Predicates.Orientation(a, b, c), o2 = Predicates.Orientation(a, b, d), o3 = Predicates.Orientation(c, d, a), o4 = Predicates.Orientation(c, d, b);
            var proper = o1 * o2 < 0 && o3 * o4 < 0;
            var collinear = o1 == 0 && o2 == 0;
            // Along the common line, compare parameters.
            double Along(Coord p) => a.X != b.X ? p.X : p.Y;
            double lo1 = Math.Min(Along(a), Along(b)), hi1 = Math.Max(Along(a), Along(b)), lo2 = Math.Min(Along(c), Along(d)), hi2 = Math.Max(Along(c), Along(d));
            var overlapLength = collinear ? Math.Min(hi1, hi2) - Math.Max(lo1, lo2) : -1;
            var holds12 = collinear && lo1 <= lo2 && hi2 <= hi1;
            var holds21 = collinear && lo2 <= lo1 && hi1 <= hi2;
            var intersects = Predicates.SegmentsIntersect(a, b, c, d);
            Assert.Equal(intersects, Relate.Holds("st_intersects", s, t));
            Assert.True(proper == Relate.Holds("st_crosses", s, t), $"case {i}: crosses {Wkt.Write(s)} {Wkt.Write(t)}");
            Assert.True((overlapLength > 0 && !holds12 && !holds21) == Relate.Holds("st_overlaps", s, t), $"case {i}: overlaps {Wkt.Write(s)} {Wkt.Write(t)}");
            Assert.True((intersects && !proper && overlapLength <= 0) == Relate.Holds("st_touches", s, t), $"case {i}: touches {Wkt.Write(s)} {Wkt.Write(t)}");
            Assert.True((overlapLength > 0 && holds12) == Relate.Holds("st_contains", s, t), $"case {i}: contains {Wkt.Write(s)} {Wkt.Write(t)}");
        }
    }

    /// <summary>Random points, lines, triangles (of positive area) and holed squares: the relate operators keep the identities that tie them
    /// together, and its ST_INTERSECTS agrees with the independent one of <see cref="Predicates"/>.</summary>
    [Fact]
    public void RandomShapes_KeepTheIdentities()
    {
        var rng = new Random(29);
        for (var i = 0; i < 1500; i++)
        {
            var a = IntersectsTestsShapes.Random(rng, degenerate: false);
            var b = IntersectsTestsShapes.Random(rng, degenerate: false);
            var what = $"case {i}: {Wkt.Write(a)} and {Wkt.Write(b)}";
            var intersects = Relate.Holds("st_intersects", a, b);
            Assert.True(Predicates.Intersects(a, b) == intersects, what + ": intersects");
            Assert.True(Relate.Holds("st_contains", a, b) == Relate.Holds("st_within", b, a), what + ": contains is within reversed");
            foreach (var op in new[] { "st_equals", "st_touches", "st_crosses", "st_overlaps" })
            {
                Assert.True(Relate.Holds(op, a, b) == Relate.Holds(op, b, a), $"{what}: {op} is symmetric");
            }

            foreach (var op in new[] { "st_equals", "st_contains", "st_touches", "st_crosses", "st_overlaps" })
            {
                Assert.True(!Relate.Holds(op, a, b) || intersects, $"{what}: {op} implies intersects");
            }

            Assert.True(!Relate.Holds("st_touches", a, b) || (!Relate.Holds("st_contains", a, b) && !Relate.Holds("st_overlaps", a, b) && !Relate.Holds("st_crosses", a, b)), what + ": touches excludes the rest");
            Assert.True(Relate.Holds("st_equals", a, a), $"case {i}: {Wkt.Write(a)} equals itself");
            Assert.True(Relate.Holds("st_equals", a, b) == (Relate.Holds("st_contains", a, b) && Relate.Holds("st_within", a, b)), what + ": equals is contains and within");
        }
    }
}

/// <summary>Random points, lines (2 or 3 points), triangles and squares with or without a hole on a small integer
/// grid, where shared edges, touching corners and collinear overlaps are common.</summary>
internal static class IntersectsTestsShapes
{
    /// <summary>A random shape; with <paramref name="degenerate"/> false, triangles have a positive area and lines no
    /// zero-length segment.</summary>
    public static Shape Random(Random rng, bool degenerate = true)
    {
        Coord P() => new(rng.Next(0, 9), rng.Next(0, 9));
        switch (rng.Next(4))
        {
            case 0:
                return Shape.Point(P());
            case 1:
                Coord[] line = [P(), P(), .. rng.Next(2) == 0 ? new[] { P() } : []];
                while (!degenerate && (line[0] == line[1] || line[^1] == line[^2]))
                {
                    line = [P(), P()];
                }

                return new Shape(GeometryKind.LineString, [.. line], [], []);
            case 2:
                Coord a = P(), b = P(), c = P();
                while (!degenerate && Predicates.Orientation(a, b, c) == 0)
                {
                    (a, b, c) = (P(), P(), P());
                }

                return new Shape(GeometryKind.Polygon, [], [[a, b, c, a]], []);
            default:
                var x = rng.Next(0, 5);
                var y = rng.Next(0, 5);
                var s = rng.Next(2, 5);
                var shell = new[] { new Coord(x, y), new Coord(x + s, y), new Coord(x + s, y + s), new Coord(x, y + s), new Coord(x, y) };
                var hole = new[] { new Coord(x + 1, y + 1), new Coord(x + s - 1, y + 1), new Coord(x + s - 1, y + s - 1), new Coord(x + 1, y + s - 1), new Coord(x + 1, y + 1) };
                return s > 2 && rng.Next(2) == 0
                    ? new Shape(GeometryKind.Polygon, [], [[.. shell], [.. hole]], [])
                    : new Shape(GeometryKind.Polygon, [], [[.. shell]], []);
        }
    }
}
