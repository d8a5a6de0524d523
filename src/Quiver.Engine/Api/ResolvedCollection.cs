namespace Quiver;

/// <summary>A collection resolved by <see cref="QuiverEngine.GetCollection"/>: its own name (an alias resolved), its
/// database and its current schema.</summary>
public sealed record ResolvedCollection
{
    /// <summary>Collection name (never an alias).</summary>
    public required string Name { get; init; }

    /// <summary>Database name.</summary>
    public required string Database { get; init; }

    /// <summary>The schema now.</summary>
    public required CollectionSchema Schema { get; init; }

    /// <summary>The collection's <c>timezone</c> property as a zone (TIMESTAMPTZ text without an offset is read in it, and
    /// values are written in it); null for UTC.</summary>
    public TimeZoneInfo? TimeZone { get; init; }
}
