using System.Globalization;
using Quiver.Catalog;
using Quiver.Client;
using Quiver.Toolbox.Formats;

namespace Quiver.Toolbox.Backup;

/// <summary>What <see cref="QuiverToolbox.RestoreAsync"/> restores, and where (<c>quiver restore</c>).</summary>
/// <param name="Target">The folder (created if absent) or server to restore into.</param>
/// <param name="Path">The backup folder or archive.</param>
/// <param name="Collections">The collections to restore (by their name in the backup); null or empty: all.</param>
/// <param name="Renames">Backup name to new name, for collections restored under another name.</param>
/// <param name="VerifyOnly">Only verify the backup; create nothing.</param>
/// <param name="BatchSize">Rows per insert call (default 1,000).</param>
public sealed record RestoreOptions(
    TargetSpec Target, string Path, IReadOnlyList<string>? Collections = null, IReadOnlyDictionary<string, string>? Renames = null,
    bool VerifyOnly = false, int BatchSize = 1000);

/// <summary>What a restore did (a damaged backup is <see cref="BackupDamagedException"/> instead).</summary>
/// <param name="Path">The backup.</param>
/// <param name="FilesVerified">Data files whose size and checksum were checked.</param>
/// <param name="BytesVerified">Their bytes.</param>
/// <param name="Collections">The collections restored (empty with <see cref="RestoreOptions.VerifyOnly"/>).</param>
/// <param name="Seconds">Time taken.</param>
public sealed record RestoreResult(
    string Path, int FilesVerified, long BytesVerified, IReadOnlyList<RestoredCollection> Collections, double Seconds);

/// <summary>One restored collection.</summary>
/// <param name="Source">Its name in the backup.</param>
/// <param name="Name">Its name now.</param>
/// <param name="Rows">Rows inserted.</param>
/// <param name="Partitions">Partitions.</param>
/// <param name="Indexes">Indexes created and built.</param>
/// <param name="Aliases">Aliases created.</param>
/// <param name="Notes">What could not be restored as it was (an alias taken by another collection).</param>
public sealed record RestoredCollection(
    string Source, string Name, long Rows, int Partitions, int Indexes, IReadOnlyList<string> Aliases, IReadOnlyList<string> Notes);

/// <summary>
/// <c>quiver restore</c>: verifies a backup (manifest checksum, every file's size and SHA-256) before creating anything
/// and refuses a damaged one; refuses collections that exist already (unless renamed); then per collection creates it
/// (schema, properties, partitions), inserts the rows in batches, flushes, creates the indexes and waits for them, and
/// points its aliases at it where the alias is free. A failure part-way drops the collections this run created.
/// </summary>
internal static class RestoreTool
{
    /// <summary>Runs a restore (or, with <see cref="RestoreOptions.VerifyOnly"/>, a verification).</summary>
    public static async Task<RestoreResult> RunAsync(RestoreOptions options, ToolReporter io, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(io);
        var targetSpec = TargetSpec.Required(options.Target, "RestoreOptions.Target");
        if (string.IsNullOrEmpty(options.Path))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "RestoreOptions.Path: give a backup folder or archive");
        }

        if (options.BatchSize < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"RestoreOptions.BatchSize {options.BatchSize}: must be at least 1");
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var source = await BackupSource.OpenAsync(options.Path, cancellationToken).ConfigureAwait(false);
        var (manifest, problems, files, bytes) = await source.VerifyAsync(cancellationToken).ConfigureAwait(false);
        if (manifest is null)
        {
            throw new BackupDamagedException(options.Path, problems, files, bytes);
        }

        var chosen = Choose(manifest, options);
        if (options.VerifyOnly)
        {
            return new RestoreResult(options.Path, files, bytes, [], clock.Elapsed.TotalSeconds);
        }

        await using var target = await targetSpec.OpenAsync(createFolder: true, cancellationToken).ConfigureAwait(false);
        var taken = new List<string>();
        foreach (var (collection, name) in chosen)
        {
            if (await target.Client.HasCollectionAsync(name, target.Database, cancellationToken).ConfigureAwait(false))
            {
                taken.Add(name);
            }
        }

        if (taken.Count > 0)
        {
            throw new ToolboxException(ToolboxErrorKind.Conflict, $"{target.Description}: collection {string.Join(", ", taken.Select(t => $"'{t}'"))} exists already in database '{target.Database}'; drop it, or restore it under another name (RestoreOptions.Renames {taken[0]}=NEW_NAME)");
        }

        if (!(await target.Client.ListDatabasesAsync(cancellationToken).ConfigureAwait(false)).Contains(target.Database))
        {
            await target.Client.CreateDatabaseAsync(target.Database, cancellationToken).ConfigureAwait(false);
        }

        var extras = new CatalogExtras(target);
        var created = new List<string>();
        try
        {
            var restored = await io.WithProgressAsync("restore", chosen.Sum(c => c.Collection.Rows), "rows", async progress =>
            {
                var done = new List<RestoredCollection>();
                foreach (var (collection, name) in chosen)
                {
                    done.Add(await RestoreCollectionAsync(target, extras, source.Folder, collection, name, created, options.BatchSize, progress, cancellationToken)
                        .ConfigureAwait(false));
                }

                return done;
            }).ConfigureAwait(false);
            return new RestoreResult(options.Path, files, bytes, restored, clock.Elapsed.TotalSeconds);
        }
        catch
        {
            foreach (var name in created)
            {
                try
                {
                    await target.Client.DropCollectionAsync(name, target.Database, CancellationToken.None).ConfigureAwait(false);
                }
                catch (QuiverException)
                {
                    // Best effort: the failure being reported matters more.
                }
            }

            throw;
        }
    }

    /// <summary>The collections to restore with their new names; errors name unknown collections and bad renames.</summary>
    private static List<(BackupCollection Collection, string Name)> Choose(BackupManifest manifest, RestoreOptions options)
    {
        var byName = manifest.Collections.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var wanted = options.Collections is { Count: > 0 } names ? names.Distinct(StringComparer.Ordinal).ToList() : [.. byName.Keys];
        var unknown = wanted.Where(w => !byName.ContainsKey(w)).ToList();
        if (unknown.Count > 0)
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"the backup has no collection {string.Join(", ", unknown.Select(u => $"'{u}'"))}; it has {string.Join(", ", byName.Keys)}");
        }

        var renames = options.Renames ?? new Dictionary<string, string>();
        foreach (var old in renames.Keys.Where(k => !wanted.Contains(k)))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"RestoreOptions.Renames {old}={renames[old]}: '{old}' is not among the collections being restored");
        }

        var chosen = wanted.Select(w => (byName[w], renames.GetValueOrDefault(w) ?? w)).ToList();
        var twice = chosen.GroupBy(c => c.Item2, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        return twice is null ? chosen : throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"RestoreOptions.Renames: two collections would be restored as '{twice.Key}'");
    }

    private static async Task<RestoredCollection> RestoreCollectionAsync(
        OpsTarget target, CatalogExtras extras, string folder, BackupCollection collection, string name, List<string> created, int batchSize,
        ProgressHandle progress, CancellationToken cancellationToken)
    {
        var client = target.Client;
        var db = target.Database;
        var schema = collection.ReadSchema();
        await client.CreateCollectionAsync(name, schema, db, cancellationToken).ConfigureAwait(false);
        created.Add(name);
        await extras.SetPropertiesAsync(name, collection.Properties, cancellationToken).ConfigureAwait(false);
        foreach (var partition in collection.Partitions.Where(p => p.Name != CatalogNames.DefaultPartition))
        {
            await client.CreatePartitionAsync(name, partition.Name, db, cancellationToken).ConfigureAwait(false);
        }

        // Rows are upserted: into an auto_id collection that is what keeps their keys (an insert generates new ones),
        // and a backup taken while an upsert moved a row between partitions may hold that key twice (once per
        // partition), which must not make the backup unrestorable. The partition restored last keeps the key.
        const bool upsert = true;
        long rows = 0;
        foreach (var partition in collection.Partitions)
        {
            foreach (var file in partition.Files)
            {
                var inserted = await RestoreFileAsync(client, Path.Combine(folder, file.Path), file, schema, name, partition.Name, db, upsert, batchSize, progress, cancellationToken)
                    .ConfigureAwait(false);
                if (inserted != file.Rows)
                {
                    throw new ToolboxException(string.Create(CultureInfo.InvariantCulture,
                        $"{file.Path}: {inserted} rows restored, the manifest says {file.Rows}"));
                }

                rows += inserted;
            }
        }

        await client.FlushAsync(name, db, cancellationToken).ConfigureAwait(false);
        foreach (var index in collection.Indexes)
        {
            await client.CreateIndexAsync(
                name,
                new IndexDefinition { FieldName = index.FieldName, IndexType = index.IndexType, IndexName = index.IndexName, Metric = index.Metric, Params = index.Params },
                db,
                cancellationToken).ConfigureAwait(false);
        }

        if (collection.Indexes.Count > 0)
        {
            await client.WaitForIndexAsync(name, db, cancellationToken).ConfigureAwait(false);
        }

        var aliases = new List<string>();
        var notes = new List<string>();
        foreach (var alias in collection.Aliases ?? [])
        {
            if (await extras.TryCreateAliasAsync(name, alias, cancellationToken).ConfigureAwait(false))
            {
                aliases.Add(alias);
            }
            else
            {
                notes.Add($"alias '{alias}' was not created: the name is taken in database '{db}'");
            }
        }

        if (!target.IsEmbedded && collection.Loaded != false)
        {
            await client.LoadCollectionAsync(name, db, cancellationToken).ConfigureAwait(false);
        }

        return new RestoredCollection(collection.Name, name, rows, collection.Partitions.Count, collection.Indexes.Count, aliases, notes);
    }

    private static async Task<long> RestoreFileAsync(
        IQuiverClient client, string path, BackupFile file, CollectionSchema schema, string name, string partition, string db, bool upsert, int batchSize,
        ProgressHandle progress, CancellationToken cancellationToken)
    {
        long inserted = 0;
        var batch = new List<IReadOnlyDictionary<string, object?>>(batchSize);
        await using var reader = ParquetFormat.OpenReader(path, schema, new FormatOptions(), keepAutoIdKeys: true);
        await foreach (var row in reader.ReadAsync(0, cancellationToken).ConfigureAwait(false))
        {
            batch.Add(row.Values ?? throw new ToolboxException(string.Create(CultureInfo.InvariantCulture, $"{file.Path}: row {row.Number}: {row.Error}")));
            if (batch.Count == batchSize)
            {
                inserted += await WriteAsync().ConfigureAwait(false);
            }
        }

        if (batch.Count > 0)
        {
            inserted += await WriteAsync().ConfigureAwait(false);
        }

        return inserted;

        async Task<long> WriteAsync()
        {
            var result = upsert
                ? await client.UpsertAsync(name, batch, partition, db, cancellationToken).ConfigureAwait(false)
                : await client.InsertAsync(name, batch, partition, db, cancellationToken).ConfigureAwait(false);
            progress.Advance(batch.Count);
            batch = new List<IReadOnlyDictionary<string, object?>>(batchSize);
            return result.Count;
        }
    }
}
