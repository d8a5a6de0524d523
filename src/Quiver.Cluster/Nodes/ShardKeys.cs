namespace Quiver.Cluster.Nodes;

/// <summary>Names derived from a shard's grain key.</summary>
internal static class ShardKeys
{
    /// <summary>The collection part of a database's catalog shard: Milvus names start with a letter or '_', so no
    /// collection is called this.</summary>
    public const string CatalogShard = "0";

    /// <summary>The grain key of <paramref name="collection"/>'s shard in <paramref name="database"/>.</summary>
    public static string Of(string database, string collection) => $"{database}/{collection}";

    /// <summary>The JetStream storage name (streams, buckets) of the shard with grain key <paramref name="key"/>: the cluster
    /// name, the database and the collection joined by '-', which Milvus names never contain.</summary>
    public static string Storage(string cluster, string key) => $"{cluster}-{key.Replace('/', '-')}";

    /// <summary>True when <paramref name="name"/> can name a shard's storage: Milvus's own rule for database and
    /// collection names (a letter or '_' first, then letters, digits and '_', at most 255).</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 255 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
