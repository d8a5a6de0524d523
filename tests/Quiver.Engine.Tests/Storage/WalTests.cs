using System.Collections.Concurrent;
using Quiver.Storage;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Storage;

public class WalTests
{
    private static readonly IFileSystem Fs = PhysicalFileSystem.Instance;

    private static byte[] Payload(long lsn, int length = 16)
    {
        byte[] bytes = new byte[length];
        new Random((int)lsn).NextBytes(bytes);
        return bytes;
    }

    private static async Task<List<WalRecord>> ReadAllAsync(IFileSystem fs, string dir, long fromLsn = 1, WalOptions? options = null)
    {
        var records = new List<WalRecord>();
        await using var wal = Wal.Open(fs, dir, options);
        wal.Replay(fromLsn, r => records.Add(r with { Payload = r.Payload.ToArray() }));
        return records;
    }

    private static async Task AppendManyAsync(Wal wal, long firstLsn, int count, int length = 16)
    {
        for (long lsn = firstLsn; lsn < firstLsn + count; lsn++)
        {
            Assert.Equal(lsn, await wal.AppendAsync((byte)(lsn % 7), Payload(lsn, length)));
        }
    }

    private static void AssertRecords(IReadOnlyList<WalRecord> records, long firstLsn, long lastLsn, int length = 16)
    {
        Assert.Equal(lastLsn - firstLsn + 1, records.Count);
        for (int i = 0; i < records.Count; i++)
        {
            long lsn = firstLsn + i;
            Assert.Equal(lsn, records[i].Lsn);
            Assert.Equal((byte)(lsn % 7), records[i].Type);
            Assert.True(records[i].Payload.Span.SequenceEqual(Payload(lsn, length)), $"payload of LSN {lsn}");
        }
    }

    [Fact]
    public async Task AppendReplay_AcrossRotationsAndFiles_RoundTrips()
    {
        using var temp = new TempFolder();
        var options = new WalOptions { MaxFileBytes = 4096 };
        await using (var wal = Wal.Open(Fs, temp.Path, options))
        {
            Assert.Equal(1, wal.NextLsn);
            await AppendManyAsync(wal, 1, 40, length: 300);
            Assert.Equal(41, await wal.RotateAsync(CancellationToken.None));
            await AppendManyAsync(wal, 41, 5, length: 300);
            Assert.Equal(45, wal.LastDurableLsn);
            Assert.Equal(45, wal.LastSyncedLsn);
            Assert.True(wal.Files().Count >= 4);
            Assert.EndsWith("00000000000000000041.wal", wal.Files()[^1], StringComparison.Ordinal);
        }

        AssertRecords(await ReadAllAsync(Fs, temp.Path), 1, 45, length: 300);
        AssertRecords(await ReadAllAsync(Fs, temp.Path, fromLsn: 30), 30, 45, length: 300);
        AssertRecords(await ReadAllAsync(Fs, temp.Path, fromLsn: 46), 46, 45, length: 300);
    }

    [Fact]
    public async Task Reopen_ContinuesLsnsAfterLastRecord()
    {
        using var temp = new TempFolder();
        await using (var wal = Wal.Open(Fs, temp.Path))
        {
            await AppendManyAsync(wal, 1, 3);
        }

        await using (var wal = Wal.Open(Fs, temp.Path))
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => wal.AppendAsync(1, Payload(4)));
            var report = wal.Replay(1, _ => { });
            Assert.Equal(3, report.RecordsDelivered);
            Assert.Equal(4, report.NextLsn);
            Assert.False(report.TailTruncated);
            Assert.Equal(4, wal.NextLsn);
            await AppendManyAsync(wal, 4, 3);
            Assert.Throws<InvalidOperationException>(() => wal.Replay(1, _ => { }));
        }

        AssertRecords(await ReadAllAsync(Fs, temp.Path), 1, 6);
    }

    [Fact]
    public async Task Open_EmptyFolderWithHint_StartsAtHint()
    {
        using var temp = new TempFolder();
        await using (var wal = Wal.Open(Fs, temp.Path, firstLsnHint: 100))
        {
            Assert.Equal(0, wal.Replay(100, _ => { }).RecordsDelivered);
            await AppendManyAsync(wal, 100, 2);
        }

        AssertRecords(await ReadAllAsync(Fs, temp.Path, fromLsn: 100), 100, 101);
        await Assert.ThrowsAsync<CorruptionException>(() => ReadAllAsync(Fs, temp.Path, fromLsn: 50));
        await Assert.ThrowsAsync<CorruptionException>(() => ReadAllAsync(Fs, temp.Path, fromLsn: 103));
    }

    [Fact]
    public async Task TornTail_AtEveryLengthOfLastRecord_IsCutAndAppendsContinue()
    {
        using var temp = new TempFolder();
        string dir = temp.Sub("wal");
        await using (var wal = Wal.Open(Fs, dir))
        {
            await AppendManyAsync(wal, 1, 3, length: 10);
        }

        string path = Fs.ListFiles(dir).Single();
        byte[] original = File.ReadAllBytes(path);
        int lastStart = original.Length - (WalFormat.RecordHeaderSize + 10);
        for (int length = lastStart; length < original.Length; length++)
        {
            File.WriteAllBytes(path, original.AsSpan(0, length).ToArray());
            var records = new List<WalRecord>();
            await using (var wal = Wal.Open(Fs, dir))
            {
                var report = wal.Replay(1, r => records.Add(r with { Payload = r.Payload.ToArray() }));
                AssertRecords(records, 1, 2, length: 10);
                Assert.Equal(3, report.NextLsn);
                if (length == lastStart)
                {
                    Assert.False(report.TailTruncated);
                }
                else
                {
                    Assert.True(report.TailTruncated, $"length {length}");
                    Assert.Equal(path, report.TruncatedFile);
                    Assert.Equal(lastStart, report.TruncatedOffset);
                    Assert.Equal(length - lastStart, report.BytesDropped);
                }

                Assert.Equal(lastStart, new FileInfo(path).Length);
                Assert.Equal(3, await wal.AppendAsync(3, Payload(3, 10)));
            }

            AssertRecords(await ReadAllAsync(Fs, dir), 1, 3, length: 10);
        }
    }

    [Fact]
    public async Task FlippedByte_InLastRecord_IsATornTail()
    {
        using var temp = new TempFolder();
        string dir = temp.Sub("wal");
        await using (var wal = Wal.Open(Fs, dir))
        {
            await AppendManyAsync(wal, 1, 3, length: 10);
        }

        string path = Fs.ListFiles(dir).Single();
        byte[] original = File.ReadAllBytes(path);
        int lastStart = original.Length - (WalFormat.RecordHeaderSize + 10);
        for (int at = lastStart; at < original.Length; at++)
        {
            byte[] damaged = (byte[])original.Clone();
            damaged[at] ^= 0x40;
            File.WriteAllBytes(path, damaged);
            var records = await ReadAllAsync(Fs, dir);
            AssertRecords(records, 1, 2, length: 10);
            Assert.Equal(lastStart, new FileInfo(path).Length);
        }
    }

    [Fact]
    public async Task FlippedByte_InMiddleRecord_IsCorruption()
    {
        using var temp = new TempFolder();
        string dir = temp.Sub("wal");
        await using (var wal = Wal.Open(Fs, dir))
        {
            await AppendManyAsync(wal, 1, 3, length: 10);
        }

        string path = Fs.ListFiles(dir).Single();
        byte[] original = File.ReadAllBytes(path);
        int middleStart = WalFormat.FileHeaderSize + WalFormat.RecordHeaderSize + 10;
        foreach (int at in new[] { middleStart, middleStart + 4, middleStart + 8, middleStart + 16, middleStart + 25 })
        {
            byte[] damaged = (byte[])original.Clone();
            damaged[at] ^= 0x01;
            File.WriteAllBytes(path, damaged);
            var ex = await Assert.ThrowsAsync<CorruptionException>(() => ReadAllAsync(Fs, dir));
            Assert.Equal(path, ex.Path);
            Assert.Contains($"offset {middleStart}", ex.Message, StringComparison.Ordinal);
            Assert.Equal(original.Length, new FileInfo(path).Length);
        }
    }

    [Fact]
    public async Task Damage_InNonLastFile_IsCorruption_AndMissingFileIsAGap()
    {
        using var temp = new TempFolder();
        string dir = temp.Sub("wal");
        await using (var wal = Wal.Open(Fs, dir))
        {
            await AppendManyAsync(wal, 1, 2);
            await wal.RotateAsync(CancellationToken.None);
            await AppendManyAsync(wal, 3, 2);
            await wal.RotateAsync(CancellationToken.None);
            await AppendManyAsync(wal, 5, 2);
        }

        var files = Fs.ListFiles(dir);
        Assert.Equal(3, files.Count);
        byte[] middle = File.ReadAllBytes(files[1]);

        // A torn end is only allowed in the last file.
        File.WriteAllBytes(files[1], middle.AsSpan(0, middle.Length - 3).ToArray());
        var ex = await Assert.ThrowsAsync<CorruptionException>(() => ReadAllAsync(Fs, dir));
        Assert.Equal(files[1], ex.Path);

        File.Delete(files[1]);
        ex = await Assert.ThrowsAsync<CorruptionException>(() => ReadAllAsync(Fs, dir));
        Assert.Equal(files[2], ex.Path);
        Assert.Contains("LSN 5", ex.Message, StringComparison.Ordinal);

        // Replay from the last file alone does not need the missing one.
        AssertRecords(await ReadAllAsync(Fs, dir, fromLsn: 5), 5, 6);
    }

    [Fact]
    public async Task TornNewFile_WithPartialHeader_IsRepaired()
    {
        using var temp = new TempFolder();
        string dir = temp.Sub("wal");
        await using (var wal = Wal.Open(Fs, dir))
        {
            await AppendManyAsync(wal, 1, 2);
        }

        string torn = Path.Combine(dir, WalFormat.FileName(3));
        File.WriteAllBytes(torn, [0x57, 0x51, 0x41]);
        await using (var wal = Wal.Open(Fs, dir))
        {
            var report = wal.Replay(1, _ => { });
            Assert.Equal(torn, report.TruncatedFile);
            Assert.Equal(3, report.BytesDropped);
            await AppendManyAsync(wal, 3, 1);
        }

        AssertRecords(await ReadAllAsync(Fs, dir), 1, 3);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task GroupCommit_ConcurrentAppenders_AllCompleteAndCallbacksRunInLsnOrder(int policyValue)
    {
        var policy = (FsyncPolicy)policyValue;
        using var temp = new TempFolder();
        var options = new WalOptions { FsyncPolicy = policy, MaxFileBytes = 64 * 1024, MaxGroupBytes = 8 * 1024 };
        var order = new List<long>();
        var applied = new ConcurrentDictionary<long, bool>();
        const int Appenders = 16;
        const int PerAppender = 100;
        await using (var wal = Wal.Open(Fs, temp.Path, options))
        {
            var tasks = Enumerable.Range(0, Appenders).Select(a => Task.Run(async () =>
            {
                for (int i = 0; i < PerAppender; i++)
                {
                    long lsn = await wal.AppendAsync(1, new byte[100], l =>
                    {
                        order.Add(l);
                        applied[l] = true;
                    });
                    Assert.True(applied.ContainsKey(lsn), "callback ran before the task completed");
                }
            })).ToArray();
            await Task.WhenAll(tasks);
            Assert.Equal(Appenders * PerAppender, wal.LastDurableLsn);
        }

        Assert.Equal(Enumerable.Range(1, Appenders * PerAppender).Select(i => (long)i), order);
        Assert.Equal(Appenders * PerAppender, (await ReadAllAsync(Fs, temp.Path)).Count);
    }

    [Fact]
    public async Task Interval_SyncsWithinInterval()
    {
        using var temp = new TempFolder();
        var options = new WalOptions { FsyncPolicy = FsyncPolicy.Interval, FsyncInterval = TimeSpan.FromMilliseconds(20) };
        await using var wal = Wal.Open(Fs, temp.Path, options);
        await AppendManyAsync(wal, 1, 3);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (wal.LastSyncedLsn < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        Assert.Equal(3, wal.LastSyncedLsn);
    }

    [Fact]
    public async Task Callback_Throws_FaultsOnlyThatRecord_AndLoopContinues()
    {
        using var temp = new TempFolder();
        await using (var wal = Wal.Open(Fs, temp.Path))
        {
            var boom = new InvalidOperationException("boom");
            var first = wal.AppendAsync(1, Payload(1), _ => throw boom);
            var second = wal.AppendAsync(2, Payload(2));
            Assert.Same(boom, await Assert.ThrowsAsync<InvalidOperationException>(() => first));
            Assert.Equal(2, await second);
            Assert.Equal(3, await wal.AppendAsync(3, Payload(3)));
        }

        Assert.Equal(3, (await ReadAllAsync(Fs, temp.Path)).Count);
    }

    [Fact]
    public async Task Cancellation_WhileQueued_RemovesRecordAndConsumesNoLsn()
    {
        using var temp = new TempFolder();
        await using (var wal = Wal.Open(Fs, temp.Path))
        {
            using var gate = new ManualResetEventSlim();
            using var cts = new CancellationTokenSource();
            var blocker = wal.AppendAsync(1, Payload(1), _ => gate.Wait());
            await WaitUntilAsync(() => wal.LastDurableLsn == 1);
            var cancelled = wal.AppendAsync(9, Payload(99), _ => Assert.Fail("cancelled record applied"), cts.Token);
            var kept = wal.AppendAsync(2, Payload(2));
            cts.Cancel();
            gate.Set();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
            Assert.Equal(1, await blocker);
            Assert.Equal(2, await kept);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wal.AppendAsync(1, Payload(3), null, cts.Token));
            Assert.Equal(3, await wal.AppendAsync(3, Payload(3)));
        }

        var records = await ReadAllAsync(Fs, temp.Path);
        Assert.Equal(new long[] { 1, 2, 3 }, records.Select(r => r.Lsn));
        Assert.True(records[1].Payload.Span.SequenceEqual(Payload(2)));
    }

    [Fact]
    public async Task FullDisk_FailingAppendsThrowCapacity_NothingReplayed_LaterAppendsSucceed()
    {
        using var temp = new TempFolder();
        var faults = new FaultInjectingFileSystem();
        IFileSystem fs = faults;
        await using (var wal = Wal.Open(fs, temp.Path))
        {
            await AppendManyAsync(wal, 1, 5);
            long lengthBefore = new FileInfo(wal.Files()[^1]).Length;
            faults.FailWritesAfter(30);
            bool applied = false;
            var failing = Enumerable.Range(0, 3).Select(_ => wal.AppendAsync(1, new byte[50], _ => applied = true)).ToArray();
            foreach (var task in failing)
            {
                var ex = await Assert.ThrowsAsync<QuiverException>(() => task);
                Assert.Equal(QuiverErrorCode.Capacity, ex.Code);
                Assert.IsType<IOException>(ex.InnerException);
            }

            Assert.False(applied);
            Assert.Equal(lengthBefore, new FileInfo(wal.Files()[^1]).Length);
            Assert.Equal(6, wal.NextLsn);

            faults.Reset();
            await AppendManyAsync(wal, 6, 2);
        }

        AssertRecords(await ReadAllAsync(fs, temp.Path), 1, 7);
    }

    [Fact]
    public async Task FsyncFailure_FaultsGroupAndQueued_NothingReplayed_LaterAppendsSucceed()
    {
        using var temp = new TempFolder();
        var faults = new FaultInjectingFileSystem();
        IFileSystem fs = faults;
        // Groups of one record, so that some appends are still queued when the first one fails.
        var options = new WalOptions { MaxGroupBytes = 4096 };
        await using (var wal = Wal.Open(fs, temp.Path, options))
        {
            await AppendManyAsync(wal, 1, 2);
            using var gate = new ManualResetEventSlim();
            var blocker = wal.AppendAsync(3, Payload(3), _ => gate.Wait());
            await WaitUntilAsync(() => wal.LastDurableLsn == 3);
            faults.FailNextSync();
            var failing = Enumerable.Range(0, 4).Select(_ => wal.AppendAsync(1, new byte[3000], _ => Assert.Fail("applied"))).ToArray();
            gate.Set();
            Assert.Equal(3, await blocker);
            foreach (var task in failing)
            {
                var ex = await Assert.ThrowsAsync<QuiverException>(() => task);
                Assert.Equal(QuiverErrorCode.Unavailable, ex.Code);
                Assert.IsType<IOException>(ex.InnerException);
            }

            await AppendManyAsync(wal, 4, 2);
        }

        AssertRecords(await ReadAllAsync(fs, temp.Path), 1, 5);
    }

    [Fact]
    public async Task TruncateFailure_BreaksTheLog()
    {
        using var temp = new TempFolder();
        var faults = new FaultInjectingFileSystem();
        IFileSystem fs = faults;
        await using (var wal = Wal.Open(fs, temp.Path))
        {
            await AppendManyAsync(wal, 1, 2);
            faults.FailWritesAfter(10);
            faults.FailTruncates = true;
            var ex = await Assert.ThrowsAsync<QuiverException>(() => wal.AppendAsync(1, Payload(3)));
            Assert.Equal(QuiverErrorCode.Capacity, ex.Code);
            faults.Reset();
            var broken = await Assert.ThrowsAsync<QuiverException>(() => wal.AppendAsync(1, Payload(3)));
            Assert.Equal(QuiverErrorCode.Unavailable, broken.Code);
            await Assert.ThrowsAsync<QuiverException>(() => wal.RotateAsync(CancellationToken.None));
        }

        // The partial record left behind is a torn tail.
        var records = new List<WalRecord>();
        await using (var wal = Wal.Open(fs, temp.Path))
        {
            var report = wal.Replay(1, records.Add);
            Assert.True(report.TailTruncated);
            Assert.Equal(10, report.BytesDropped);
        }

        Assert.Equal(2, records.Count);
    }

    [Fact]
    public async Task Interval_FailedBackgroundFsync_BreaksTheLog()
    {
        using var temp = new TempFolder();
        var faults = new FaultInjectingFileSystem();
        IFileSystem fs = faults;
        var options = new WalOptions { FsyncPolicy = FsyncPolicy.Interval, FsyncInterval = TimeSpan.FromMilliseconds(10) };
        await using var wal = Wal.Open(fs, temp.Path, options);
        faults.FailNextSync();
        Assert.Equal(1, await wal.AppendAsync(1, Payload(1)));
        await WaitUntilAsync(() =>
        {
            try
            {
                _ = wal.AppendAsync(1, Payload(2));
                return false;
            }
            catch (QuiverException ex) when (ex.Code == QuiverErrorCode.Unavailable)
            {
                Assert.IsType<QuiverException>(ex.InnerException);
                return true;
            }
        });
        Assert.Equal(0, wal.LastSyncedLsn);
    }

    [Fact]
    public async Task Never_FailedFinalFsync_DisposeThrows()
    {
        using var temp = new TempFolder();
        var faults = new FaultInjectingFileSystem();
        IFileSystem fs = faults;
        var wal = Wal.Open(fs, temp.Path, new WalOptions { FsyncPolicy = FsyncPolicy.Never });
        Assert.Equal(1, await wal.AppendAsync(1, Payload(1)));
        Assert.Equal(0, wal.LastSyncedLsn);
        faults.FailNextSync();
        var ex = await Assert.ThrowsAsync<QuiverException>(async () => await wal.DisposeAsync());
        Assert.Equal(QuiverErrorCode.Unavailable, ex.Code);
        await wal.DisposeAsync();
    }

    [Fact]
    public async Task RotateFailure_FaultsRotateOnly_AndLogStaysConsistent()
    {
        using var temp = new TempFolder();
        var faults = new FaultInjectingFileSystem();
        IFileSystem fs = faults;
        await using (var wal = Wal.Open(fs, temp.Path))
        {
            await AppendManyAsync(wal, 1, 2);
            faults.FailWritesAfter(5);
            var ex = await Assert.ThrowsAsync<QuiverException>(() => wal.RotateAsync(CancellationToken.None));
            Assert.Equal(QuiverErrorCode.Capacity, ex.Code);
            faults.Reset();
            Assert.Single(Fs.ListFiles(temp.Path));
            await AppendManyAsync(wal, 3, 2);
            Assert.Equal(5, await wal.RotateAsync(CancellationToken.None));
        }

        AssertRecords(await ReadAllAsync(fs, temp.Path), 1, 4);
    }

    [Fact]
    public async Task Rotate_OnEmptyFile_KeepsIt_AndCallbacksRunBeforeRotateCompletes()
    {
        using var temp = new TempFolder();
        await using var wal = Wal.Open(Fs, temp.Path);
        Assert.Equal(1, await wal.RotateAsync(CancellationToken.None));
        Assert.Single(wal.Files());
        int applied = 0;
        var appends = Enumerable.Range(0, 10).Select(_ => wal.AppendAsync(1, new byte[8], _ => applied++)).ToArray();
        long next = await wal.RotateAsync(CancellationToken.None);
        Assert.Equal(11, next);
        Assert.Equal(10, applied);
        Assert.All(appends, t => Assert.True(t.IsCompletedSuccessfully));
        Assert.Equal(10, wal.LastSyncedLsn);
        Assert.Equal(2, wal.Files().Count);
    }

    [Fact]
    public async Task DeleteFilesBefore_DeletesOnlyWholeOlderFiles()
    {
        using var temp = new TempFolder();
        await using (var wal = Wal.Open(Fs, temp.Path))
        {
            await AppendManyAsync(wal, 1, 3);
            await wal.RotateAsync(CancellationToken.None); // file 4
            await AppendManyAsync(wal, 4, 3);
            await wal.RotateAsync(CancellationToken.None); // file 7
            await AppendManyAsync(wal, 7, 3);

            Assert.Equal(0, wal.DeleteFilesBefore(3));
            Assert.Equal(1, wal.DeleteFilesBefore(6));
            Assert.EndsWith(WalFormat.FileName(4), wal.Files()[0], StringComparison.Ordinal);
            Assert.Equal(1, wal.DeleteFilesBefore(long.MaxValue));
            Assert.Single(wal.Files());
            Assert.Equal(0, wal.DeleteFilesBefore(long.MaxValue));
            Assert.Equal(10, await wal.AppendAsync(1, Payload(10)));
        }

        Assert.Single(Fs.ListFiles(temp.Path));
        await Assert.ThrowsAsync<CorruptionException>(() => ReadAllAsync(Fs, temp.Path, fromLsn: 1));
        Assert.Equal(new long[] { 8, 9, 10 }, (await ReadAllAsync(Fs, temp.Path, fromLsn: 8)).Select(r => r.Lsn));
    }

    [Fact]
    public async Task Dispose_DrainsQueue_ThenAppendsThrowUnavailable()
    {
        using var temp = new TempFolder();
        var wal = Wal.Open(Fs, temp.Path, new WalOptions { FsyncPolicy = FsyncPolicy.Never });
        var tasks = Enumerable.Range(0, 200).Select(i => wal.AppendAsync(1, Payload(i + 1))).ToArray();
        await wal.DisposeAsync();
        Assert.All(tasks, t => Assert.True(t.IsCompletedSuccessfully));
        var ex = await Assert.ThrowsAsync<QuiverException>(() => wal.AppendAsync(1, Payload(1)));
        Assert.Equal(QuiverErrorCode.Unavailable, ex.Code);
        await wal.DisposeAsync();
        Assert.Equal(200, (await ReadAllAsync(Fs, temp.Path)).Count);
    }

    [Fact]
    public async Task LargeRecord_BiggerThanGroupAndFile_RoundTrips()
    {
        using var temp = new TempFolder();
        var options = new WalOptions { MaxGroupBytes = 4096, MaxFileBytes = 4096 };
        await using (var wal = Wal.Open(Fs, temp.Path, options))
        {
            await AppendManyAsync(wal, 1, 1);
            Assert.Equal(2, await wal.AppendAsync(2, Payload(2, 100_000)));
            await AppendManyAsync(wal, 3, 1);
        }

        var records = await ReadAllAsync(Fs, temp.Path);
        Assert.Equal(3, records.Count);
        Assert.True(records[1].Payload.Span.SequenceEqual(Payload(2, 100_000)));
        Assert.Equal(3, Fs.ListFiles(temp.Path).Count);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(1);
        }
    }
}
