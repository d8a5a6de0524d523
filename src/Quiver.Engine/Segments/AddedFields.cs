using Quiver.Writes;

namespace Quiver.Segments;

/// <summary>Fields added to a collection after some of its rows were written (AddCollectionField). Such a field is
/// nullable, maybe with a default value; every row written before it reads that default, or null. A sealed segment
/// written before the add keeps its file as it is and gets the field as a column built in memory when it is opened (or
/// when the field is added); a compaction or merge writes the column into the new file like any other.</summary>
internal static class AddedFields
{
    /// <summary>A column of <paramref name="count"/> rows, each the field's default value or null: O(rows) memory, built
    /// once per sealed segment.</summary>
    public static ScalarStore Column(FieldSchema field, int count)
    {
        var store = new ScalarStore(field, Math.Max(1, count));
        store.Append(ColumnValidator.Missing(field, count, "add field"), 0, count, 0);
        return store;
    }

    /// <summary>A batch validated against an older schema (the field was added between its validation and its write),
    /// with a column for each field the current schema adds: every row takes the default, or null. The same batch when
    /// nothing was added.</summary>
    public static RowBatch Widen(RowBatch batch, CollectionSchema schema)
    {
        var had = batch.Schema.Fields.Length;
        if (had == schema.Fields.Length)
        {
            return batch;
        }

        var columns = new BatchColumn[schema.Fields.Length];
        Array.Copy(batch.Columns, columns, had);
        for (var f = had; f < columns.Length; f++)
        {
            columns[f] = ColumnValidator.Missing(schema.Fields[f], batch.Count, "add field");
        }

        return new RowBatch { Schema = schema, Count = batch.Count, Columns = columns, Dynamic = batch.Dynamic };
    }
}
