namespace Quiver.Cluster.Nodes;

/// <summary>Names derived from a shard's grain key.</summary>
internal static class ShardKeys
{
    /// <summary>The collection part of a database's catalog shard: Milvus names start with a letter or '_', so no
    /// collection is called this.</summary>
    public const string CatalogShard = "0";

    /// <summary>The collection a node's call is routing, with the storage id the catalog answered for it in the same
    /// read that gave its shard count (<see cref="RouteById"/>).</summary>
    private static readonly AsyncLocal<(string Database, string Name, string Id)?> Routed = new();

    /// <summary>From here to the end of the calling async method (an <see cref="AsyncLocal{T}"/> set in an async method
    /// is undone when it returns), every key built for <paramref name="name"/> in <paramref name="database"/> names its
    /// storage id <paramref name="id"/> instead: grain keys, and so streams, buckets, replica and placement records and
    /// auto ids, which are all named from the grain key. Keys of other collections are untouched.</summary>
    public static void RouteById(string database, string name, string id) => Routed.Value = (database, name, id);

    /// <summary>The storage id <see cref="Of(string, string)"/> names <paramref name="collection"/>'s keys from: the routed
    /// id while a call routes it (<see cref="RouteById"/>), else the name.</summary>
    public static string IdOf(string database, string collection) => Of(database, collection)[(database.Length + 1)..];

    /// <summary>The grain key of <paramref name="collection"/>'s shard in <paramref name="database"/>: named from its
    /// storage id while a call routes it (<see cref="RouteById"/>), else from the name given.</summary>
    public static string Of(string database, string collection) =>
        Routed.Value is { } routed && routed.Database == database && routed.Name == collection
            ? $"{database}/{routed.Id}"
            : $"{database}/{collection}";

    /// <summary>The grain key of shard <paramref name="shard"/> of a collection with several shards: shard 0 keeps the
    /// key of a one-shard collection (<see cref="Of(string, string)"/>), shard i &gt; 0 is <c>{database}/{collection}/{i}</c>
    /// (its storage name ends in <c>-{i}</c>, which no one-shard collection's can: Milvus names hold no '-').</summary>
    public static string Of(string database, string collection, int shard) =>
        shard == 0 ? Of(database, collection) : $"{Of(database, collection)}/{shard.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The shard of <paramref name="shards"/> that holds the row with primary key <paramref name="key"/> (a
    /// <see cref="long"/> or a <see cref="string"/>). The hash is fixed forever, since rows already stored stay where it
    /// sent them: SplitMix64's finalizer of an Int64 key, FNV-1a (64-bit) of a VarChar key's UTF-8 bytes, then the
    /// remainder by the shard count.</summary>
    public static int ShardOf(object key, int shards)
    {
        ulong hash;
        if (key is string text)
        {
            hash = 14695981039346656037UL;
            foreach (var b in System.Text.Encoding.UTF8.GetBytes(text))
            {
                hash = (hash ^ b) * 1099511628211UL;
            }
        }
        else
        {
            hash = unchecked((ulong)Convert.ToInt64(key, System.Globalization.CultureInfo.InvariantCulture));
            hash = (hash ^ (hash >> 30)) * 0xBF58476D1CE4E5B9UL;
            hash = (hash ^ (hash >> 27)) * 0x94D049BB133111EBUL;
            hash ^= hash >> 31;
        }

        return (int)(hash % (ulong)shards);
    }

    /// <summary>The JetStream storage name (streams, buckets) of the shard with grain key <paramref name="key"/>: the cluster
    /// name, the database and the collection joined by '-', which Milvus names never contain.</summary>
    public static string Storage(string cluster, string key) => $"{cluster}-{key.Replace('/', '-')}";

    /// <summary>True when <paramref name="name"/> can name a shard's storage: Milvus's own rule for database and
    /// collection names (a letter or '_' first, then letters, digits and '_', at most 255).</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 255 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
