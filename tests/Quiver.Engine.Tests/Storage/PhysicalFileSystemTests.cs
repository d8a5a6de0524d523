using System.Diagnostics;
using Quiver.Storage;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Storage;

public class PhysicalFileSystemTests
{
    private static readonly IFileSystem Fs = PhysicalFileSystem.Instance;

    [Fact]
    public void CreateWriteSync_ThenRead_RoundTrips()
    {
        using var temp = new TempFolder();
        string path = temp.Sub("a.bin");
        using (var file = Fs.Create(path))
        {
            file.Write([1, 2, 3, 4]);
            file.Sync();
            Assert.Equal(4, file.Length);
        }

        using (var file = Fs.OpenAppend(path))
        {
            Assert.Equal(4, file.Length);
            file.Write([5, 6]);
            file.Truncate(5);
            file.Write([7]);
            file.Sync();
        }

        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 7 }, File.ReadAllBytes(path));
        Assert.Equal(6, Fs.GetLength(path));
        Fs.SyncDirectory(temp.Path);
    }

    [Fact]
    public void ListFiles_SimplePattern_OrdinalOrder()
    {
        using var temp = new TempFolder();
        foreach (string name in new[] { "b.wal", "a.wal", "c.wal.tmp", "B.wal", "x.txt" })
        {
            File.WriteAllBytes(temp.Sub(name), []);
        }

        var names = Fs.ListFiles(temp.Path, "*.wal").Select(Path.GetFileName).ToArray();
        Assert.Equal(new[] { "B.wal", "a.wal", "b.wal" }, names);
        Assert.Empty(Fs.ListFiles(temp.Sub("missing")));
    }

    [Fact]
    public unsafe void MapReadOnly_SeesFileBytes_AndEmptyFileMapsEmpty()
    {
        using var temp = new TempFolder();
        byte[] data = new byte[10000];
        new Random(1).NextBytes(data);
        File.WriteAllBytes(temp.Sub("data"), data);
        File.WriteAllBytes(temp.Sub("empty"), []);
        using (var map = Fs.MapReadOnly(temp.Sub("data")))
        {
            Assert.Equal(data.Length, map.Length);
            Assert.True(map.Span(0, data.Length).SequenceEqual(data));
            Assert.True(map.Span(9000, 1000).SequenceEqual(data.AsSpan(9000)));
            Assert.Throws<ArgumentOutOfRangeException>(() => map.Span(9001, 1000).Length);
        }

        using var empty = Fs.MapReadOnly(temp.Sub("empty"));
        Assert.Equal(0, empty.Length);
        Assert.Equal(0, empty.Span(0, 0).Length);
    }

    [Fact]
    public void LockExclusive_SecondOpener_ThrowsLocked_UntilReleased()
    {
        using var temp = new TempFolder();
        string path = temp.Sub("LOCK");
        var first = Fs.LockExclusive(path);
        var ex = Assert.Throws<QuiverException>(() => Fs.LockExclusive(path));
        Assert.Equal(QuiverErrorCode.Locked, ex.Code);
        Assert.Contains("in use by another process", ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        first.Dispose();
        Fs.LockExclusive(path).Dispose();
    }

    [Fact]
    public void LockExclusive_IsSeenByAnotherProcess()
    {
        // util-linux (an essential Debian package) ships flock; without it this test must fail, not pass silently.
        Assert.True(File.Exists("/usr/bin/flock"), "/usr/bin/flock (util-linux) is needed to hold a lock from another process");

        using var temp = new TempFolder();
        string path = temp.Sub("LOCK");
        using (Fs.LockExclusive(path))
        {
            Assert.Equal(1, RunFlock(path));
        }

        Assert.Equal(0, RunFlock(path));

        static int RunFlock(string path)
        {
            using var process = Process.Start(new ProcessStartInfo("/usr/bin/flock", ["-n", "-E", "1", path, "true"]))!;
            process.WaitForExit();
            return process.ExitCode;
        }
    }

    [Fact]
    public void LockExclusive_HeldByAnotherProcess_ThrowsLocked()
    {
        // util-linux (an essential Debian package) ships flock; without it this test must fail, not pass silently.
        Assert.True(File.Exists("/usr/bin/flock"), "/usr/bin/flock (util-linux) is needed to hold a lock from another process");

        using var temp = new TempFolder();
        string path = temp.Sub("LOCK");
        string ready = temp.Sub("ready");
        using var child = Process.Start(new ProcessStartInfo("/usr/bin/flock", ["-n", path, "sh", "-c", $"touch '{ready}'; sleep 30"]))!;
        try
        {
            var deadline = Stopwatch.StartNew();
            while (!File.Exists(ready) && deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(10);
            }

            Assert.True(File.Exists(ready));
            var ex = Assert.Throws<QuiverException>(() => Fs.LockExclusive(path));
            Assert.Equal(QuiverErrorCode.Locked, ex.Code);
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
    }

    [Fact]
    public void AtomicFile_WriteAllBytes_ReplacesAndLeavesNoTemp()
    {
        using var temp = new TempFolder();
        string path = temp.Sub("MANIFEST");
        AtomicFile.WriteAllBytes(Fs, path, [1, 2, 3]);
        AtomicFile.WriteAllBytes(Fs, path, [4, 5]);
        Assert.Equal(new byte[] { 4, 5 }, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".tmp"));

        AtomicFile.Write(Fs, path, stream => stream.Write([9, 9, 9]));
        Assert.Equal(new byte[] { 9, 9, 9 }, File.ReadAllBytes(path));
    }

    [Fact]
    public void AtomicFile_RenameFails_KeepsOldContent()
    {
        using var temp = new TempFolder();
        var faults = new FaultInjectingFileSystem();
        IFileSystem fs = faults;
        string path = temp.Sub("MANIFEST");
        AtomicFile.WriteAllBytes(fs, path, [1, 2, 3]);
        faults.FailRenames = true;
        Assert.Throws<IOException>(() => AtomicFile.WriteAllBytes(fs, path, [4, 5]));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void FaultInjectingFileSystem_FullDisk_WritesWhatFitsThenThrowsEnospc()
    {
        using var temp = new TempFolder();
        var faults = new FaultInjectingFileSystem();
        IFileSystem fs = faults;
        string path = temp.Sub("f");
        using (var file = fs.Create(path))
        {
            faults.FailWritesAfter(3);
            var ex = Assert.Throws<IOException>(() => file.Write([1, 2, 3, 4, 5]));
            Assert.Equal(FaultInjectingFileSystem.DiskFullHResult, ex.HResult);
            Assert.Contains("No space left on device", ex.Message, StringComparison.Ordinal);
            faults.FailNextSync();
            Assert.Throws<IOException>(file.Sync);
            faults.Reset();
            file.Write([6]);
            file.Sync();
        }

        Assert.Equal(new byte[] { 1, 2, 3, 6 }, File.ReadAllBytes(path));
    }
}
