using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;
using Quiver.Storage;

namespace Quiver.Catalog;

/// <summary>The persisted catalog and segment manifests of a data folder: databases, collections with their schema,
/// partitions, sealed segments, delete files and WAL checkpoints. Replaced atomically as a whole (write, fsync,
/// rename, fsync the folder); see docs/format-manifest.md.</summary>
internal sealed record ManifestData
{
    public int FormatVersion { get; init; } = 1;

    /// <summary>Next id for databases, collections, partitions and segments.</summary>
    public long NextId { get; init; } = 1;

    /// <summary>Highest timestamp handed out before this manifest was written.</summary>
    public long LastTimestamp { get; init; }

    public List<DatabaseMeta> Databases { get; init; } = [];

    public List<CollectionMeta> Collections { get; init; } = [];
}

internal sealed record DatabaseMeta
{
    public required long Id { get; init; }

    public required string Name { get; init; }

    /// <summary>Creation timestamp (hybrid clock); 0 for databases created before it was recorded, and for default.</summary>
    public long CreatedTimestamp { get; init; }

    public Dictionary<string, string> Properties { get; init; } = [];

    /// <summary>Aliases of the database's collections: alias name to collection id (so a rename keeps them).</summary>
    public Dictionary<string, long> Aliases { get; init; } = [];
}

internal sealed record PartitionMeta
{
    public required long Id { get; init; }

    public required string Name { get; init; }
}

internal sealed record SegmentMeta
{
    public required long Id { get; init; }

    public required long PartitionId { get; init; }

    public required int Rows { get; init; }

    /// <summary>Delete file name (in the collection's segment folder), or null when the segment had no deletes at the last checkpoint.</summary>
    public string? DeleteFile { get; init; }

    /// <summary>How many of the schema's fields (the first ones) the segment file holds, when fields were added to the
    /// collection after it was written (AddCollectionField); null when it holds every field. Rows of the segment read
    /// an added field as its default value, or null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Fields { get; init; }

    [JsonIgnore]
    public string FileName => SegmentFileName(Id);

    public static string SegmentFileName(long id) => $"{id:D20}.qseg";
}

internal sealed record CollectionMeta
{
    public required long Id { get; init; }

    public required string Database { get; init; }

    public required string Name { get; init; }

    public required CollectionSchema Schema { get; init; }

    public required long CreatedTimestamp { get; init; }

    public List<PartitionMeta> Partitions { get; init; } = [];

    public List<SegmentMeta> Segments { get; init; } = [];

    /// <summary>WAL records with an LSN at or after this are replayed on open; earlier ones are in segments.</summary>
    public long CheckpointLsn { get; init; } = 1;

    /// <summary>Next auto-generated primary key (for auto-id collections), as of the checkpoint.</summary>
    public long NextAutoId { get; init; } = 1;

    public Dictionary<string, string> Properties { get; init; } = [];

    /// <summary>Vector indexes, at most one per vector field. Their per-segment files are derived data: named by index
    /// and segment id (see <see cref="IndexMeta.FileName"/>), rebuilt when missing or damaged.</summary>
    public List<IndexMeta> Indexes { get; init; } = [];
}

/// <summary>A vector index of a collection as the user created it (Milvus's index_name, field_name, index_type,
/// metric_type, params).</summary>
internal sealed record IndexMeta
{
    /// <summary>Unique in the data folder; a re-created index gets a new id, so files of an older one never load.</summary>
    public required long Id { get; init; }

    public required string Name { get; init; }

    public required string FieldName { get; init; }

    /// <summary>Milvus index_type name, e.g. "HNSW".</summary>
    public required string IndexType { get; init; }

    public required MetricType Metric { get; init; }

    public Dictionary<string, string> Params { get; init; } = [];

    /// <summary>Properties that are not build parameters and may change later (<see cref="Indexing.IndexProperties"/>).</summary>
    public Dictionary<string, string> Properties { get; init; } = [];

    public static string FileName(long indexId, long segmentId) => $"{indexId:D20}-{segmentId:D20}.qidx";
}

/// <summary>Reads and writes <see cref="ManifestData"/>: magic "QUIVMAN1" (8 bytes), CRC-32C of the JSON (u32), JSON length (u32), UTF-8 JSON.</summary>
internal static class ManifestFile
{
    public const string FileName = "MANIFEST";
    public const ulong Magic = 0x31_4E_41_4D_56_49_55_51; // "QUIVMAN1"

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static ManifestData? Read(IFileSystem fs, string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!fs.FileExists(path))
        {
            return null;
        }

        byte[] data;
        using (var s = fs.OpenRead(path))
        {
            data = new byte[s.Length];
            s.ReadExactly(data);
        }

        if (data.Length < 16 || BinaryPrimitives.ReadUInt64LittleEndian(data) != Magic)
        {
            Throw.Corrupt(path, "not a Quiver manifest (bad magic or truncated)");
        }

        var crc = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(8));
        var length = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(12));
        if (length < 0 || length != data.Length - 16)
        {
            Throw.Corrupt(path, $"manifest length field {length} does not match the file ({data.Length - 16} bytes of JSON)");
        }

        var body = data.AsSpan(16);
        if (Crc32C.Compute(body) != crc)
        {
            Throw.Corrupt(path, "manifest checksum mismatch");
        }

        try
        {
            return JsonSerializer.Deserialize<ManifestData>(body, Json) ?? throw new JsonException("null manifest");
        }
        catch (JsonException ex)
        {
            throw new CorruptionException(path, $"manifest JSON is invalid: {ex.Message}", ex);
        }
    }

    public static void Write(IFileSystem fs, string folder, ManifestData manifest)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(manifest, Json);
        var data = new byte[16 + body.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(data, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(8), Crc32C.Compute(body));
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(12), body.Length);
        body.CopyTo(data.AsSpan(16));
        AtomicFile.WriteAllBytes(fs, Path.Combine(folder, FileName), data);
    }
}
