using Quiver.Shards;
using Quiver.Writes;

namespace Quiver.Engine.Tests.Storage;

/// <summary>The shard's write records (docs/format-wal.md, "Record payloads"): an insert or upsert names how many fields
/// its rows hold, so a reader of the log knows their layout without the catalog (a cluster's replica meets the first row
/// laid out with a field added, AddCollectionField). The oracle: the rows the record was made from, and the field's
/// default or null for a field the rows do not hold.</summary>
public sealed class WalRecordsTests
{
    private static readonly CollectionSchema Before = new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("tag", 16, nullable: true), FieldSchema.Vector("vec", 2, MetricType.L2)],
    };

    /// <summary>Rows encoded under a schema are read back equal under it, under the schema with a field added after them
    /// (the field null in each row), and not under a schema with fewer fields (<see cref="InvalidDataException"/>, which
    /// replay reports as corruption); the field count is read from the record alone, and is not there in an insert of an
    /// older log (type 1).</summary>
    [Fact]
    public void AWriteRecord_NamesItsFieldCount_AndReadsUnderASchemaWithFieldsAddedAfterIt()
    {
        var batch = RowValidator.Build(Before, [Row(1, "a"), Row(2, null), Row(3, "c")], upsert: false, autoIds: null);
        var payload = WalRecords.EncodeWrite(ts: 77, partitionId: 5, batch);

        Assert.Equal(3, WalRecords.FieldCount(WalRecords.InsertFields, payload.Span));
        Assert.Equal(3, WalRecords.FieldCount(WalRecords.UpsertFields, payload.Span));
        Assert.Null(WalRecords.FieldCount(WalRecords.Insert, payload.Span));

        var (ts, partition, same) = WalRecords.DecodeWrite(Before, WalRecords.InsertFields, payload.Span);
        Assert.Equal((77L, 5L), (ts, partition));
        AssertRows(same);

        var after = Before with { Fields = Before.Fields.Add(FieldSchema.VarChar("note", 8, nullable: true)) };
        var (_, _, widened) = WalRecords.DecodeWrite(after, WalRecords.UpsertFields, payload.Span);
        Assert.Same(after, widened.Schema);
        AssertRows(widened);
        Assert.Equal(new[] { true, true, true }, widened.Columns[3].Nulls);

        var fewer = Before with { Fields = [Before.Fields[0], Before.Fields[2]] };
        var refused = Assert.Throws<InvalidDataException>(() => WalRecords.DecodeWrite(fewer, WalRecords.InsertFields, payload.Span));
        Assert.Equal("the write's rows hold 3 fields and the collection's schema has 2", refused.Message);
    }

    private static void AssertRows(RowBatch batch)
    {
        Assert.Equal(3, batch.Count);
        Assert.Equal(new long[] { 1, 2, 3 }, batch.Columns[0].Longs);
        Assert.Equal(new[] { false, true, false }, batch.Columns[1].Nulls);
        Assert.Equal("a", batch.Columns[1].Strings![0]);
        Assert.Equal("c", batch.Columns[1].Strings![2]);
        Assert.Equal(new float[] { 1, 0, 2, 0, 3, 0 }, batch.Columns[2].Vectors);
    }

    private static Dictionary<string, object?> Row(long id, string? tag) => new() { ["id"] = id, ["tag"] = tag, ["vec"] = new[] { (float)id, 0f } };
}
