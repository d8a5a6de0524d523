using Quiver.Catalog;
using Quiver.Shards;

namespace Quiver;

public sealed partial class QuiverEngine
{
    /// <summary>Creates an alias of a collection in its database. Every call that takes a collection name accepts the
    /// alias instead, except drop and rename (as in Milvus). InvalidArgument when the alias is a collection's name;
    /// AlreadyExists when the alias exists (on any collection).</summary>
    public async Task CreateAliasAsync(string collection, string alias, string? database = null, CancellationToken cancellationToken = default)
    {
        SchemaValidator.ValidateName(alias, "alias");
        database ??= CatalogNames.DefaultDatabase;
        await WithCatalogAsync(async () =>
        {
            var shard = RequireByName(database, collection, "alias");
            var db = RequireAliasTarget(database, alias);
            if (db.Aliases.TryGetValue(alias, out var id))
            {
                Throw.Exists($"alias '{alias}' already exists in database '{database}' (on collection '{CollectionNameOf(id)}')");
            }

            await SetAliasesAsync(db, new Dictionary<string, long>(db.Aliases) { [alias] = shard.CollectionId }, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Points an existing alias at another collection of the same database. NotFound when the alias does not exist.</summary>
    public async Task AlterAliasAsync(string collection, string alias, string? database = null, CancellationToken cancellationToken = default)
    {
        database ??= CatalogNames.DefaultDatabase;
        await WithCatalogAsync(async () =>
        {
            var shard = RequireByName(database, collection, "alias");
            var db = RequireAliasTarget(database, alias);
            if (!db.Aliases.ContainsKey(alias))
            {
                Throw.NotFound($"alias '{alias}' does not exist in database '{database}'");
            }

            await SetAliasesAsync(db, new Dictionary<string, long>(db.Aliases) { [alias] = shard.CollectionId }, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drops an alias; the collection stays. NotFound when the alias does not exist.</summary>
    public async Task DropAliasAsync(string alias, string? database = null, CancellationToken cancellationToken = default)
    {
        database ??= CatalogNames.DefaultDatabase;
        await WithCatalogAsync(async () =>
        {
            RequireDatabase(database);
            var db = _databases.First(d => d.Name == database);
            if (!db.Aliases.ContainsKey(alias))
            {
                Throw.NotFound($"alias '{alias}' does not exist in database '{database}'");
            }

            var aliases = new Dictionary<string, long>(db.Aliases);
            aliases.Remove(alias);
            await SetAliasesAsync(db, aliases, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The collection an alias names. NotFound when the alias does not exist.</summary>
    public Task<string> DescribeAliasAsync(string alias, string? database = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        database ??= CatalogNames.DefaultDatabase;
        RequireDatabase(database);
        if (!_databases.First(d => d.Name == database).Aliases.TryGetValue(alias, out var id))
        {
            Throw.NotFound($"alias '{alias}' does not exist in database '{database}'");
        }

        return Task.FromResult(CollectionNameOf(id));
    }

    /// <summary>Aliases of a database, sorted; of one collection (named by its name or an alias) when
    /// <paramref name="collection"/> is given.</summary>
    public Task<IReadOnlyList<string>> ListAliasesAsync(string? collection = null, string? database = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        database ??= CatalogNames.DefaultDatabase;
        if (!string.IsNullOrEmpty(collection))
        {
            return Task.FromResult(AliasesOf(Require(database, collection)));
        }

        RequireDatabase(database);
        return Task.FromResult<IReadOnlyList<string>>([.. _databases.First(d => d.Name == database).Aliases.Keys.Order(StringComparer.Ordinal)]);
    }

    /// <summary>The collection <paramref name="nameOrAlias"/> names in <paramref name="database"/> (default: default),
    /// or null when it names none (or the database does not exist). Synchronous and cheap, for servers that keep state
    /// per collection.</summary>
    public CollectionRef? ResolveCollection(string nameOrAlias, string? database = null)
    {
        ThrowIfDisposed();
        return Resolve(database ?? CatalogNames.DefaultDatabase, nameOrAlias) is { } shard
            ? new CollectionRef(shard.Meta.Database, shard.Meta.Name, shard.CollectionId)
            : null;
    }

    /// <summary>Sets and removes collection properties; stored durably and returned by <see cref="DescribeCollectionAsync"/>.
    /// Quiver acts on <c>collection.ttl.seconds</c> (an integer in [-1, 3155760000], else InvalidArgument; positive: rows
    /// whose insert time plus that many seconds is past are invisible to every read at once and dropped by compaction;
    /// -1 or 0: no TTL), <c>search.default_params.FIELD</c> and <c>timezone</c> (an IANA zone, else InvalidArgument:
    /// TIMESTAMPTZ text without an offset is read in it, on insert and in filters, and values are written in it), and
    /// keeps the others as given.</summary>
    public Task AlterCollectionPropertiesAsync(
        string collection, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string>? remove = null, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        return Require(database, collection).AlterPropertiesAsync(set, remove ?? [], cancellationToken);
    }

    /// <summary>Checks collection properties Quiver acts on (<c>collection.ttl.seconds</c>) before a collection is created
    /// with them; throws <see cref="QuiverException"/> (InvalidArgument) naming the problem.</summary>
    public static void CheckCollectionProperties(IReadOnlyDictionary<string, string> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        Search.RowExpiry.Validate(properties);
        Search.PartitionKeyIsolation.Validate(properties, null);
        Timestamptz.ValidateProperty(properties);
    }

    /// <summary>As <see cref="CheckCollectionProperties(IReadOnlyDictionary{string, string})"/>, also checking the
    /// properties against the schema the collection is created with (<c>partitionkey.isolation</c> needs a partition-key
    /// field).</summary>
    public static void CheckCollectionProperties(IReadOnlyDictionary<string, string> properties, CollectionSchema schema)
    {
        ArgumentNullException.ThrowIfNull(properties);
        ArgumentNullException.ThrowIfNull(schema);
        Search.RowExpiry.Validate(properties);
        Search.PartitionKeyIsolation.Validate(properties, schema);
        Timestamptz.ValidateProperty(properties);
    }

    /// <summary>A database's id, creation timestamp and properties. NotFound when it does not exist.</summary>
    public Task<DatabaseInfo> DescribeDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        RequireDatabase(name);
        var db = _databases.First(d => d.Name == name);
        return Task.FromResult(new DatabaseInfo { Name = db.Name, Id = db.Id, CreatedTimestamp = db.CreatedTimestamp, Properties = db.Properties });
    }

    /// <summary>Sets and removes database properties, stored durably as given. A <c>timezone</c> must name an IANA zone
    /// (else InvalidArgument); collections created in the database afterwards without their own take it.</summary>
    public async Task AlterDatabasePropertiesAsync(
        string name, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string>? remove = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        Timestamptz.ValidateProperty(set);
        await WithCatalogAsync(async () =>
        {
            RequireDatabase(name);
            var db = _databases.First(d => d.Name == name);
            var properties = new Dictionary<string, string>(db.Properties, StringComparer.Ordinal);
            foreach (var key in remove ?? [])
            {
                properties.Remove(key);
            }

            foreach (var (key, value) in set)
            {
                properties[key] = value;
            }

            await PersistManifestAsync(
                new CatalogChange { Databases = [.. _databases.Select(d => d.Name == name ? d with { Properties = properties } : d)] },
                cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private DatabaseMeta RequireAliasTarget(string database, string alias)
    {
        RefuseCollectionName(database, alias);
        return _databases.First(d => d.Name == database);
    }

    private void RefuseCollectionName(string database, string alias)
    {
        if (FindShard(database, alias) is not null)
        {
            Throw.Invalid($"alias '{alias}' is the name of a collection in database '{database}'; an alias cannot equal a collection name");
        }
    }

    private void RefuseAliasName(string database, string name)
    {
        if (_databases.FirstOrDefault(d => d.Name == database) is { } db && db.Aliases.TryGetValue(name, out var id))
        {
            Throw.Invalid($"collection name '{name}' is an alias of collection '{CollectionNameOf(id)}' in database '{database}'");
        }
    }

    private IReadOnlyList<string> AliasesOf(Shard shard) =>
        [.. _databases.Where(d => d.Name == shard.Meta.Database).SelectMany(d => d.Aliases).Where(a => a.Value == shard.CollectionId)
            .Select(a => a.Key).Order(StringComparer.Ordinal)];

    private string CollectionNameOf(long id)
    {
        lock (_shards)
        {
            return _shards.TryGetValue(id, out var shard) ? shard.Meta.Name : $"#{id}";
        }
    }

    private Task SetAliasesAsync(DatabaseMeta db, Dictionary<string, long> aliases, CancellationToken cancellationToken) =>
        PersistManifestAsync(
            new CatalogChange { Databases = [.. _databases.Select(d => d.Name == db.Name ? d with { Aliases = aliases } : d)] },
            cancellationToken);
}

/// <summary>A database as described by <see cref="QuiverEngine.DescribeDatabaseAsync"/>.</summary>
public sealed record DatabaseInfo
{
    /// <summary>Database name.</summary>
    public required string Name { get; init; }

    /// <summary>Stable numeric id.</summary>
    public required long Id { get; init; }

    /// <summary>Creation timestamp (hybrid clock; 0 for the default database).</summary>
    public required long CreatedTimestamp { get; init; }

    /// <summary>Properties as set by <see cref="QuiverEngine.AlterDatabasePropertiesAsync"/>.</summary>
    public required IReadOnlyDictionary<string, string> Properties { get; init; }
}

/// <summary>A collection as a name or alias resolves: its database, own name and id.</summary>
/// <param name="Database">The collection's database.</param>
/// <param name="Name">The collection's own name (never an alias).</param>
/// <param name="Id">Its stable id, never reused.</param>
public sealed record CollectionRef(string Database, string Name, long Id);
