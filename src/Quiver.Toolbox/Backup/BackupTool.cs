using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using Quiver.Toolbox.Formats;

namespace Quiver.Toolbox.Backup;

/// <summary>What <see cref="QuiverToolbox.BackupAsync"/> backs up, and where (<c>quiver backup</c>).</summary>
/// <param name="Target">The folder or server to back up.</param>
/// <param name="Out">The backup folder, or archive (with <paramref name="Archive"/>, or a path ending .tar, .tar.gz or .tgz).</param>
/// <param name="Collections">The collections of the target's database to back up; null or empty: all.</param>
/// <param name="Archive">Write one tar archive instead of a folder.</param>
/// <param name="RowsPerFile">Rows per Parquet file at most (default 100,000).</param>
/// <param name="PageSize">Rows read per query page and written per Parquet row group (default 1,000).</param>
public sealed record BackupOptions(
    TargetSpec Target, string Out, IReadOnlyList<string>? Collections = null, bool Archive = false, int RowsPerFile = 100_000, int PageSize = 1000);

/// <summary>What a backup wrote.</summary>
/// <param name="Path">The backup folder or archive.</param>
/// <param name="Archive">True for a tar archive.</param>
/// <param name="CreatedUtc">When it began: the point its guarantee refers to.</param>
/// <param name="Collections">Per collection.</param>
/// <param name="Rows">Rows in all.</param>
/// <param name="Bytes">Bytes of data files (before archiving).</param>
/// <param name="Seconds">Time taken.</param>
public sealed record BackupResult(
    string Path, bool Archive, DateTimeOffset CreatedUtc, IReadOnlyList<BackupCollectionSummary> Collections, long Rows, long Bytes, double Seconds);

/// <summary>One collection of a backup.</summary>
/// <param name="Name">Collection name.</param>
/// <param name="Rows">Rows backed up.</param>
/// <param name="Partitions">Partitions.</param>
/// <param name="Files">Parquet files.</param>
/// <param name="Indexes">Index definitions kept.</param>
public sealed record BackupCollectionSummary(string Name, long Rows, int Partitions, int Files, int Indexes);

/// <summary>
/// <c>quiver backup</c>: every chosen collection of a closed folder or a running server to a folder (or one tar
/// archive) of Parquet files and a manifest with checksums (docs/operations-backup.md).
/// <para>Guarantee: every row acknowledged before the backup began (<see cref="BackupResult.CreatedUtc"/>) and not
/// deleted during it is in the backup, once, in its latest version or the version it had when the backup began; rows
/// written during the backup may or may not be. Rows are read per partition with <see cref="CollectionScanner"/>, in
/// key order, a page at a time, so writers are never blocked and memory stays bounded. A backup is not a point-in-time
/// snapshot across rows: two rows changed together during it may appear one old, one new.</para>
/// </summary>
internal static class BackupTool
{
    /// <summary>Runs a backup. A failure removes what it wrote; the backup is usable only once its manifest exists.</summary>
    public static async Task<BackupResult> RunAsync(BackupOptions options, ToolReporter io, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(io);
        var targetSpec = TargetSpec.Required(options.Target, "BackupOptions.Target");
        if (string.IsNullOrEmpty(options.Out))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "BackupOptions.Out: give the path of a new backup folder or archive");
        }

        if (options.RowsPerFile < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"BackupOptions.RowsPerFile {options.RowsPerFile}: must be at least 1");
        }

        if (options.PageSize < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"BackupOptions.PageSize {options.PageSize}: must be at least 1");
        }

        var archive = options.Archive || IsArchivePath(options.Out);
        var outPath = Path.GetFullPath(options.Out);
        if (File.Exists(outPath) || (Directory.Exists(outPath) && Directory.EnumerateFileSystemEntries(outPath).Any()))
        {
            throw new ToolboxException(ToolboxErrorKind.Conflict, $"'{options.Out}' already exists; back up to a new path");
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var created = DateTimeOffset.UtcNow;
        await using var target = await targetSpec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var names = await ChooseAsync(target, options.Collections, cancellationToken).ConfigureAwait(false);
        var folder = archive ? $"{outPath}.{Guid.NewGuid():N}.partial" : outPath;
        var createdFolder = !Directory.Exists(folder);
        Directory.CreateDirectory(folder);
        var extras = new CatalogExtras(target);
        var released = new List<string>();
        try
        {
            var infos = new List<CollectionInfo>();
            foreach (var name in names)
            {
                infos.Add(await target.Client.DescribeCollectionAsync(name, target.Database, cancellationToken).ConfigureAwait(false));
            }

            var collections = await io.WithProgressAsync("backup", infos.Sum(i => i.RowCount), "rows", async progress =>
            {
                var written = new List<BackupCollection>();
                foreach (var info in infos)
                {
                    var loaded = await extras.IsLoadedAsync(info.Name, cancellationToken).ConfigureAwait(false);
                    if (loaded == false)
                    {
                        // Milvus refuses queries on a released collection; load it for the backup and release it after.
                        await target.Client.LoadCollectionAsync(info.Name, target.Database, cancellationToken).ConfigureAwait(false);
                        released.Add(info.Name);
                    }

                    written.Add(await BackupCollectionAsync(target, extras, info, loaded, folder, options, progress, cancellationToken).ConfigureAwait(false));
                }

                return written;
            }).ConfigureAwait(false);

            var manifest = new BackupManifest
            {
                Format = BackupManifest.FormatName,
                FormatVersion = BackupManifest.CurrentVersion,
                QuiverVersion = QuiverVersion(),
                CreatedUtc = created,
                CompletedUtc = DateTimeOffset.UtcNow,
                Source = $"{target.Description}, database {target.Database}",
                Collections = collections,
            };
            await manifest.WriteAsync(folder, cancellationToken).ConfigureAwait(false);
            if (archive)
            {
                await PackAsync(folder, manifest, outPath, cancellationToken).ConfigureAwait(false);
                Directory.Delete(folder, recursive: true);
            }

            var files = collections.SelectMany(c => c.Partitions).SelectMany(p => p.Files).ToList();
            return new BackupResult(
                options.Out,
                archive,
                created,
                [.. collections.Select(c => new BackupCollectionSummary(c.Name, c.Rows, c.Partitions.Count, c.Partitions.Sum(p => p.Files.Count), c.Indexes.Count))],
                collections.Sum(c => c.Rows),
                files.Sum(f => f.Bytes),
                clock.Elapsed.TotalSeconds);
        }
        catch
        {
            TryDelete(folder);
            if (!createdFolder && !archive)
            {
                // The folder was there, empty, before: leave it so.
                Directory.CreateDirectory(folder);
            }

            throw;
        }
        finally
        {
            foreach (var name in released)
            {
                try
                {
                    await target.Client.ReleaseCollectionAsync(name, target.Database, CancellationToken.None).ConfigureAwait(false);
                }
                catch (QuiverException e)
                {
                    io.Note($"backup: could not release '{name}' again after reading it: {e.Message}");
                }
            }
        }
    }

    /// <summary>True for paths that name a tar archive: .tar, .tar.gz, .tgz.</summary>
    public static bool IsArchivePath(string path) =>
        path.EndsWith(".tar", StringComparison.OrdinalIgnoreCase) || IsGzipPath(path);

    /// <summary>True for .tar.gz and .tgz.</summary>
    public static bool IsGzipPath(string path) =>
        path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase);

    /// <summary>The informational version of the engine assembly.</summary>
    public static string QuiverVersion() =>
        typeof(QuiverEngine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private static async Task<IReadOnlyList<string>> ChooseAsync(OpsTarget target, IReadOnlyList<string>? chosen, CancellationToken cancellationToken)
    {
        var all = await target.Client.ListCollectionsAsync(target.Database, cancellationToken).ConfigureAwait(false);
        if (chosen is null || chosen.Count == 0)
        {
            return [.. all.Order(StringComparer.Ordinal)];
        }

        var missing = chosen.Where(c => !all.Contains(c)).ToList();
        return missing.Count == 0
            ? [.. chosen.Distinct(StringComparer.Ordinal)]
            : throw new ToolboxException(ToolboxErrorKind.NotFound, $"{target.Description}: no collection {string.Join(", ", missing.Select(m => $"'{m}'"))} in database '{target.Database}'");
    }

    private static async Task<BackupCollection> BackupCollectionAsync(
        OpsTarget target, CatalogExtras extras, CollectionInfo info, bool? loaded, string folder, BackupOptions options, ProgressHandle progress,
        CancellationToken cancellationToken)
    {
        var indexes = await target.Client.DescribeIndexesAsync(info.Name, null, target.Database, cancellationToken).ConfigureAwait(false);
        var aliases = await extras.ListAliasesAsync(info.Name, cancellationToken).ConfigureAwait(false);
        var partitions = new List<BackupPartition>();
        for (var p = 0; p < info.Partitions.Count; p++)
        {
            var relative = string.Create(CultureInfo.InvariantCulture, $"{target.Database}/{info.Name}/p{p:D4}");
            Directory.CreateDirectory(Path.Combine(folder, relative));
            partitions.Add(await BackupPartitionAsync(target, info, info.Partitions[p], folder, relative, options, progress, cancellationToken).ConfigureAwait(false));
        }

        return new BackupCollection
        {
            Database = target.Database,
            Name = info.Name,
            Schema = BackupCollection.WriteSchema(info.Schema),
            Properties = info.Properties,
            Aliases = aliases,
            Loaded = loaded,
            Indexes = [.. indexes.Select(i => new BackupIndex(i.IndexName, i.FieldName, i.IndexType, i.Metric, i.Params))],
            Partitions = partitions,
        };
    }

    private static async Task<BackupPartition> BackupPartitionAsync(
        OpsTarget target, CollectionInfo info, string partition, string folder, string relative, BackupOptions options, ProgressHandle progress,
        CancellationToken cancellationToken)
    {
        var files = new List<BackupFile>();
        IRowWriter? writer = null;
        string? current = null;
        long inFile = 0;
        try
        {
            var pages = CollectionScanner.ScanAsync(target.Client, info.Name, target.Database, partition, options.PageSize, cancellationToken: cancellationToken);
            await foreach (var page in pages.ConfigureAwait(false))
            {
                for (var at = 0; at < page.Count;)
                {
                    if (writer is null)
                    {
                        current = string.Create(CultureInfo.InvariantCulture, $"{relative}/part-{files.Count:D5}.parquet");
                        writer = ParquetFormat.OpenWriter(Path.Combine(folder, current), info.Schema, new FormatOptions());
                    }

                    var take = (int)Math.Min(page.Count - at, options.RowsPerFile - inFile);
                    await writer.WriteAsync(at == 0 && take == page.Count ? page : [.. page.Skip(at).Take(take)], cancellationToken).ConfigureAwait(false);
                    at += take;
                    inFile += take;
                    progress.Advance(take);
                    if (inFile == options.RowsPerFile)
                    {
                        files.Add(await CloseAsync(writer, folder, current!, inFile, cancellationToken).ConfigureAwait(false));
                        writer = null;
                        inFile = 0;
                    }
                }
            }

            if (writer is not null)
            {
                files.Add(await CloseAsync(writer, folder, current!, inFile, cancellationToken).ConfigureAwait(false));
                writer = null;
            }
        }
        finally
        {
            if (writer is not null)
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }
        }

        return new BackupPartition(partition, files.Sum(f => f.Rows), files);
    }

    private static async Task<BackupFile> CloseAsync(IRowWriter writer, string folder, string relative, long rows, CancellationToken cancellationToken)
    {
        await using (writer.ConfigureAwait(false))
        {
            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        var (sha, bytes) = await BackupManifest.HashFileAsync(Path.Combine(folder, relative), cancellationToken).ConfigureAwait(false);
        return new BackupFile(relative, rows, bytes, sha);
    }

    /// <summary>Packs the finished backup folder into one tar (gzip-compressed for .tar.gz / .tgz): the data files,
    /// then the manifest last, through a temporary file renamed into place.</summary>
    private static async Task PackAsync(string folder, BackupManifest manifest, string outPath, CancellationToken cancellationToken)
    {
        var temporary = outPath + ".tmp";
        try
        {
            await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true))
            {
                var gzip = IsGzipPath(outPath) ? new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true) : null;
                try
                {
                    await using var tar = new TarWriter(gzip ?? (Stream)file, TarEntryFormat.Pax, leaveOpen: true);
                    foreach (var relative in manifest.Collections.SelectMany(c => c.Partitions).SelectMany(p => p.Files).Select(f => f.Path).Append(BackupManifest.FileName))
                    {
                        await tar.WriteEntryAsync(Path.Combine(folder, relative), relative, cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    if (gzip is not null)
                    {
                        await gzip.DisposeAsync().ConfigureAwait(false);
                    }
                }

                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, outPath, overwrite: false);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Deletes a file or folder, ignoring failure (cleanup after another failure).</summary>
    internal static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the failure being reported matters more.
        }
    }
}
