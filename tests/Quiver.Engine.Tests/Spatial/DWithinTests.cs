using System.Globalization;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Spatial;

/// <summary>ST_DWITHIN through the embedded engine against a brute-force oracle written here from Milvus 2.6's
/// documented rule: a stored POINT is measured from the query point by the haversine formula on a sphere of radius
/// 6,371,000 m; any other geometry by its planar distance in degrees from the query point (zero inside a polygon, holes
/// excluded), times 111,320 · √((1 + cos² φ) / 2) meters per degree at the query's latitude φ. Every geometry kind,
/// nulls, growing and sealed rows; the refusals of bad arguments.</summary>
public sealed class DWithinTests : IDisposable
{
    private static readonly QuiverOptions NoBackground = new() { BackgroundMaintenance = false };
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            new FieldSchema { Name = "geo", DataType = DataType.Geometry, Nullable = true },
            FieldSchema.Vector("v", 2, MetricType.L2),
        ],
    };

    // ---- The oracle: its own geometry model (lists of points, paths and polygons) and its own formulas. ----

    private sealed record Geo(string Wkt, bool IsPoint, List<(double X, double Y)> Points, List<List<(double X, double Y)>> Paths, List<List<List<(double X, double Y)>>> Polygons);

    private static double OracleHaversine(double lon1, double lat1, double lon2, double lat2)
    {
        const double R = 6371000.0;
        double Rad(double d) => d * Math.PI / 180.0;
        var s1 = Math.Sin((Rad(lat2) - Rad(lat1)) / 2);
        var s2 = Math.Sin((Rad(lon2) - Rad(lon1)) / 2);
        var h = (s1 * s1) + (Math.Cos(Rad(lat1)) * Math.Cos(Rad(lat2)) * s2 * s2);
        return 2 * R * Math.Asin(Math.Min(1, Math.Sqrt(h)));
    }

    private static double SegmentDistance((double X, double Y) p, (double X, double Y) a, (double X, double Y) b)
    {
        var vx = b.X - a.X;
        var vy = b.Y - a.Y;
        var len2 = (vx * vx) + (vy * vy);
        var t = len2 == 0 ? 0 : Math.Clamp((((p.X - a.X) * vx) + ((p.Y - a.Y) * vy)) / len2, 0, 1);
        return Math.Sqrt(Math.Pow(a.X + (t * vx) - p.X, 2) + Math.Pow(a.Y + (t * vy) - p.Y, 2));
    }

    /// <summary>Even-odd ray casting over every ring (shell and holes): inside the shell and outside the holes.</summary>
    private static bool Inside((double X, double Y) p, List<List<(double X, double Y)>> rings)
    {
        var crossings = 0;
        foreach (var ring in rings)
        {
            for (var i = 0; i + 1 < ring.Count; i++)
            {
                var (a, b) = (ring[i], ring[i + 1]);
                if ((a.Y > p.Y) != (b.Y > p.Y) && p.X < a.X + ((p.Y - a.Y) / (b.Y - a.Y) * (b.X - a.X)))
                {
                    crossings++;
                }
            }
        }

        return crossings % 2 == 1;
    }

    private static double OracleMeters(Geo g, double lon, double lat)
    {
        if (g.IsPoint)
        {
            return OracleHaversine(g.Points[0].X, g.Points[0].Y, lon, lat);
        }

        var p = (lon, lat);
        var d = double.PositiveInfinity;
        foreach (var q in g.Points)
        {
            d = Math.Min(d, Math.Sqrt(Math.Pow(q.X - lon, 2) + Math.Pow(q.Y - lat, 2)));
        }

        foreach (var path in g.Paths.Concat(g.Polygons.SelectMany(r => r)))
        {
            for (var i = 0; i + 1 < path.Count; i++)
            {
                d = Math.Min(d, SegmentDistance(p, path[i], path[i + 1]));
            }
        }

        if (g.Polygons.Any(rings => Inside(p, rings)))
        {
            d = 0;
        }

        var c = Math.Cos(lat * Math.PI / 180.0);
        return d * 111320.0 * Math.Sqrt((1 + (c * c)) / 2);
    }

    // ---- Random shapes of every kind, with their WKT and the oracle's model. ----

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Coords(IEnumerable<(double X, double Y)> pts) => string.Join(", ", pts.Select(p => $"{F(p.X)} {F(p.Y)}"));

    private static (double X, double Y) RandomPoint(Random rng) => (Math.Round((rng.NextDouble() * 40) - 20, 3), Math.Round((rng.NextDouble() * 120) - 60, 3));

    private static List<(double X, double Y)> RandomPath(Random rng)
    {
        var start = RandomPoint(rng);
        return [.. Enumerable.Range(0, rng.Next(2, 5)).Select(i => i == 0 ? start : (Math.Round(start.X + (rng.NextDouble() * 6) - 3, 3), Math.Round(start.Y + (rng.NextDouble() * 6) - 3, 3)))];
    }

    /// <summary>An axis-aligned box, sometimes with a box-shaped hole in its middle.</summary>
    private static List<List<(double X, double Y)>> RandomPolygon(Random rng)
    {
        var (x, y) = RandomPoint(rng);
        var w = Math.Round(1 + (rng.NextDouble() * 5), 3);
        var h = Math.Round(1 + (rng.NextDouble() * 5), 3);
        List<(double X, double Y)> Box(double x0, double y0, double x1, double y1) => [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)];
        List<List<(double X, double Y)>> rings = [Box(x, y, x + w, y + h)];
        if (rng.Next(2) == 0)
        {
            rings.Add(Box(x + (w / 4), y + (h / 4), x + (w * 3 / 4), y + (h * 3 / 4)));
        }

        return rings;
    }

    private static string PolygonText(List<List<(double X, double Y)>> rings) => "(" + string.Join(", ", rings.Select(r => $"({Coords(r)})")) + ")";

    private static Geo RandomGeo(Random rng)
    {
        switch (rng.Next(7))
        {
            case 0:
            {
                var p = RandomPoint(rng);
                return new($"POINT ({F(p.X)} {F(p.Y)})", true, [p], [], []);
            }
            case 1:
            {
                var path = RandomPath(rng);
                return new($"LINESTRING ({Coords(path)})", false, [], [path], []);
            }
            case 2:
            {
                var rings = RandomPolygon(rng);
                return new($"POLYGON {PolygonText(rings)}", false, [], [], [rings]);
            }
            case 3:
            {
                // A multi point, even of one point, is measured in the plane (it is not a POINT).
                var pts = Enumerable.Range(0, rng.Next(1, 4)).Select(_ => RandomPoint(rng)).ToList();
                return new($"MULTIPOINT ({string.Join(", ", pts.Select(p => $"({F(p.X)} {F(p.Y)})"))})", false, pts, [], []);
            }
            case 4:
            {
                var paths = Enumerable.Range(0, rng.Next(1, 3)).Select(_ => RandomPath(rng)).ToList();
                return new($"MULTILINESTRING ({string.Join(", ", paths.Select(p => $"({Coords(p)})"))})", false, [], paths, []);
            }
            case 5:
            {
                var polys = Enumerable.Range(0, rng.Next(1, 3)).Select(_ => RandomPolygon(rng)).ToList();
                return new($"MULTIPOLYGON ({string.Join(", ", polys.Select(PolygonText))})", false, [], [], polys);
            }
            default:
            {
                var p = RandomPoint(rng);
                var path = RandomPath(rng);
                var rings = RandomPolygon(rng);
                return new($"GEOMETRYCOLLECTION (POINT ({F(p.X)} {F(p.Y)}), LINESTRING ({Coords(path)}), POLYGON {PolygonText(rings)})", false, [p], [path], [rings]);
            }
        }
    }

    [Fact]
    public async Task EveryKind_MatchesTheOracle_GrowingAndSealed()
    {
        var rng = new Random(1406);
        var geos = Enumerable.Range(1, 400).Select(_ => rng.Next(10) == 0 ? null : RandomGeo(rng)).ToList();
        var rows = geos.Select((g, i) => new Row { ["id"] = (long)(i + 1), ["geo"] = g?.Wkt, ["v"] = new[] { (float)i, 1f } }).ToList();
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("c", Schema());
        await db.InsertAsync("c", rows.Take(250).ToList());
        await db.FlushAsync("c"); // sealed rows and growing rows both answer
        await db.InsertAsync("c", rows.Skip(250).ToList());

        var nonNull = geos.Count(g => g is not null);
        var checkedQueries = 0;
        for (var q = 0; q < 60; q++)
        {
            // Query points near the shapes, and sometimes exactly on a stored point or inside a polygon (distance 0).
            var (lon, lat) = q % 10 == 9 ? (geos.First(g => g is { IsPoint: true })!.Points[0].X, geos.First(g => g is { IsPoint: true })!.Points[0].Y) : RandomPoint(rng);
            var distances = geos.Select((g, i) => (Id: (long)(i + 1), Meters: g is null ? double.NaN : OracleMeters(g, lon, lat))).Where(x => !double.IsNaN(x.Meters)).ToList();
            var sorted = distances.Select(x => x.Meters).Distinct().Order().ToList();

            // A threshold halfway between two consecutive distances: rounding cannot put a row on the wrong side.
            var k = rng.Next(sorted.Count - 1);
            if (sorted[k + 1] - sorted[k] < 1e-6 * Math.Max(1, sorted[k + 1]))
            {
                continue;
            }

            var threshold = (sorted[k] + sorted[k + 1]) / 2;
            var expected = distances.Where(x => x.Meters <= sorted[k]).Select(x => x.Id).Order().ToList();
            var point = $"POINT ({F(lon)} {F(lat)})";
            foreach (var name in new[] { "ST_DWITHIN", "st_dwithin" })
            {
                var got = await db.QueryAsync("c", new QueryRequest { Filter = $"{name}(geo, '{point}', {F(threshold)})", Limit = 1000 });
                Assert.Equal(expected, got.Select(r => (long)r["id"]!).Order().ToList());
            }

            // Null rows are unknown: neither within nor, under not, outside.
            var negated = await db.QueryAsync("c", new QueryRequest { Filter = $"not ST_DWITHIN(geo, '{point}', {F(threshold)})", Limit = 1000 });
            Assert.Equal(nonNull - expected.Count, negated.Count);

            // Distance 0 keeps exactly the rows at distance 0 (the point itself, polygons holding it).
            var zero = distances.Where(x => x.Meters == 0).Select(x => x.Id).Order().ToList();
            var gotZero = await db.QueryAsync("c", new QueryRequest { Filter = $"ST_DWITHIN(geo, '{point}', 0)", Limit = 1000 });
            Assert.Equal(zero, gotZero.Select(r => (long)r["id"]!).Order().ToList());
            checkedQueries++;
        }

        Assert.True(checkedQueries > 40, $"{checkedQueries} queries checked");
    }

    [Fact]
    public async Task KnownDistances_PointsBySphere_OtherKindsByScaledDegrees()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("c", Schema());
        await db.InsertAsync("c",
        [
            new Row { ["id"] = 1L, ["geo"] = "POINT (0 0)", ["v"] = new[] { 0f, 0f } },
            new Row { ["id"] = 2L, ["geo"] = "LINESTRING (0 0, 0 1)", ["v"] = new[] { 0f, 0f } },
            new Row { ["id"] = 3L, ["geo"] = "MULTIPOINT ((0 0))", ["v"] = new[] { 0f, 0f } },
            new Row { ["id"] = 4L, ["geo"] = null, ["v"] = new[] { 0f, 0f } },
            new Row { ["id"] = 5L, ["geo"] = "POLYGON ((-1 -1, 3 -1, 3 3, -1 3, -1 -1), (0.5 -0.5, 2 -0.5, 2 1, 0.5 1, 0.5 -0.5))", ["v"] = new[] { 0f, 0f } },
        ]);

        async Task<long[]> Ids(string filter) => [.. (await db.QueryAsync("c", new QueryRequest { Filter = filter, Limit = 10 })).Select(r => (long)r["id"]!).Order()];

        // One degree of longitude on the equator: R·π/180 = 111,194.93 m on the sphere for the point; 111,320 m for the
        // multi point (planar degrees at latitude 0); the line is 1 degree away too; the query sits in the polygon's hole,
        // 0.5 degree from its edge.
        var sphere = 6371000.0 * Math.PI / 180.0;
        Assert.Equal(new long[] { 5 }, await Ids("ST_DWITHIN(geo, 'POINT (1 0)', 55660)"));
        Assert.Equal(new long[] { 1, 5 }, await Ids($"ST_DWITHIN(geo, 'POINT (1 0)', {F(Math.Ceiling(sphere))})"));
        Assert.Equal(new long[] { 5 }, await Ids($"ST_DWITHIN(geo, 'POINT (1 0)', {F(Math.Floor(sphere))})"));
        Assert.Equal(new long[] { 1, 2, 3, 5 }, await Ids("ST_DWITHIN(geo, 'POINT (1 0)', 111320)"));
        Assert.Equal(new long[] { 1, 5 }, await Ids("ST_DWITHIN(geo, 'POINT (1 0)', 111319.9)"));

        // At latitude 60 the planar degree is 111,320 · √((1 + 0.25) / 2) = 88,006.8 m: the line (0 60, 0 61) seen from (1 60.5).
        await db.InsertAsync("c", [new Row { ["id"] = 6L, ["geo"] = "LINESTRING (0 60, 0 61)", ["v"] = new[] { 0f, 0f } }]);
        var c = Math.Cos(60.5 * Math.PI / 180);
        var perDegree = 111320.0 * Math.Sqrt((1 + (c * c)) / 2);
        Assert.Equal(new long[] { 6 }, await Ids($"ST_DWITHIN(geo, 'POINT (1 60.5)', {F(perDegree * 1.000001)})"));
        Assert.Empty(await Ids($"ST_DWITHIN(geo, 'POINT (1 60.5)', {F(perDegree * 0.999999)})"));
        Assert.Equal(new long[] { 6 }, await Ids($"st_dwithin(geo, 'point(1 60.5)', {F(Math.Ceiling(perDegree))}) and id > 5"));
    }

    [Theory]
    [InlineData("ST_DWITHIN(geo, 'LINESTRING (0 0, 1 1)', 10)", "the second argument of ST_DWITHIN must be a POINT (longitude latitude), not a LINESTRING")]
    [InlineData("ST_DWITHIN(geo, 'MULTIPOINT ((0 0))', 10)", "must be a POINT (longitude latitude), not a MULTIPOINT")]
    [InlineData("ST_DWITHIN(geo, 'POINT EMPTY', 10)", "not an empty POINT")]
    [InlineData("ST_DWITHIN(geo, 'POINT (1', 10)", "not valid WKT")]
    [InlineData("ST_DWITHIN(geo, 'POINT (1 1)', -5)", "the distance of ST_DWITHIN must be a finite number of meters, not negative, got -5")]
    [InlineData("ST_DWITHIN(geo, 'POINT (1 1)', -0.5)", "not negative, got -0.5")]
    [InlineData("ST_DWITHIN(geo, 'POINT (1 1)', '10')", "the third argument of ST_DWITHIN must be a constant distance in meters (an integer or a float), not the string")]
    [InlineData("ST_DWITHIN(geo, 'POINT (1 1)', id)", "must be a constant distance in meters (an integer or a float), not Int64 field 'id'")]
    [InlineData("ST_DWITHIN(geo, 'POINT (1 1)', true)", "not the bool")]
    [InlineData("ST_DWITHIN(geo, 'POINT (1 1)')", "ST_DWITHIN takes 3 arguments, got 2")]
    [InlineData("ST_DWITHIN(geo, 'POINT (1 1)', 1, 2)", "ST_DWITHIN takes 3 arguments, got 4")]
    [InlineData("ST_DWITHIN(id, 'POINT (1 1)', 10)", "the first argument of ST_DWITHIN must be a GEOMETRY field")]
    [InlineData("ST_DWithin(geo, 'POINT (1 1)', 10)", "all upper or all lower case")]
    public async Task BadArguments_AreRefusedNamingTheProblem(string filter, string what)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("c", Schema());
        var ex = await Assert.ThrowsAsync<FilterException>(() => db.QueryAsync("c", new QueryRequest { Filter = filter, Limit = 10 }));
        Assert.Contains(what, ex.Message);
    }
}
