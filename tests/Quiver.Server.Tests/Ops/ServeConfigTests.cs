using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Server.Tests.Ops;

public sealed class ServeConfigTests
{
    private static readonly Dictionary<string, string?> NoKeys = [];

    [Fact]
    public void Load_Nothing_GivesDefaults()
    {
        var options = ServerConfig.Load(NoKeys, new Dictionary<string, string>());
        Assert.Equal("data", options.DataPath);
        Assert.Equal("127.0.0.1", options.Host);
        Assert.Equal(19530, options.Port);
        Assert.False(options.Insecure);
        Assert.Equal(TimeSpan.FromSeconds(30), options.ShutdownTimeout);
        Assert.Equal(DurabilityMode.Always, options.Engine.Durability);
    }

    [Fact]
    public void Load_CommandLineBeatsEnvironmentBeatsFileBeatsDefaults()
    {
        using var folder = new TempFolder();
        var file = Path.Combine(folder.Path, "quiver.json");
        File.WriteAllText(file, """
            { "data": "/from/file", "host": "127.0.0.2", "port": 1111, "shutdownTimeout": "00:00:05",
              "engine": { "durability": "Never", "segmentMaxRows": 4096 } }
            """);
        var environment = new Dictionary<string, string>
        {
            ["QUIVER_CONFIG"] = file,
            ["QUIVER_PORT"] = "2222",
            ["QUIVER_HOST"] = "127.0.0.3",
            ["QUIVER_ENGINE__DURABILITY"] = "Interval",
            ["QUIVER_LONG"] = "1", // the test-tier switch shares the prefix and binds to nothing
            ["OTHER_PORT"] = "9",
        };
        var commandLine = new Dictionary<string, string?> { ["Port"] = "3333" };

        var options = ServerConfig.Load(commandLine, environment);

        Assert.Equal(3333, options.Port);                              // command line
        Assert.Equal("127.0.0.3", options.Host);                       // environment over file
        Assert.Equal(DurabilityMode.Interval, options.Engine.Durability); // nested, environment over file
        Assert.Equal("/from/file", options.DataPath);                  // file
        Assert.Equal(4096, options.Engine.SegmentMaxRows);             // nested, file
        Assert.Equal(TimeSpan.FromSeconds(5), options.ShutdownTimeout);
        Assert.True(options.Engine.BackgroundMaintenance);             // default kept inside a bound nested object
    }

    [Fact]
    public void Load_CommandLineConfigFile_WinsOverEnvironmentConfigFile()
    {
        using var folder = new TempFolder();
        var first = Path.Combine(folder.Path, "a.json");
        var second = Path.Combine(folder.Path, "b.json");
        File.WriteAllText(first, """{ "port": 1 }""");
        File.WriteAllText(second, """{ "port": 2 }""");
        var options = ServerConfig.Load(new Dictionary<string, string?> { ["Config"] = second },
            new Dictionary<string, string> { ["QUIVER_CONFIG"] = first });
        Assert.Equal(2, options.Port);
    }

    [Theory]
    [InlineData("""{ "prot": 1 }""", "'prot'")]
    [InlineData("""{ "port": 1, "engine": { "durabilty": "Never" } }""", "'engine:durabilty'")]
    public void Load_UnknownKeyInFile_NamesFileAndKey(string json, string named)
    {
        using var folder = new TempFolder();
        var file = Path.Combine(folder.Path, "quiver.json");
        File.WriteAllText(file, json);
        var e = Assert.Throws<ArgumentException>(() => ServerConfig.Load(new Dictionary<string, string?> { ["Config"] = file }, new Dictionary<string, string>()));
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_NamesIt()
    {
        var e = Assert.Throws<ArgumentException>(() => ServerConfig.Load(new Dictionary<string, string?> { ["Config"] = "/no/such/quiver.json" }, new Dictionary<string, string>()));
        Assert.Contains("/no/such/quiver.json", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Port", "abc", "Port")]
    [InlineData("Port", "70000", "70000")]
    [InlineData("Host", "localhost-ish", "localhost-ish")]
    [InlineData("Engine:Durability", "Sometimes", "Durability")]
    public void Load_BadValue_NamesIt(string key, string value, string named)
    {
        var e = Assert.Throws<ArgumentException>(() => ServerConfig.Load(new Dictionary<string, string?> { [key] = value }, new Dictionary<string, string>()));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnvironmentKeys_StripPrefixAndMapDoubleUnderscore()
    {
        var keys = ServerConfig.EnvironmentKeys(new Dictionary<string, string>
        {
            ["QUIVER_DATA"] = "/d",
            ["QUIVER_ENGINE__FSYNCINTERVAL"] = "00:00:01",
            ["PATH"] = "/bin",
        });
        Assert.Equal(2, keys.Count);
        Assert.Equal("/d", keys["DATA"]);
        Assert.Equal("00:00:01", keys["ENGINE:FSYNCINTERVAL"]);
    }
}
