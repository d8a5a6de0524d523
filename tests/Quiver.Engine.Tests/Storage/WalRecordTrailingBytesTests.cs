using Quiver.Shards;
using Quiver.Storage;
using Quiver.Testing;
using Quiver.Writes;

namespace Quiver.Engine.Tests.Storage;

/// <summary>A WAL record whose payload decodes but leaves bytes over (written by another format, or a length that
/// stopped short) is refused, not applied from its first part: each record decoder checks that it read the whole
/// payload, and replay turns the refusal into a <see cref="CorruptionException"/> naming the WAL folder and the record.</summary>
public sealed class WalRecordTrailingBytesTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly QuiverOptions Options = new() { BackgroundMaintenance = false, Durability = DurabilityMode.Always };

    private static async Task<List<WalRecord>> ReadAsync(string folder)
    {
        var records = new List<WalRecord>();
        await using var wal = Wal.Open(PhysicalFileSystem.Instance, folder);
        wal.Replay(1, r => records.Add(r with { Payload = r.Payload.ToArray() }));
        return records;
    }

    private static byte[] WithTrailing(ReadOnlyMemory<byte> payload) => [.. payload.Span, 0, 0, 0, 0];

    [Fact]
    public async Task InsertRecord_WithBytesAfterTheBatch_IsCorruptionAtReplay_NotARowApplied()
    {
        string walFolder;
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            await db.CreateCollectionAsync("c", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("n", DataType.Int64), FieldSchema.Vector("vec", 2, MetricType.L2)],
            });
            await db.InsertAsync("c", [new Row { ["id"] = 1L, ["n"] = 7L, ["vec"] = new float[] { 1, 2 } }]);
            await db.DeleteAsync("c", [1L]);
            walFolder = db.ShardOf("c").WalFolder;
        }

        // The insert's record again (the key is free after the delete), with four bytes after its batch.
        var records = await ReadAsync(walFolder);
        var insert = records.Single(r => r.Type == WalRecords.InsertFields);
        long lsn;
        await using (var wal = Wal.Open(PhysicalFileSystem.Instance, walFolder))
        {
            wal.Replay(1, _ => { });
            lsn = await wal.AppendAsync(WalRecords.InsertFields, WithTrailing(insert.Payload));
        }

        var ex = await Assert.ThrowsAsync<CorruptionException>(async () =>
        {
            await using var db = await QuiverEngine.OpenAsync(_dir.Path, Options);
            await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["count(*)"] });
        });
        Assert.Contains($"WAL record {lsn} (type {WalRecords.InsertFields}) is malformed: 4 bytes follow the write record's last field", ex.Message, StringComparison.Ordinal);
        Assert.Contains(walFolder, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeleteRecords_WithBytesAfterTheLastField_AreRefused_AndWholeOnesDecode()
    {
        var keys = WalRecords.EncodeDeleteKeys(5, WalRecords.AllPartitions, [new PrimaryKey(3), new PrimaryKey("k")]);
        Assert.Equal([new PrimaryKey(3), new PrimaryKey("k")], WalRecords.DecodeDeleteKeys(keys.Span).Keys);
        var e1 = Assert.Throws<FormatException>(() => WalRecords.DecodeDeleteKeys(WithTrailing(keys)));
        Assert.Equal($"4 bytes follow the delete record's last field at offset {keys.Length} (after 2 keys)", e1.Message);

        var filter = WalRecords.EncodeDeleteFilter(6, 2, "n > 1", "{}");
        Assert.Equal((6L, 2L, "n > 1", "{}"), WalRecords.DecodeDeleteFilter(filter.Span));
        var e2 = Assert.Throws<FormatException>(() => WalRecords.DecodeDeleteFilter(WithTrailing(filter)));
        Assert.Equal($"4 bytes follow the delete-by-filter record's last field at offset {filter.Length} (after its filter and parameters)", e2.Message);
    }
}
