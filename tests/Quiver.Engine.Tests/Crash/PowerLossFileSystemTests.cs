using Quiver.Storage;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Crash;

/// <summary>The power-loss model itself: what a reboot keeps of synced and unsynced data and folder entries, and that
/// the power stays off once it failed.</summary>
public sealed class PowerLossFileSystemTests
{
    private const string Root = "/pl";
    private static readonly byte[] Synced = [1, 2, 3, 4];
    private static readonly byte[] Unsynced = [.. Enumerable.Range(10, 100).Select(i => (byte)i)];

    [Fact]
    public void SyncedFile_InUnsyncedFolder_IsLost_UntilTheFolderIsSynced()
    {
        IFileSystem fs = new PowerLossFileSystem(Root);
        WriteSynced(fs, "/pl/a");
        Assert.False(Reboot(fs).FileExists("/pl/a"));

        fs.SyncDirectory(Root);
        var after = Reboot(fs);
        Assert.Equal(Synced, Read(after, "/pl/a"));
    }

    [Fact]
    public void NewFolder_IsLost_UntilItsParentIsSynced()
    {
        IFileSystem fs = new PowerLossFileSystem(Root);
        fs.CreateDirectory("/pl/d/e");
        fs.SyncDirectory("/pl/d");
        Assert.False(Reboot(fs).DirectoryExists("/pl/d"));
        fs.SyncDirectory(Root);
        Assert.True(Reboot(fs).DirectoryExists("/pl/d/e"));
    }

    [Fact]
    public void UnsyncedWrites_AreDropped_ByTheHarshestReboot()
    {
        IFileSystem fs = new PowerLossFileSystem(Root);
        using (var file = WriteSynced(fs, "/pl/a", keepOpen: true))
        {
            fs.SyncDirectory(Root);
            file.Write(Unsynced);
        }

        Assert.Equal(Synced, Read(Reboot(fs), "/pl/a"));
    }

    [Fact]
    public void RenameWithoutFolderSync_LeavesOldOrNew_NeverNeither()
    {
        var fs = new PowerLossFileSystem(Root);
        IFileSystem io = fs;
        WriteSynced(io, "/pl/old");
        io.SyncDirectory(Root);
        io.Rename("/pl/old", "/pl/new");
        var seen = new HashSet<string>();
        for (var seed = 0; seed < 50; seed++)
        {
            IFileSystem after = fs.Survive(seed);
            var (hasOld, hasNew) = (after.FileExists("/pl/old"), after.FileExists("/pl/new"));
            Assert.True(hasOld != hasNew, $"seed {seed}: old {hasOld}, new {hasNew}");
            seen.Add(hasOld ? "old" : "new");
        }

        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public void Survive_KeepsNoneAllOrAPrefix_OfUnsyncedWrites_TornOnlyAtTheEnd()
    {
        var fs = new PowerLossFileSystem(Root);
        IFileSystem io = fs;
        using (var file = WriteSynced(io, "/pl/a", keepOpen: true))
        {
            io.SyncDirectory(Root);
            file.Write(Unsynced.AsSpan(0, 50));
            file.Write(Unsynced.AsSpan(50));
        }

        var written = Synced.Concat(Unsynced).ToArray();
        var lengths = new HashSet<int>();
        var zeroFilled = 0;
        for (var seed = 0; seed < 300; seed++)
        {
            var content = Read(fs.Survive(seed), "/pl/a");
            Assert.InRange(content.Length, Synced.Length, written.Length);
            var prefix = 0;
            while (prefix < content.Length && content[prefix] == written[prefix])
            {
                prefix++;
            }

            // Past the bytes that reached the disk there may only be zeros (the size got there before the data).
            Assert.True(content.AsSpan(prefix).IndexOfAnyExcept((byte)0) < 0, $"seed {seed}: garbage after byte {prefix}");
            zeroFilled += prefix < content.Length ? 1 : 0;
            lengths.Add(prefix);
        }

        Assert.Contains(Synced.Length, lengths);
        Assert.Contains(Synced.Length + 50, lengths);
        Assert.Contains(written.Length, lengths);
        Assert.Contains(lengths, l => l != Synced.Length && l != Synced.Length + 50 && l != written.Length);
        Assert.True(zeroFilled > 0, "no reboot zero-filled a torn write");
    }

    [Fact]
    public void AfterThePowerFails_EveryCallThrows()
    {
        var fs = new PowerLossFileSystem(Root);
        IFileSystem io = fs;
        fs.CrashAfter(2);
        using var file = io.Create("/pl/a");
        file.Write(Synced);
        Assert.Throws<PowerLostException>(() => file.Sync());
        Assert.True(fs.HasCrashed);
        Assert.Equal(3, fs.Operations);
        Assert.Throws<PowerLostException>(() => io.FileExists("/pl/a"));
        Assert.Throws<PowerLostException>(() => file.Write(Synced));
        Assert.Throws<PowerLostException>(() => io.SyncDirectory(Root));
    }

    private static IFileSystem Reboot(IFileSystem fs) => ((PowerLossFileSystem)fs).SurviveSyncedOnly();

    private static WritableFile WriteSynced(IFileSystem fs, string path, bool keepOpen = false)
    {
        var file = fs.Create(path);
        file.Write(Synced);
        file.Sync();
        if (!keepOpen)
        {
            file.Dispose();
        }

        return file;
    }

    private static byte[] Read(IFileSystem fs, string path)
    {
        using var stream = fs.OpenRead(path);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
