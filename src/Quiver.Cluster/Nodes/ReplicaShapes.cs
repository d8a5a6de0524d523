using System.Text.Json;
using Quiver.Catalog;

namespace Quiver.Cluster.Nodes;

/// <summary>What a replica compares to decide whether a change of its shard's manifest or load state needs a new engine
/// (<see cref="ReplicaHost.RefreshAsync"/>). A replica applies every record of the shard's log itself, so its engine
/// already holds every row the shard holds; what the shard's manifest adds beyond that is where those rows lie (sealed
/// segments, their delete and index files, the checkpoint, the next ids), which the replica's engine keeps on its own.
/// The rest of the manifest says what the collection is, which the replica's engine reads only when it opens.</summary>
internal static class ReplicaShapes
{
    /// <summary>The manifest without where its rows lie: databases (properties, aliases) and collections (name, schema,
    /// partitions, properties, indexes), as canonical JSON; the same text for two manifests that differ only by seals,
    /// merges, checkpoints, delete files and id counters.</summary>
    public static string Manifest(ManifestData? manifest) =>
        manifest is null ? "" : JsonSerializer.Serialize(manifest with
        {
            NextId = 0,
            LastTimestamp = 0,
            Collections = [.. manifest.Collections.Select(c => c with { Segments = [], CheckpointLsn = 0, NextAutoId = 0 })],
        }, ManifestFile.Json);

    /// <summary><see cref="Manifest(ManifestData?)"/> of a manifest's JSON as the shard's KV key holds it; text that is not
    /// a manifest is its own shape (so any change of it opens a new engine, whose open reports the damage).</summary>
    public static string Manifest(byte[]? json) =>
        json is not { Length: > 0 } ? "" : Parse(json) is { } manifest ? Manifest(manifest) : "invalid:" + Convert.ToBase64String(json);

    /// <summary>A manifest's JSON as the shard's KV key holds it, read; null when empty or not a manifest.</summary>
    public static ManifestData? Parse(byte[]? json)
    {
        if (json is not { Length: > 0 })
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ManifestData>(json, ManifestFile.Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Which partitions of which collections a saved load state (Quiver.Server's load-state file: collection id to
    /// its loaded partition names, null for all) loads, in a canonical order: the same text for the same loads however
    /// the file orders them.</summary>
    public static string LoadState(byte[]? json)
    {
        if (json is not { Length: > 0 })
        {
            return "";
        }

        try
        {
            var state = JsonSerializer.Deserialize<Dictionary<long, string[]?>>(json) ?? [];
            return string.Join(';', state.OrderBy(e => e.Key).Select(e =>
                $"{e.Key.ToString(System.Globalization.CultureInfo.InvariantCulture)}:{(e.Value is null ? "*" : string.Join(',', e.Value.Order(StringComparer.Ordinal)))}"));
        }
        catch (JsonException)
        {
            return "invalid:" + Convert.ToBase64String(json);
        }
    }
}
