using Quiver.Catalog;
using Quiver.Shards;

namespace Quiver;

public sealed partial class QuiverEngine
{
    /// <summary>Name of the database used when a call names none.</summary>
    public const string DefaultDatabase = CatalogNames.DefaultDatabase;

    /// <summary>Name of every collection's default partition.</summary>
    public const string DefaultPartition = CatalogNames.DefaultPartition;

    /// <summary>Creates a database. AlreadyExists if it exists.</summary>
    public async Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        SchemaValidator.ValidateName(name, "database");
        await WithCatalogAsync(async () =>
        {
            if (_databases.Any(d => d.Name == name))
            {
                Throw.Exists($"database '{name}' already exists");
            }

            if (_databases.Count >= CatalogNames.MaxDatabases)
            {
                Throw.Capacity($"there are already {CatalogNames.MaxDatabases} databases");
            }

            await PersistManifestAsync(
                new CatalogChange { Databases = [.. _databases, new DatabaseMeta { Id = AllocateId(), Name = name, CreatedTimestamp = _host.Clock.Next() }] },
                cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drops an empty database. The default database cannot be dropped.</summary>
    public async Task DropDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        await WithCatalogAsync(async () =>
        {
            if (name == CatalogNames.DefaultDatabase)
            {
                Throw.Invalid("the default database cannot be dropped");
            }

            RequireDatabase(name);
            if (ShardsOf(name).Any())
            {
                Throw.Invalid($"database '{name}' still has collections; drop them first");
            }

            await PersistManifestAsync(new CatalogChange { Databases = [.. _databases.Where(d => d.Name != name)] }, cancellationToken)
                .ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Names of all databases.</summary>
    public Task<IReadOnlyList<string>> ListDatabasesAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<IReadOnlyList<string>>([.. _databases.Select(d => d.Name)]);
    }

    /// <summary>Creates a collection with a validated schema and a default partition. AlreadyExists if the name is taken.</summary>
    public async Task CreateCollectionAsync(string name, CollectionSchema schema, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        SchemaValidator.ValidateName(name, "collection");
        schema = Sparse.Bm25Function.Normalize(schema);
        schema.Validate();
        TextEmbeddingFunctions.CheckProviders(Options, schema);
        database ??= CatalogNames.DefaultDatabase;
        await WithCatalogAsync(async () =>
        {
            RequireDatabase(database);
            if (FindShard(database, name) is not null)
            {
                Throw.Exists($"collection '{name}' already exists in database '{database}'");
            }

            RefuseAliasName(database, name);
            if (Shards.PartitionKeys.KeyField(schema) is not null && schema.NumPartitions == 0)
            {
                schema = schema with { NumPartitions = Shards.PartitionKeys.DefaultPartitions };
            }

            var properties = DatabaseTimezone(database);
            schema = Timestamptz.FixDefaults(schema, Timestamptz.Resolve(null, properties));
            var ts = _host.Clock.Next();
            var meta = new CollectionMeta
            {
                Id = AllocateId(),
                Database = database,
                Name = name,
                Schema = schema,
                CreatedTimestamp = ts,
                Partitions = Shards.PartitionKeys.InitialPartitions(schema, AllocateId),
                NextAutoId = ts,
                Properties = properties,
            };
            var shard = await Shard.CreateAsync(_host, meta, cancellationToken).ConfigureAwait(false);
            try
            {
                await PersistManifestAsync(
                    new CatalogChange
                    {
                        Add = meta,
                        Commit = () =>
                        {
                            lock (_shards)
                            {
                                _shards[meta.Id] = shard;
                                _shardList = [.. _shards.Values];
                            }
                        },
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await shard.DisposeAsync().ConfigureAwait(false);
                _host.FileSystem.DeleteDirectory(shard.Folder);
                throw;
            }

            shard.StartMaintenance();
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A new collection's first properties: its <c>timezone</c>, recorded on every collection as Milvus 2.6's
    /// root coordinator records it when it creates one (<c>createCollectionTask.Prepare</c>): the database's zone, copied
    /// (a later change of the database's zone leaves existing collections as they are), else <c>UTC</c>. A zone the
    /// request sets itself replaces it afterwards (the server alters the new collection's properties).</summary>
    private Dictionary<string, string> DatabaseTimezone(string database) =>
        new(StringComparer.Ordinal)
        {
            [Timestamptz.TimezoneProperty] = _databases.First(d => d.Name == database).Properties.TryGetValue(Timestamptz.TimezoneProperty, out var zone)
                ? zone
                : Timestamptz.DefaultZoneName,
        };

    /// <summary>Drops a collection and deletes its files. NotFound if it does not exist.</summary>
    public async Task DropCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default)
    {
        await WithCatalogAsync(async () =>
        {
            var shard = RequireByName(database, name, "drop");
            if (AliasesOf(shard) is { Count: > 0 } aliases)
            {
                Throw.Invalid($"collection '{name}' has aliases ({string.Join(", ", aliases)}); drop them before the collection");
            }

            await PersistManifestAsync(
                new CatalogChange
                {
                    Remove = shard.CollectionId,
                    Commit = () =>
                    {
                        lock (_shards)
                        {
                            _shards.Remove(shard.CollectionId);
                            _shardList = [.. _shards.Values];
                        }
                    },
                },
                cancellationToken).ConfigureAwait(false);
            await shard.DisposeAsync().ConfigureAwait(false);
            _host.FileSystem.DeleteDirectory(shard.Folder);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True if the collection exists.</summary>
    public Task<bool> HasCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Resolve(database ?? CatalogNames.DefaultDatabase, name) is not null);
    }

    /// <summary>Names of the collections in a database, in creation order.</summary>
    public Task<IReadOnlyList<string>> ListCollectionsAsync(string? database = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        database ??= CatalogNames.DefaultDatabase;
        RequireDatabase(database);
        return Task.FromResult<IReadOnlyList<string>>([.. ShardsOf(database).OrderBy(s => s.CollectionId).Select(s => s.Meta.Name)]);
    }

    /// <summary>Schema, partitions, row count and segment counts of a collection.</summary>
    public Task<CollectionInfo> DescribeCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var shard = Require(database, name);
        var meta = shard.Meta;
        var (rows, sealedCount, growing) = shard.Statistics();
        return Task.FromResult(new CollectionInfo
        {
            Name = meta.Name,
            Database = meta.Database,
            Id = meta.Id,
            Schema = meta.Schema,
            Partitions = [.. meta.Partitions.Select(p => p.Name)],
            CreatedTimestamp = meta.CreatedTimestamp,
            RowCount = rows,
            SealedSegments = sealedCount,
            GrowingSegments = growing,
            Properties = meta.Properties,
            Aliases = AliasesOf(shard),
        });
    }

    /// <summary>Renames a collection, optionally moving it to another database.</summary>
    public async Task RenameCollectionAsync(string name, string newName, string? database = null, string? newDatabase = null, CancellationToken cancellationToken = default)
    {
        SchemaValidator.ValidateName(newName, "collection");
        await WithCatalogAsync(async () =>
        {
            var shard = RequireByName(database, name, "rename");
            newDatabase ??= shard.Meta.Database;
            RequireDatabase(newDatabase);
            if (FindShard(newDatabase, newName) is not null)
            {
                Throw.Exists($"collection '{newName}' already exists in database '{newDatabase}'");
            }

            RefuseAliasName(newDatabase, newName);
            if (newDatabase != shard.Meta.Database && AliasesOf(shard) is { Count: > 0 } aliases)
            {
                Throw.Invalid($"collection '{name}' has aliases ({string.Join(", ", aliases)}); drop them before moving it to database '{newDatabase}'");
            }

            await shard.RenameAsync(newDatabase, newName, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates a partition in a collection.</summary>
    public async Task CreatePartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default)
    {
        SchemaValidator.ValidateName(partition, "partition");
        await Require(database, collection).CreatePartitionAsync(partition, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drops a partition and its rows. The default partition cannot be dropped.</summary>
    public Task DropPartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default) =>
        Require(database, collection).DropPartitionAsync(partition, cancellationToken);

    /// <summary>Partition names of a collection.</summary>
    public Task<IReadOnlyList<string>> ListPartitionsAsync(string collection, string? database = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<IReadOnlyList<string>>([.. Require(database, collection).Meta.Partitions.Select(p => p.Name)]);
    }

    /// <summary>True if the partition exists.</summary>
    public Task<bool> HasPartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Require(database, collection).Meta.Partitions.Any(p => p.Name == partition));
    }

    private async Task WithCatalogAsync(Func<Task> action, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        await _catalogGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            await action().ConfigureAwait(false);
        }
        finally
        {
            _catalogGate.Release();
        }
    }

    private void RequireDatabase(string name)
    {
        if (!_databases.Any(d => d.Name == name))
        {
            Throw.NotFound($"database '{name}' does not exist");
        }
    }

    private IEnumerable<Shard> ShardsOf(string database)
    {
        lock (_shards)
        {
            return [.. _shards.Values.Where(s => s.Meta.Database == database)];
        }
    }

    /// <summary>The shard of collection <paramref name="name"/> in <paramref name="database"/>, or null: a scan of the
    /// published list, without the catalog's lock and without allocating (every search and write starts here).</summary>
    private Shard? FindShard(string database, string name)
    {
        foreach (var s in _shardList)
        {
            var meta = s.Meta;
            if (meta.Name == name && meta.Database == database)
            {
                return s;
            }
        }

        return null;
    }

    /// <summary>The shard of a collection, for tools in this repository (benchmarks, tests) that look below the API.</summary>
    internal Shard ShardOf(string name, string? database = null) => Require(database, name);

    /// <summary>The shard of a collection named by its name or an alias, or null.</summary>
    private Shard? Resolve(string database, string name)
    {
        if (FindShard(database, name) is { } shard)
        {
            return shard;
        }

        var db = _databases.FirstOrDefault(d => d.Name == database);
        if (db is null || !db.Aliases.TryGetValue(name, out var id))
        {
            return null;
        }

        lock (_shards)
        {
            return _shards.GetValueOrDefault(id);
        }
    }

    /// <summary>Like <see cref="Require"/>, for calls that take the collection's own name only (Milvus refuses to drop or
    /// rename a collection through an alias).</summary>
    private Shard RequireByName(string? database, string name, string action)
    {
        var shard = Require(database, name);
        if (shard.Meta.Name != name)
        {
            Throw.Invalid($"cannot {action} collection '{shard.Meta.Name}' through its alias '{name}'; use the collection name");
        }

        return shard;
    }

    private Shard Require(string? database, string name)
    {
        ThrowIfDisposed();
        database ??= CatalogNames.DefaultDatabase;
        var shard = Resolve(database, name);
        if (shard is null)
        {
            RequireDatabase(database);
            Throw.NotFound($"collection '{name}' does not exist in database '{database}'");
        }

        return shard;
    }
}
