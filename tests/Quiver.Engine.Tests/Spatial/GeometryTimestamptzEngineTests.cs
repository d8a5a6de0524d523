using System.Text.Json;
using Quiver.Spatial;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Spatial;

/// <summary>GEOMETRY and TIMESTAMPTZ fields through the embedded engine: stored in the WAL, growing and sealed segments,
/// read back after a reopen, filtered with ST_INTERSECTS and ISO / INTERVAL literals against a brute-force oracle over
/// the rows inserted.</summary>
public sealed class GeometryTimestamptzEngineTests : IDisposable
{
    private static readonly QuiverOptions NoBackground = new() { BackgroundMaintenance = false };
    private static readonly long Base = Micros("2025-01-01T00:00:00Z");
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static long Micros(string iso) => Timestamptz.TryParse(iso, null, out var m, out var e) ? m : throw new ArgumentException(e);

    private static CollectionSchema Schema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            new FieldSchema { Name = "geo", DataType = DataType.Geometry, Nullable = true },
            new FieldSchema { Name = "tsz", DataType = DataType.Timestamptz },
            new FieldSchema
            {
                Name = "created", DataType = DataType.Timestamptz, Nullable = true,
                DefaultValue = JsonSerializer.SerializeToElement("1984-04-14T15:00:00+08:00"),
            },
            new FieldSchema { Name = "place", DataType = DataType.Geometry, DefaultValue = JsonSerializer.SerializeToElement("point(1 1)") },
            FieldSchema.Vector("v", 2, MetricType.L2),
        ],
    };

    private static Row MakeRow(Random rng, long id)
    {
        Coord P() => new(rng.Next(0, 20), rng.Next(0, 20));
        var shapes = new[]
        {
            $"POINT ({P().X} {P().Y})",
            $"linestring({P().X} {P().Y}, {P().X} {P().Y})",
            $"POLYGON (({id % 10} 0, {id % 10 + 3} 0, {id % 10 + 3} 3, {id % 10} 3, {id % 10} 0))",
        };
        var row = new Row
        {
            ["id"] = id,
            ["geo"] = rng.Next(8) == 0 ? null : shapes[rng.Next(shapes.Length)],
            // Every row an hour apart, written in a zone of its own: the instant is what counts.
            ["tsz"] = Timestamptz.Format(Base + (id * 3_600_000_000L), Timestamptz.FindZone(id % 2 == 0 ? "Asia/Shanghai" : "America/New_York", out _)),
            ["v"] = new[] { (float)id, 1f },
        };
        if (rng.Next(3) == 0)
        {
            row["created"] = rng.Next(2) == 0 ? null : "2020-02-02T02:02:02.5Z";
        }

        if (rng.Next(3) == 0)
        {
            row["place"] = "POINT (7 7)";
        }

        return row;
    }

    [Fact]
    public async Task StoredReadBackAndFiltered_AcrossFlushAndReopen()
    {
        var rng = new Random(5);
        var rows = Enumerable.Range(1, 300).Select(i => MakeRow(rng, i)).ToList();
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.InsertAsync("c", rows.Take(200).ToList());
            await db.FlushAsync("c"); // the first 200 rows sealed; the rest stay in the WAL and a growing segment
            await db.InsertAsync("c", rows.Skip(200).ToList());
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            var all = await db.QueryAsync("c", new QueryRequest { Filter = "id > 0", OutputFields = ["geo", "tsz", "created", "place"], Limit = 1000 });
            Assert.Equal(rows.Count, all.Count);
            foreach (var got in all)
            {
                var want = rows[(int)(long)got["id"]! - 1];
                var geo = (string?)want["geo"];
                Assert.Equal(geo is null ? null : Wkt.Normalize(geo, out _), got["geo"]);
                Assert.Equal(Timestamptz.Format(Micros((string)want["tsz"]!)), got["tsz"]);
                var created = want.TryGetValue("created", out var c) ? (c is null ? "1984-04-14T07:00:00Z" : "2020-02-02T02:02:02.5Z") : "1984-04-14T07:00:00Z";
                Assert.Equal(created, got["created"]);
                Assert.Equal(want.TryGetValue("place", out var p) ? "POINT (7 7)" : "POINT (1 1)", got["place"]);
            }

            string[] regions =
            [
                "POLYGON ((0 0, 5 0, 5 5, 0 5, 0 0))",
                "LINESTRING (0 10, 20 10)",
                "POINT (3 3)",
                "MULTIPOLYGON (((10 10, 12 10, 12 12, 10 12, 10 10)), ((0 15, 1 15, 1 16, 0 16, 0 15)))",
            ];
            foreach (var region in regions)
            {
                var target = Wkt.TryParse(region, out _)!;
                var expected = rows.Where(r => r["geo"] is string g && Predicates.Intersects(Wkt.TryParse(g, out _)!, target)).Select(r => (long)r["id"]!).Order().ToList();
                Assert.NotEmpty(expected);
                foreach (var name in new[] { "ST_INTERSECTS", "st_intersects" })
                {
                    var got = await db.QueryAsync("c", new QueryRequest { Filter = $"{name}(geo, '{region}')", Limit = 1000 });
                    Assert.Equal(expected, got.Select(r => (long)r["id"]!).Order().ToList());
                }

                var negated = await db.QueryAsync("c", new QueryRequest { Filter = $"not ST_INTERSECTS(geo, '{region}')", Limit = 1000 });
                Assert.Equal(rows.Count(r => r["geo"] is not null) - expected.Count, negated.Count);

                // The relate operators through the filter, row value first, against the relation computed on the rows sent.
                foreach (var op in new[] { "st_equals", "st_contains", "st_within", "st_touches", "st_crosses", "st_overlaps" })
                {
                    var want = rows.Where(r => r["geo"] is string g && Relate.Holds(op, Wkt.TryParse(g, out _)!, target)).Select(r => (long)r["id"]!).Order().ToList();
                    var got = await db.QueryAsync("c", new QueryRequest { Filter = $"{op.ToUpperInvariant()}(geo, '{region}')", Limit = 1000 });
                    Assert.Equal(want, got.Select(r => (long)r["id"]!).Order().ToList());
                }
            }

            // Instants compare in UTC, whatever offset the literal or the inserted text carried.
            (string Filter, Func<long, bool> Oracle)[] times =
            [
                ("tsz > ISO '2025-01-05T08:00:00+08:00'", id => Base + (id * 3_600_000_000L) > Micros("2025-01-05T00:00:00Z")),
                ("tsz <= ISO '2025-01-02T00:00:00Z'", id => id <= 24),
                ("tsz == ISO '2025-01-01T07:00:00+02:00'", id => id == 5),
                ("tsz != ISO '2025-01-01T05:00:00Z'", id => id != 5),
                ("ISO '2025-01-03 00:00:00' <= tsz < ISO '2025-01-04T00:00:00Z'", id => id >= 48 && id < 72),
                ("tsz + INTERVAL 'P1D' < ISO '2025-01-03T00:00:00Z'", id => id < 24),
                ("tsz - INTERVAL 'PT2H30M' >= ISO '2025-01-10T00:00:00Z'", id => (id * 60) - 150 >= 9 * 24 * 60),
                ("tsz + INTERVAL 'P0D' != ISO '2025-01-01T03:00:00Z'", id => id != 3),
                ("created == ISO '1984-04-14T15:00:00+08:00'", id => !rows[(int)id - 1].TryGetValue("created", out var c) || c is null),
            ];
            foreach (var (filter, oracle) in times)
            {
                var got = await db.QueryAsync("c", new QueryRequest { Filter = filter, Limit = 1000 });
                var expected = rows.Select(r => (long)r["id"]!).Where(oracle).Order().ToList();
                Assert.True(expected.SequenceEqual(got.Select(r => (long)r["id"]!).Order()), $"filter `{filter}`: expected {expected.Count} rows, got {got.Count}");
            }
        }
    }

    [Theory]
    [InlineData("geo", "POINT (1)", "invalid WKT at position 8: expected a number")]
    [InlineData("geo", 42, "expected Geometry")]
    [InlineData("tsz", "2025-13-01T00:00:00Z", "not a valid date and time")]
    [InlineData("tsz", "soon", "not an ISO 8601 timestamp")]
    [InlineData("tsz", true, "expected Timestamptz")]
    public async Task Insert_RefusesABadValue_NamingRowFieldAndPosition(string field, object value, string what)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("c", Schema());
        var row = MakeRow(new Random(1), 1);
        row[field] = value;
        var ex = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [MakeRow(new Random(2), 2), row]));
        Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
        Assert.Contains($"'{field}'", ex.Message);
        Assert.Contains(what, ex.Message);
    }

    [Theory]
    [InlineData("ST_Intersects(geo, 'POINT (1 1)')", "all upper or all lower case")]
    [InlineData("ST_INTERSECTS(geo, 'POINT (1')", "not valid WKT: invalid WKT at position 8")]
    [InlineData("ST_INTERSECTS(id, 'POINT (1 1)')", "must be a GEOMETRY field")]
    [InlineData("ST_INTERSECTS(geo, 3)", "must be a WKT string")]
    [InlineData("ST_INTERSECTS(geo)", "takes 2 arguments")]
    [InlineData("tsz > ISO 'tomorrow'", "bad ISO literal")]
    [InlineData("tsz > tsz + INTERVAL 'P1M'", "bad INTERVAL literal 'P1M'")]
    [InlineData("tsz > tsz + INTERVAL 'P'", "bad INTERVAL literal 'P'")]
    public async Task Filter_RefusesNamingTheProblem(string filter, string what)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("c", Schema());
        var ex = await Assert.ThrowsAsync<FilterException>(() => db.QueryAsync("c", new QueryRequest { Filter = filter, Limit = 10 }));
        Assert.Contains(what, ex.Message);
    }
}
