using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;

namespace Quiver.Toolbox.Backup;

/// <summary>
/// A backup opened for reading: its folder, or an archive unpacked into a temporary folder (deleted on dispose), and
/// <see cref="VerifyAsync"/>, which checks the manifest's own checksum and every data file's size and SHA-256 and lists
/// every problem, each naming the file. Restore verifies before it creates anything.
/// </summary>
internal sealed class BackupSource : IDisposable
{
    private readonly string? _temporary;

    private BackupSource(string folder, string? temporary, IReadOnlyList<string> problems)
    {
        Folder = folder;
        _temporary = temporary;
        UnpackProblems = problems;
    }

    /// <summary>The folder holding manifest.json and the data files.</summary>
    public string Folder { get; }

    /// <summary>Problems found while unpacking an archive (a truncated archive, an unsafe entry).</summary>
    public IReadOnlyList<string> UnpackProblems { get; }

    /// <summary>Opens a backup folder or archive; an archive is unpacked first (it needs its size in free space under
    /// the system temporary folder).</summary>
    public static async Task<BackupSource> OpenAsync(string path, CancellationToken cancellationToken)
    {
        if (Directory.Exists(path))
        {
            return new BackupSource(path, null, []);
        }

        if (!File.Exists(path))
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"'{path}': no such backup folder or archive");
        }

        var temporary = Path.Combine(Path.GetTempPath(), $"quiver-restore-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temporary);
        var problems = new List<string>();
        try
        {
            await UnpackAsync(path, temporary, problems, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            BackupTool.TryDelete(temporary);
            throw;
        }

        return new BackupSource(temporary, temporary, problems);
    }

    /// <summary>The manifest if the backup is whole, and every problem found (empty when whole).</summary>
    public async Task<(BackupManifest? Manifest, IReadOnlyList<string> Problems, int Files, long Bytes)> VerifyAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>(UnpackProblems);
        var manifestPath = Path.Combine(Folder, BackupManifest.FileName);
        if (!File.Exists(manifestPath))
        {
            problems.Add($"{BackupManifest.FileName}: missing (not a Quiver backup, or one that did not finish)");
            return (null, problems, 0, 0);
        }

        var manifest = BackupManifest.Parse(await File.ReadAllBytesAsync(manifestPath, cancellationToken).ConfigureAwait(false), out var problem);
        if (manifest is null)
        {
            problems.Add($"{BackupManifest.FileName}: {problem}");
            return (null, problems, 0, 0);
        }

        var files = 0;
        long bytes = 0;
        foreach (var collection in manifest.Collections)
        {
            try
            {
                collection.ReadSchema();
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException)
            {
                problems.Add($"{BackupManifest.FileName}: collection '{collection.Name}': unreadable schema ({e.Message})");
            }

            foreach (var file in collection.Partitions.SelectMany(p => p.Files))
            {
                files++;
                if (!IsSafe(file.Path))
                {
                    problems.Add($"{file.Path}: not a relative path inside the backup; refused");
                    continue;
                }

                var full = Path.Combine(Folder, file.Path);
                if (!File.Exists(full))
                {
                    problems.Add($"{file.Path}: missing");
                    continue;
                }

                var (sha, length) = await BackupManifest.HashFileAsync(full, cancellationToken).ConfigureAwait(false);
                bytes += length;
                if (length != file.Bytes)
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{file.Path}: {length} bytes, the manifest says {file.Bytes} ({(length < file.Bytes ? "truncated" : "damaged")})"));
                }
                else if (!string.Equals(sha, file.Sha256, StringComparison.Ordinal))
                {
                    problems.Add($"{file.Path}: SHA-256 {sha}, the manifest says {file.Sha256} (damaged)");
                }
            }
        }

        return (problems.Count == 0 ? manifest : null, problems, files, bytes);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_temporary is not null)
        {
            BackupTool.TryDelete(_temporary);
        }
    }

    /// <summary>True for a relative '/'-separated path with no empty, '.' or '..' part.</summary>
    internal static bool IsSafe(string relative) =>
        relative.Length > 0 && !relative.Contains('\\', StringComparison.Ordinal) && !Path.IsPathRooted(relative)
        && relative.Split('/').All(part => part.Length > 0 && part != "." && part != "..");

    private static async Task UnpackAsync(string archive, string into, List<string> problems, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        var magic = new byte[2];
        var gzip = await file.ReadAsync(magic, cancellationToken).ConfigureAwait(false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        file.Position = 0;
        Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                await using var tar = new TarReader(stream, leaveOpen: true);
                while (await tar.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    if (entry.EntryType is TarEntryType.Directory)
                    {
                        continue;
                    }

                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || !IsSafe(entry.Name))
                    {
                        problems.Add($"{archive}: entry '{entry.Name}' ({entry.EntryType}) is not a plain file inside the backup; refused");
                        continue;
                    }

                    var destination = Path.Combine(into, entry.Name);
                    Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                    await entry.ExtractToFileAsync(destination, overwrite: false, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or IOException)
            {
                problems.Add($"{archive}: the archive is truncated or damaged ({e.Message})");
            }
        }
    }
}
