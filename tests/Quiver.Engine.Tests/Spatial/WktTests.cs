using Quiver.Spatial;

namespace Quiver.Engine.Tests.Spatial;

public class WktTests
{
    [Theory]
    [InlineData("POINT (1 2)", "POINT (1 2)")]
    [InlineData("point(1 2)", "POINT (1 2)")]
    [InlineData("  Point ( -73.123456   40.5 ) ", "POINT (-73.123456 40.5)")]
    [InlineData("POINT (1e3 -0)", "POINT (1000 0)")]
    [InlineData("POINT EMPTY", "POINT EMPTY")]
    [InlineData("LINESTRING (13.40 52.52, 13.41 52.51)", "LINESTRING (13.4 52.52, 13.41 52.51)")]
    [InlineData("POLYGON ((30 10, 40 40, 20 40, 10 20, 30 10))", "POLYGON ((30 10, 40 40, 20 40, 10 20, 30 10))")]
    [InlineData("POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2))", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 3 2, 3 3, 2 2))")]
    [InlineData("MULTIPOINT ((10 40), (40 30))", "MULTIPOINT ((10 40), (40 30))")]
    [InlineData("MULTIPOINT (10 40, 40 30)", "MULTIPOINT ((10 40), (40 30))")]
    [InlineData("MULTILINESTRING ((10 10, 20 20, 10 40), (40 40, 30 30))", "MULTILINESTRING ((10 10, 20 20, 10 40), (40 40, 30 30))")]
    [InlineData("MULTIPOLYGON (((30 20, 45 40, 10 40, 30 20)), ((15 5, 40 10, 10 20, 5 10, 15 5)))", "MULTIPOLYGON (((30 20, 45 40, 10 40, 30 20)), ((15 5, 40 10, 10 20, 5 10, 15 5)))")]
    [InlineData("GEOMETRYCOLLECTION (POINT (40 10), LINESTRING (10 10, 20 20, 10 40), POLYGON ((40 40, 20 45, 45 30, 40 40)))", "GEOMETRYCOLLECTION (POINT (40 10), LINESTRING (10 10, 20 20, 10 40), POLYGON ((40 40, 20 45, 45 30, 40 40)))")]
    [InlineData("GEOMETRYCOLLECTION (POINT EMPTY, GEOMETRYCOLLECTION (POINT (1 2)))", "GEOMETRYCOLLECTION (POINT EMPTY, GEOMETRYCOLLECTION (POINT (1 2)))")]
    [InlineData("GEOMETRYCOLLECTION EMPTY", "GEOMETRYCOLLECTION EMPTY")]
    public void Normalize_WritesTheCanonicalForm_AndIsStable(string input, string expected)
    {
        var canonical = Wkt.Normalize(input, out var error);
        Assert.Null(error);
        Assert.Equal(expected, canonical);
        Assert.Equal(expected, Wkt.Normalize(canonical!, out _));
    }

    [Fact]
    public void Normalize_KeepsEveryDoubleExactly()
    {
        var rng = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var x = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-20, 20));
            var y = BitConverter.Int64BitsToDouble(rng.NextInt64(0, 0x7FEF_FFFF_FFFF_FFFF)) * (rng.Next(2) == 0 ? -1 : 1);
            var shape = Wkt.TryParse(Wkt.Write(Shape.Point(new Coord(x, y))), out var error);
            Assert.Null(error);
            Assert.Equal(new Coord(x, y), shape!.Coords[0]);
        }
    }

    [Theory]
    [InlineData("", 0, "expected a geometry type")]
    [InlineData("CIRCLE (1 2)", 0, "expected a geometry type")]
    [InlineData("POINT (1)", 8, "expected a number")]
    [InlineData("POINT (1 2", 10, "expected ')'")]
    [InlineData("POINT (1 2 3)", 11, "third ordinate")]
    [InlineData("POINT Z (1 2 3)", 6, "only two-dimensional geometries")]
    [InlineData("POINT (1 2) x", 12, "unexpected text after the geometry")]
    [InlineData("POINT (1 abc)", 9, "expected a number")]
    [InlineData("POINT (1e999 2)", 7, "out of range")]
    [InlineData("LINESTRING (1 2)", 11, "at least 2 points")]
    [InlineData("POLYGON ((0 0, 1 0, 0 0))", 9, "at least 4 points")]
    [InlineData("POLYGON ((0 0, 1 0, 1 1, 0 1))", 9, "must be closed")]
    [InlineData("MULTIPOINT ((1 2), (3))", 21, "expected a number")]
    public void TryParse_NamesThePositionOfTheMistake(string input, int position, string what)
    {
        Assert.Null(Wkt.TryParse(input, out var error));
        Assert.Contains($"position {position}:", error);
        Assert.Contains(what, error);
    }

    [Fact]
    public void TryParse_RefusesNestingPastTheLimit_WithoutRecursingOn()
    {
        var deep = string.Concat(Enumerable.Repeat("GEOMETRYCOLLECTION (", 10_000)) + "POINT (1 2)" + new string(')', 10_000);
        Assert.Null(Wkt.TryParse(deep, out var error));
        Assert.Contains($"deeper than {Wkt.MaxNesting}", error);
    }

    [Fact]
    public void Wkb_ReadsBothByteOrders_AndNamesBadBytes()
    {
        // POINT (1 2), little-endian then big-endian.
        byte[] little = [1, 1, 0, 0, 0, .. BitConverter.GetBytes(1.0), .. BitConverter.GetBytes(2.0)];
        byte[] big = [0, 0, 0, 0, 1, .. BitConverter.GetBytes(1.0).Reverse(), .. BitConverter.GetBytes(2.0).Reverse()];
        Assert.Equal("POINT (1 2)", Wkt.Write(Wkb.TryRead(little, out _)!));
        Assert.Equal("POINT (1 2)", Wkt.Write(Wkb.TryRead(big, out _)!));
        Assert.Null(Wkb.TryRead(little.AsSpan(0, 12), out var error));
        Assert.Contains("the bytes end early", error);
        // A line string claiming 2^31 points in 9 bytes.
        byte[] liar = [1, 2, 0, 0, 0, 0, 0, 0, 128];
        Assert.Null(Wkb.TryRead(liar, out error));
        Assert.Contains("exceeds the bytes left", error);
    }
}
