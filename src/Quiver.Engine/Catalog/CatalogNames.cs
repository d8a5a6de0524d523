namespace Quiver.Catalog;

/// <summary>Reserved names and catalog limits, as Milvus has them.</summary>
internal static class CatalogNames
{
    public const string DefaultDatabase = "default";
    public const string DefaultPartition = "_default";
    public const int MaxPartitions = 1024;
    public const int MaxDatabases = 64;
}
