namespace Quiver.Shards;

internal sealed partial class Shard
{
    /// <summary>Applies a write to a partition-key collection: the whole batch's keys are checked first (so an insert is
    /// refused whole or applied whole), then each partition's rows are appended to that partition, all at one timestamp.
    /// Deterministic, as <see cref="Apply"/> must be: the partitions of such a collection never change.</summary>
    private long ApplyByPartitionKey(long ts, Writes.RowBatch batch, bool upsert, bool replay)
    {
        if (!upsert)
        {
            RefuseExistingKeys(batch);
        }

        var key = Schema.IndexOf(PartitionKeys.KeyField(Schema)!.Name);
        long applied = 0;
        foreach (var (partition, rows) in PartitionKeys.Split(batch, key, Meta.Partitions.Count))
        {
            applied += ApplyWrite(ts, Meta.Partitions[partition].Id, rows, upsert, replay);
        }

        return applied;
    }
}
