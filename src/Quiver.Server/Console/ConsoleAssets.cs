using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Quiver.Server.Console;

/// <summary>
/// The console's front end (HTML, the JavaScript bundle, CSS), embedded in this assembly at build time under the
/// resource names <c>console/&lt;file&gt;</c> (the server's project file bundles <c>console/</c> with esbuild and embeds
/// the output): nothing is read from disk or fetched at run time. Each file is held once with its content type and an
/// ETag (a hash of its bytes).
/// </summary>
internal sealed class ConsoleAssets
{
    private const string ResourcePrefix = "console/";

    private readonly FrozenDictionary<string, ConsoleAsset> _files;

    private ConsoleAssets(FrozenDictionary<string, ConsoleAsset> files) => _files = files;

    /// <summary>The page every console route answers (the front end routes by the URL fragment).</summary>
    public const string IndexFile = "index.html";

    /// <summary>Reads the embedded files of <paramref name="assembly"/>.</summary>
    public static ConsoleAssets Load(System.Reflection.Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var files = new Dictionary<string, ConsoleAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var file = name[ResourcePrefix.Length..];
            files[file] = new ConsoleAsset(bytes, ContentType(file), "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"");
        }
        return new ConsoleAssets(files.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>The file at <paramref name="path"/> (relative to <c>/console/</c>), or null.</summary>
    public ConsoleAsset? Find(string path) => _files.GetValueOrDefault(path);

    /// <summary>The embedded file names.</summary>
    public IEnumerable<string> Names => _files.Keys;

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
}

/// <summary>One embedded console file.</summary>
/// <param name="Bytes">The content.</param>
/// <param name="ContentType">The HTTP content type.</param>
/// <param name="ETag">A strong ETag of the content.</param>
internal sealed record ConsoleAsset(byte[] Bytes, string ContentType, string ETag);
