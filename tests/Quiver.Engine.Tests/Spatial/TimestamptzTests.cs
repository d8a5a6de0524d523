namespace Quiver.Engine.Tests.Spatial;

public class TimestamptzTests
{
    [Theory]
    [InlineData("2025-05-01T23:59:59+08:00", null, "2025-05-01T15:59:59Z")]
    [InlineData("2025-05-01T23:59:59Z", null, "2025-05-01T23:59:59Z")]
    [InlineData("2024-12-31 22:00:00", null, "2024-12-31T22:00:00Z")]
    [InlineData("2024-12-31T22:00:00", "Asia/Shanghai", "2024-12-31T14:00:00Z")]
    [InlineData("2024-12-31T22:00:00-0530", null, "2025-01-01T03:30:00Z")]
    [InlineData("2025-01-01", null, "2025-01-01T00:00:00Z")]
    [InlineData("2025-01-01T00:00:00.123450+00:00", null, "2025-01-01T00:00:00.12345Z")]
    [InlineData("2025-01-01T00:00:00.123456000Z", null, "2025-01-01T00:00:00.123456Z")]
    [InlineData("1984-04-14T15:00:00+08:00", null, "1984-04-14T07:00:00Z")]
    [InlineData("0001-01-01T00:00:00Z", null, "0001-01-01T00:00:00Z")]
    public void Parse_ThenFormat_InUtc(string text, string? zone, string expected)
    {
        var tz = zone is null ? null : Timestamptz.FindZone(zone, out _);
        Assert.True(Timestamptz.TryParse(text, tz, out var micros, out var error), error);
        Assert.Equal(expected, Timestamptz.Format(micros));
        Assert.True(Timestamptz.TryParse(expected, null, out var again, out _));
        Assert.Equal(micros, again);
    }

    [Fact]
    public void Format_InAZone_WritesItsOffset()
    {
        Assert.True(Timestamptz.TryParse("2025-01-01T00:00:00Z", null, out var micros, out _));
        Assert.Equal("2025-01-01T08:00:00+08:00", Timestamptz.Format(micros, Timestamptz.FindZone("Asia/Shanghai", out _)));
        Assert.Equal("2024-12-31T19:00:00-05:00", Timestamptz.Format(micros, Timestamptz.FindZone("America/New_York", out _)));
    }

    [Fact]
    public void MicrosecondsMatchTheUnixEpoch()
    {
        Assert.True(Timestamptz.TryParse("1970-01-01T00:00:01.000001Z", null, out var micros, out _));
        Assert.Equal(1_000_001L, micros);
        Assert.True(Timestamptz.TryParse("1969-12-31T23:59:59.999999Z", null, out micros, out _));
        Assert.Equal(-1L, micros);
        Assert.Equal("1969-12-31T23:59:59.999999Z", Timestamptz.Format(-1));
    }

    [Theory]
    [InlineData("yesterday", "not an ISO 8601 timestamp")]
    [InlineData("2025-13-01T00:00:00Z", "not a valid date and time")]
    [InlineData("2025-02-30", "not a valid date and time")]
    [InlineData("2025-01-01T00:00:00+15:00", "offset out of range")]
    [InlineData("2025-01-01T00:00:00.1234567Z", "more precise than the microseconds")]
    [InlineData("0001-01-01T00:00:00+01:00", "outside the years 0001 to 9999")]
    public void Parse_RefusesNamingTheProblem(string text, string what)
    {
        Assert.False(Timestamptz.TryParse(text, null, out _, out var error));
        Assert.Contains(what, error);
    }

    [Fact]
    public void FindZone_RefusesAnUnknownName()
    {
        Assert.Null(Timestamptz.FindZone("Mars/Olympus", out var error));
        Assert.Contains("not a known IANA time zone", error);
    }
}
