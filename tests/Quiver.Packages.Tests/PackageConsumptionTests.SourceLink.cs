using System.Reflection.Metadata;
using System.Text.Json;
using Quiver.Testing;

namespace Quiver.Packages.Tests;

public sealed partial class PackageConsumptionTests
{
    /// <summary>The kind of a portable PDB's Source Link record (the Portable PDB format's fixed GUID).</summary>
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    /// <summary>Source Link (docs/packages.md): a package built from a clone whose <c>origin</c> is a GitHub repository
    /// carries PDBs whose Source Link record maps every source file to that repository at the built commit, so a
    /// debugger fetches the exact sources. Built here from a clone of this repository with a GitHub origin (nothing is
    /// fetched from it; the mapping is only written), with the deterministic CI settings packages are built with.</summary>
    [Fact]
    public async Task SourceLink_ABuildFromACloneWithAGitHubOrigin_MapsEverySourceToThatCommit()
    {
        using var temp = new TempFolder("quiver-sourcelink");
        var clone = temp.Sub("q");
        await RunAsync(temp.Path, "git", "clone", "--quiet", "--no-hardlinks", Repo, clone);
        await RunAsync(clone, "git", "remote", "set-url", "origin", "https://github.com/quiver-tests/quiver.git");
        var commit = (await RunAsync(clone, "git", "rev-parse", "HEAD")).Trim();
        await RunAsync(clone, "dotnet", "build", "src/Quiver.Abstractions/Quiver.Abstractions.csproj", "-c", "Release", "--nologo",
            "-v", "quiet", "-p:ContinuousIntegrationBuild=true");

        var pdb = Path.Combine(clone, "src", "Quiver.Abstractions", "bin", "Release", "net10.0", "Quiver.Abstractions.pdb");
        await using var stream = File.OpenRead(pdb);
        using var provider = MetadataReaderProvider.FromPortablePdbStream(stream);
        var reader = provider.GetMetadataReader();
        var records = reader.CustomDebugInformation
            .Select(reader.GetCustomDebugInformation)
            .Where(c => reader.GetGuid(c.Kind) == SourceLinkKind)
            .Select(c => reader.GetBlobBytes(c.Value))
            .ToList();
        var record = Assert.Single(records);
        using var json = JsonDocument.Parse(record);
        var mapping = Assert.Single(json.RootElement.GetProperty("documents").EnumerateObject());
        Assert.Equal($"https://raw.githubusercontent.com/quiver-tests/quiver/{commit}/*", mapping.Value.GetString());
        Assert.EndsWith("*", mapping.Name, StringComparison.Ordinal);

        // Every C# source the compiler saw (generated files aside, which are embedded) lies under the mapped root.
        var root = mapping.Name[..^1];
        var sources = reader.Documents
            .Select(h => reader.GetString(reader.GetDocument(h).Name))
            .Where(n => n.EndsWith(".cs", StringComparison.Ordinal) && !n.Contains("/obj/", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(sources);
        Assert.All(sources, s => Assert.StartsWith(root, s, StringComparison.Ordinal));
        Assert.Contains(sources, s => s.EndsWith("/src/Quiver.Abstractions/IQuiverClient.cs", StringComparison.Ordinal));
    }
}
