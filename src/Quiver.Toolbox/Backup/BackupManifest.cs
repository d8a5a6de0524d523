using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Quiver.Catalog;

namespace Quiver.Toolbox.Backup;

/// <summary>
/// <c>manifest.json</c> of a backup (docs/operations-backup.md): what was backed up, from where and when, and every
/// data file with its row count, byte size and SHA-256. It is written last, through a temporary file, so a backup
/// without it is incomplete. <see cref="Sha256"/> is the SHA-256 of the manifest's canonical body: the manifest without
/// its <c>sha256</c> member, written compactly (property order as in the file), so an edited manifest is detected.
/// </summary>
internal sealed record BackupManifest
{
    /// <summary>The manifest's file name in a backup.</summary>
    public const string FileName = "manifest.json";

    /// <summary>The value of <see cref="Format"/>.</summary>
    public const string FormatName = "quiver-backup";

    /// <summary>The format version this build writes and reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>How the manifest is written: camelCase, enums as strings, nulls left out.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly JsonSerializerOptions Canonical = new(Json) { WriteIndented = false };

    /// <summary>Always <see cref="FormatName"/>.</summary>
    public required string Format { get; init; }

    /// <summary>The backup format's version (<see cref="CurrentVersion"/>).</summary>
    public required int FormatVersion { get; init; }

    /// <summary>The Quiver build that wrote the backup.</summary>
    public required string QuiverVersion { get; init; }

    /// <summary>When the backup began (UTC): every row acknowledged before then, and not deleted during the backup, is
    /// in it.</summary>
    public required DateTimeOffset CreatedUtc { get; init; }

    /// <summary>When the last data file was written (UTC).</summary>
    public required DateTimeOffset CompletedUtc { get; init; }

    /// <summary>Where the rows came from: "folder ./data" or "server http://host:port", and the database.</summary>
    public required string Source { get; init; }

    /// <summary>The collections, each with its data files.</summary>
    public required IReadOnlyList<BackupCollection> Collections { get; init; }

    /// <summary>SHA-256 (lowercase hex) of the canonical body; null only while it is computed.</summary>
    public string? Sha256 { get; init; }

    /// <summary>Writes the manifest, with its own checksum, to <paramref name="folder"/> through a temporary file.</summary>
    public async Task WriteAsync(string folder, CancellationToken cancellationToken)
    {
        // Hashed as a reader will see it: parsed back from the bytes, so both hash the same canonical form.
        var node = JsonNode.Parse(JsonSerializer.SerializeToUtf8Bytes(this with { Sha256 = null }, Json))!.AsObject();
        node["sha256"] = Hash(node);
        var path = Path.Combine(folder, FileName);
        var temporary = path + ".tmp";
        await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await stream.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(node, Json), cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a manifest from its bytes; <paramref name="problem"/> says why it cannot be trusted (malformed,
    /// checksum mismatch, unknown format or version), or is null.</summary>
    public static BackupManifest? Parse(byte[] bytes, out string? problem)
    {
        problem = null;
        JsonObject node;
        try
        {
            node = JsonNode.Parse(bytes)?.AsObject() ?? throw new JsonException("empty document");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            problem = $"not valid JSON ({e.Message})";
            return null;
        }

        var stated = node["sha256"]?.GetValueKind() == JsonValueKind.String ? node["sha256"]!.GetValue<string>() : null;
        if (stated is null)
        {
            problem = "has no sha256 of its own body";
            return null;
        }

        node.Remove("sha256");
        var actual = Hash(node);
        if (!string.Equals(stated, actual, StringComparison.Ordinal))
        {
            problem = $"checksum mismatch: it states {stated}, its body hashes to {actual} (edited or damaged)";
            return null;
        }

        BackupManifest? manifest;
        try
        {
            manifest = node.Deserialize<BackupManifest>(Json);
        }
        catch (JsonException e)
        {
            problem = $"does not have the manifest's shape ({e.Message})";
            return null;
        }

        if (manifest is null || manifest.Format != FormatName)
        {
            problem = $"is not a Quiver backup manifest (format '{manifest?.Format}')";
            return null;
        }

        if (manifest.FormatVersion != CurrentVersion)
        {
            problem = $"has format version {manifest.FormatVersion}; this build reads version {CurrentVersion}";
            return null;
        }

        return manifest with { Sha256 = stated };
    }

    /// <summary>SHA-256 of a file as lowercase hex, and its length.</summary>
    public static async Task<(string Sha256, long Bytes)> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return (Convert.ToHexStringLower(hash), stream.Length);
    }

    private static string Hash(JsonObject body) =>
        Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(body, Canonical)));
}

/// <summary>One collection in a backup.</summary>
internal sealed record BackupCollection
{
    /// <summary>The database it was in.</summary>
    public required string Database { get; init; }

    /// <summary>Its name.</summary>
    public required string Name { get; init; }

    /// <summary>The <see cref="CollectionSchema"/> as the engine serializes it (<see cref="ManifestFile.Json"/>).</summary>
    public required JsonElement Schema { get; init; }

    /// <summary>Collection properties.</summary>
    public required IReadOnlyDictionary<string, string> Properties { get; init; }

    /// <summary>Aliases pointing at it, when the source could list them.</summary>
    public IReadOnlyList<string>? Aliases { get; init; }

    /// <summary>Server: whether it was loaded; null from a folder (embedded collections are always searchable).</summary>
    public bool? Loaded { get; init; }

    /// <summary>Its indexes.</summary>
    public required IReadOnlyList<BackupIndex> Indexes { get; init; }

    /// <summary>Its partitions with their data files.</summary>
    public required IReadOnlyList<BackupPartition> Partitions { get; init; }

    /// <summary>Rows in the backup (sum over the partitions).</summary>
    public long Rows => Partitions.Sum(p => p.Rows);

    /// <summary>The schema as the engine's type.</summary>
    public CollectionSchema ReadSchema() =>
        Schema.Deserialize<CollectionSchema>(ManifestFile.Json) ?? throw new JsonException($"collection '{Name}': null schema");

    /// <summary>A schema as stored here.</summary>
    public static JsonElement WriteSchema(CollectionSchema schema) => JsonSerializer.SerializeToElement(schema, ManifestFile.Json);
}

/// <summary>An index definition (as <see cref="Quiver.Client.IQuiverClient.DescribeIndexesAsync"/> reports it).</summary>
/// <param name="IndexName">Index name.</param>
/// <param name="FieldName">Indexed field.</param>
/// <param name="IndexType">Milvus index_type (HNSW, IVF_FLAT, AUTOINDEX...).</param>
/// <param name="Metric">L2, IP or COSINE.</param>
/// <param name="Params">Build parameters as given.</param>
internal sealed record BackupIndex(string IndexName, string FieldName, string IndexType, MetricType Metric, IReadOnlyDictionary<string, string> Params);

/// <summary>One partition in a backup.</summary>
/// <param name="Name">Partition name.</param>
/// <param name="Rows">Rows backed up.</param>
/// <param name="Files">Its Parquet files, in key order.</param>
internal sealed record BackupPartition(string Name, long Rows, IReadOnlyList<BackupFile> Files);

/// <summary>One data file.</summary>
/// <param name="Path">Relative to the backup's root, '/'-separated.</param>
/// <param name="Rows">Rows in it.</param>
/// <param name="Bytes">Its length.</param>
/// <param name="Sha256">SHA-256 of its bytes, lowercase hex.</param>
internal sealed record BackupFile(string Path, long Rows, long Bytes, string Sha256);
