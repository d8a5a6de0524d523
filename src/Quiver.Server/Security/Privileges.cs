namespace Quiver.Server.Security;

/// <summary>What one RPC needs, read from Milvus's annotation on its request message (see <see cref="PrivilegeTable"/>).</summary>
/// <param name="ObjectType">Milvus object type: <c>Global</c>, <c>Collection</c> or <c>User</c>.</param>
/// <param name="Privilege">Milvus privilege name, e.g. <c>PrivilegeSearch</c>.</param>
/// <param name="ObjectNameField">The request field that names the object (e.g. <c>collection_name</c>), or null: the
/// object is <c>*</c>.</param>
/// <param name="ObjectNamesField">A repeated request field naming several objects (e.g. Flush's
/// <c>collection_names</c>); every one must be permitted.</param>
internal sealed record PrivilegeRequirement(string ObjectType, string Privilege, string? ObjectNameField, string? ObjectNamesField);

/// <summary>The level a privilege is granted at, as Milvus defines it: cluster privileges are checked against grants on
/// every database (<c>*</c>), database privileges against grants on the call's database, collection privileges against
/// grants on the collection.</summary>
internal enum PrivilegeLevel
{
    /// <summary>The whole instance.</summary>
    Cluster,
    /// <summary>One database.</summary>
    Database,
    /// <summary>One collection.</summary>
    Collection,
}

/// <summary>Milvus's privilege names, built-in roles and built-in privilege groups, and the name forms clients use
/// (<c>Search</c> or <c>PrivilegeSearch</c>; <c>*</c> or <c>All</c> for every privilege).</summary>
internal static class Privileges
{
    /// <summary>The user that always has every privilege.</summary>
    public const string RootUser = "root";

    /// <summary>The built-in role that has every privilege.</summary>
    public const string AdminRole = "admin";

    /// <summary>The built-in role every user has.</summary>
    public const string PublicRole = "public";

    /// <summary>Every privilege, stored form.</summary>
    public const string All = "PrivilegeAll";

    /// <summary>The wildcard for an object name or database.</summary>
    public const string Any = "*";

    private static readonly string[] CollectionReadOnly =
    [
        "Query", "Search", "IndexDetail", "GetFlushState", "GetLoadState", "GetLoadingProgress", "HasPartition",
        "ShowPartitions", "ListAliases", "DescribeCollection", "DescribeAlias", "GetStatistics",
    ];

    private static readonly string[] CollectionReadWrite =
    [
        .. CollectionReadOnly, "CreateIndex", "DropIndex", "CreatePartition", "DropPartition", "Load", "Release", "Insert",
        "Delete", "Upsert", "Import", "Flush", "Compaction", "LoadBalance",
    ];

    private static readonly string[] DatabaseReadOnly = ["ShowCollections", "DescribeDatabase"];

    private static readonly string[] ClusterReadOnly =
    [
        "ListDatabases", "SelectOwnership", "SelectUser", "DescribeResourceGroup", "ListResourceGroups", "ListPrivilegeGroups",
    ];

    private static readonly string[] ClusterReadWrite = [.. ClusterReadOnly, "FlushAll", "TransferNode", "TransferReplica", "UpdateResourceGroups"];

    /// <summary>The built-in privilege groups (API names) and their privileges (stored names).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> BuiltInGroups = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["CollectionReadOnly"] = Stored(CollectionReadOnly),
        ["CollectionReadWrite"] = Stored(CollectionReadWrite),
        ["CollectionAdmin"] = Stored([.. CollectionReadWrite, "CreateAlias", "DropAlias"]),
        ["DatabaseReadOnly"] = Stored(DatabaseReadOnly),
        ["DatabaseReadWrite"] = Stored([.. DatabaseReadOnly, "AlterDatabase"]),
        ["DatabaseAdmin"] = Stored([.. DatabaseReadOnly, "AlterDatabase", "CreateCollection", "DropCollection", "RenameCollection"]),
        ["ClusterReadOnly"] = Stored(ClusterReadOnly),
        ["ClusterReadWrite"] = Stored(ClusterReadWrite),
        ["ClusterAdmin"] = Stored(
        [
            .. ClusterReadWrite, "BackupRBAC", "RestoreRBAC", "CreateDatabase", "DropDatabase", "CreateOwnership", "DropOwnership",
            "ManageOwnership", "CreateResourceGroup", "DropResourceGroup", "UpdateUser", "CreatePrivilegeGroup",
            "DropPrivilegeGroup", "OperatePrivilegeGroup",
        ]),
    };

    private static readonly HashSet<string> DatabaseLevel = new(
        Stored(["ShowCollections", "DescribeDatabase", "AlterDatabase", "CreateCollection", "DropCollection", "RenameCollection"]),
        StringComparer.Ordinal);

    private static readonly HashSet<string> CollectionLevel = new(Stored(CollectionReadWrite), StringComparer.Ordinal)
    {
        "PrivilegeCreateAlias", "PrivilegeDropAlias", "PrivilegeAddCollectionField", "PrivilegeAlterCollectionSchema",
        "PrivilegeCreateSnapshot", "PrivilegeDropSnapshot", "PrivilegeListSnapshots", "PrivilegeDescribeSnapshot",
        "PrivilegeRestoreSnapshot", "PrivilegeRefreshExternalCollection",
    };

    /// <summary>The stored form of a privilege or group name a client sent: <c>Search</c> and <c>PrivilegeSearch</c> are
    /// <c>PrivilegeSearch</c>; <c>*</c>, <c>All</c> and <c>PrivilegeAll</c> are <see cref="All"/>; group names stay.</summary>
    public static string Normalize(string name) => name switch
    {
        "*" or "All" or All => All,
        _ when name.StartsWith("Privilege", StringComparison.Ordinal) => name,
        _ => "Privilege" + name,
    };

    /// <summary>The name a client reads back (Milvus answers API names: <c>Search</c>, <c>*</c>).</summary>
    public static string ApiName(string stored) => stored switch
    {
        All => Any,
        _ when stored.StartsWith("Privilege", StringComparison.Ordinal) => stored["Privilege".Length..],
        _ => stored,
    };

    /// <summary>The level of a stored privilege name, or of a group (by its name's prefix; custom groups are
    /// collection-level).</summary>
    public static PrivilegeLevel LevelOf(string storedOrGroup)
    {
        if (storedOrGroup.StartsWith("Cluster", StringComparison.Ordinal))
        {
            return PrivilegeLevel.Cluster;
        }
        if (storedOrGroup.StartsWith("Database", StringComparison.Ordinal) || DatabaseLevel.Contains(storedOrGroup))
        {
            return PrivilegeLevel.Database;
        }
        return CollectionLevel.Contains(storedOrGroup) || !storedOrGroup.StartsWith("Privilege", StringComparison.Ordinal)
            ? PrivilegeLevel.Collection
            : PrivilegeLevel.Cluster;
    }

    /// <summary>True when <paramref name="stored"/> is a privilege Milvus knows (a name in <see cref="PrivilegeTable"/>, a
    /// built-in group member, or <see cref="All"/>).</summary>
    public static bool IsKnown(string stored) => stored == All || KnownNames.Contains(stored);

    private static readonly HashSet<string> KnownNames = BuildKnown();

    private static HashSet<string> BuildKnown()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var requirement in PrivilegeTable.ByMethod.Values)
        {
            names.Add(requirement.Privilege);
        }
        foreach (var group in BuiltInGroups.Values)
        {
            names.UnionWith(group);
        }
        return names;
    }

    private static string[] Stored(string[] apiNames) => [.. apiNames.Select(n => "Privilege" + n)];
}
