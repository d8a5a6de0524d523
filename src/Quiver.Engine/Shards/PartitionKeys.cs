using System.Text;
using Quiver.Catalog;
using Quiver.Filtering;
using Quiver.Writes;

namespace Quiver.Shards;

/// <summary>Milvus's partition key (<c>is_partition_key</c>, <c>num_partitions</c>): a collection whose schema marks one
/// Int64 or VarChar field as its partition key is created with <see cref="CollectionSchema.NumPartitions"/> partitions
/// named <c>_default_0</c> … (Milvus's names), every row goes to the partition its key value hashes to, and a read whose
/// filter pins the key (<c>key == v</c>, <c>key in [...]</c>, under ANDs and across ORs) reads only the partitions those
/// values hash to. Partitions are then the engine's business: creating and dropping them, and naming them in writes and
/// reads, is refused as Milvus refuses it.
/// <para>The hash is Quiver's own and stable across versions (it decides where rows already written live): for Int64
/// the 64-bit finalizer of MurmurHash3 (fmix64), for VarChar 32-bit FNV-1a over the UTF-8 bytes; the partition is the
/// hash modulo the partition count. Milvus's own assignment of keys to its hidden partitions is not reproduced (nothing
/// a client sees depends on it).</para></summary>
internal static class PartitionKeys
{
    /// <summary>Milvus's default number of partitions for a partition-key collection.</summary>
    public const int DefaultPartitions = 16;

    /// <summary>The most partitions a partition-key collection may have (Milvus's default maxPartitionNum).</summary>
    public const int MaxPartitions = 1024;

    /// <summary>The refusal Milvus gives for partition names in a write or read of a partition-key collection.</summary>
    public const string NamesRefused = "not support manually specifying the partition names if partition key mode is used";

    /// <summary>The partition-key field, or null when the collection has none.</summary>
    public static FieldSchema? KeyField(CollectionSchema schema)
    {
        foreach (var f in schema.Fields)
        {
            if (f.IsPartitionKey)
            {
                return f;
            }
        }

        return null;
    }

    /// <summary>The partitions a new collection starts with: <c>_default</c>, or with a partition key
    /// <c>_default_0</c> … <c>_default_{n-1}</c>.</summary>
    public static List<PartitionMeta> InitialPartitions(CollectionSchema schema, Func<long> allocateId)
    {
        if (KeyField(schema) is null)
        {
            return [new PartitionMeta { Id = allocateId(), Name = CatalogNames.DefaultPartition }];
        }

        var list = new List<PartitionMeta>(schema.NumPartitions);
        for (var i = 0; i < schema.NumPartitions; i++)
        {
            list.Add(new PartitionMeta { Id = allocateId(), Name = $"{CatalogNames.DefaultPartition}_{i}" });
        }

        return list;
    }

    /// <summary>Checks the schema's partition-key rules (Milvus's): at most one key field, Int64 or VarChar, not the
    /// primary key, not nullable; <see cref="CollectionSchema.NumPartitions"/> only with a key, within 1..1024.</summary>
    public static void Validate(CollectionSchema schema)
    {
        FieldSchema? key = null;
        foreach (var f in schema.Fields)
        {
            if (!f.IsPartitionKey)
            {
                continue;
            }

            if (key is not null)
            {
                Throw.Invalid($"there are more than one partition key, field name = {key.Name}, {f.Name}");
            }

            if (f.IsPrimaryKey)
            {
                Throw.Invalid($"the partition key field must not be primary field ('{f.Name}')");
            }

            if (f.DataType is not (DataType.Int64 or DataType.VarChar))
            {
                Throw.Invalid($"the data type of partition key should be Int64 or VarChar, field '{f.Name}' is {f.DataType}");
            }

            if (f.Nullable)
            {
                Throw.Invalid($"partition key field not support nullable: '{f.Name}'");
            }

            key = f;
        }

        if (key is null && schema.NumPartitions != 0)
        {
            Throw.Invalid("num_partitions should only be specified with partition key field enabled");
        }

        if (key is not null && schema.NumPartitions is < 0 or > MaxPartitions)
        {
            Throw.Invalid($"partition number ({schema.NumPartitions}) must be between 1 and {MaxPartitions} with a partition key");
        }
    }

    /// <summary>The index, among a partition-key collection's partitions, that a key value goes to.</summary>
    public static int PartitionOf(object value, int partitions) => (int)(Hash(value) % (uint)partitions);

    /// <summary>The stable hash of a key value (long or string).</summary>
    public static uint Hash(object value) => value switch
    {
        long l => Mix(l),
        string s => Fnv1a(s),
        _ => throw new ArgumentException($"a partition key value is a long or a string, not {value.GetType()}", nameof(value)),
    };

    /// <summary>Splits a validated batch of a partition-key collection by partition: for each partition index that gets
    /// rows, the sub-batch of its rows in batch order.</summary>
    public static List<(int Partition, RowBatch Rows)> Split(RowBatch batch, int keyField, int partitions)
    {
        var column = batch.Columns[keyField];
        var of = new int[batch.Count];
        var counts = new int[partitions];
        for (var i = 0; i < batch.Count; i++)
        {
            of[i] = column.Longs is { } longs ? PartitionOf(longs[i], partitions) : PartitionOf(column.Strings![i]!, partitions);
            counts[of[i]]++;
        }

        var result = new List<(int, RowBatch)>();
        for (var p = 0; p < partitions; p++)
        {
            if (counts[p] == 0)
            {
                continue;
            }

            if (counts[p] == batch.Count)
            {
                return [(p, batch)];
            }

            var rows = new int[counts[p]];
            var n = 0;
            for (var i = 0; i < batch.Count; i++)
            {
                if (of[i] == p)
                {
                    rows[n++] = i;
                }
            }

            result.Add((p, Gather(batch, rows)));
        }

        return result;
    }

    /// <summary>The partition names a read of a partition-key collection needs: all (an empty list) unless its filter
    /// pins the key to a set of values, then the partitions those values hash to. Partition names given by the caller are
    /// refused (<see cref="NamesRefused"/>).</summary>
    public static IReadOnlyList<string> ReadScope(CollectionMeta meta, IReadOnlyList<string> requested, BoundFilter? filter)
    {
        if (KeyField(meta.Schema) is not { } key)
        {
            return requested;
        }

        if (requested.Count > 0)
        {
            Throw.Invalid(NamesRefused);
        }

        if (filter?.Expression.Root is not { } root || PinnedValues(root, key, filter.Parameters) is not { } values)
        {
            return requested;
        }

        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            names.Add(meta.Partitions[PartitionOf(v, meta.Partitions.Count)].Name);
        }

        // No value at all (an empty IN list): no row can match; one partition's read answers that as cheaply as any.
        return names.Count == 0 ? [meta.Partitions[0].Name] : [.. names];
    }

    /// <summary>The partition names a hybrid search needs: the union of its sub-requests' scopes (<see cref="ReadScope(CollectionMeta, IReadOnlyList{string}, BoundFilter?)"/>),
    /// so all (an empty list) as soon as one sub-request's filter does not pin the key. Every sub-request still applies its
    /// own filter, so reading another sub-request's partitions changes no result.</summary>
    public static IReadOnlyList<string> HybridReadScope(CollectionMeta meta, IReadOnlyList<string> requested, IReadOnlyList<BoundFilter?> filters)
    {
        if (KeyField(meta.Schema) is null)
        {
            return requested;
        }

        var union = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var filter in filters)
        {
            var scope = ReadScope(meta, requested, filter);
            if (scope.Count == 0)
            {
                return scope;
            }

            union.UnionWith(scope);
        }

        return [.. union];
    }

    /// <summary>The key values a filter confines matching rows to, or null when it does not confine them. Exact enough
    /// to be safe: every row the filter can match has its key in the set returned.</summary>
    private static HashSet<object>? PinnedValues(SyntaxNode node, FieldSchema key, IReadOnlyDictionary<string, object?>? parameters)
    {
        switch (node)
        {
            case ParenSyntax p:
                return PinnedValues(p.Inner, key, parameters);
            case LogicSyntax { Op: FilterOp.And } and:
            {
                HashSet<object>? pinned = null;
                foreach (var operand in and.Operands)
                {
                    if (PinnedValues(operand, key, parameters) is { } values)
                    {
                        pinned = pinned is null ? values : [.. pinned.Where(values.Contains)];
                    }
                }

                return pinned;
            }

            case LogicSyntax { Op: FilterOp.Or } or:
            {
                var union = new HashSet<object>();
                foreach (var operand in or.Operands)
                {
                    if (PinnedValues(operand, key, parameters) is not { } values)
                    {
                        return null;
                    }

                    union.UnionWith(values);
                }

                return union;
            }

            case BinarySyntax { Op: FilterOp.Eq } eq:
                return IsKey(eq.Left, key) && Value(eq.Right, key, parameters) is { } right ? [right]
                    : IsKey(eq.Right, key) && Value(eq.Left, key, parameters) is { } left ? [left]
                    : null;
            case InSyntax { Negated: false, List: ParamSyntax param } @in when IsKey(@in.Value, key):
            {
                // A template list (key in {values}): its items as the binder substitutes them.
                var bound = Binder.ParamValue(param, parameters);
                if (bound.Kind != ScalarKind.List)
                {
                    return null;
                }

                var set = new HashSet<object>();
                foreach (var item in bound.Items)
                {
                    if (KeyValue(item, key) is not { } v)
                    {
                        return null;
                    }

                    set.Add(v);
                }

                return set;
            }

            case InSyntax { Negated: false, List: ListSyntax list } @in when IsKey(@in.Value, key):
            {
                var set = new HashSet<object>();
                foreach (var item in list.Items)
                {
                    if (Value(item, key, parameters) is not { } v)
                    {
                        return null;
                    }

                    set.Add(v);
                }

                return set;
            }

            default:
                return null;
        }
    }

    private static bool IsKey(SyntaxNode node, FieldSchema key) =>
        node is IdentifierSyntax id && id.Name == key.Name || node is ParenSyntax p && IsKey(p.Inner, key);

    /// <summary>A literal or template placeholder as the key field stores it (long or string), or null for anything
    /// else.</summary>
    private static object? Value(SyntaxNode node, FieldSchema key, IReadOnlyDictionary<string, object?>? parameters) => node switch
    {
        ParenSyntax p => Value(p.Inner, key, parameters),
        ParamSyntax param => KeyValue(Binder.ParamValue(param, parameters), key),
        LiteralSyntax { Value: long l } when key.DataType == DataType.Int64 => l,
        LiteralSyntax { Value: string s } when key.DataType == DataType.VarChar => s,
        UnarySyntax { Op: FilterOp.Negate, Operand: LiteralSyntax { Value: long l } } when key.DataType == DataType.Int64 && l != long.MinValue => -l,
        _ => null,
    };

    /// <summary>A bound value as the key field stores it, or null when it is of another type (the filter then does not
    /// pin the key, and the read takes every partition).</summary>
    private static object? KeyValue(Scalar value, FieldSchema key) => value.Kind switch
    {
        ScalarKind.Long when key.DataType == DataType.Int64 => value.Long,
        ScalarKind.String when key.DataType == DataType.VarChar => value.String,
        _ => null,
    };

    private static uint Mix(long value)
    {
        var k = (ulong)value;
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdUL;
        k ^= k >> 33;
        k *= 0xc4ceb9fe1a85ec53UL;
        k ^= k >> 33;
        return (uint)k ^ (uint)(k >> 32);
    }

    private static uint Fnv1a(string value)
    {
        var hash = 2166136261u;
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetMaxByteCount(value.Length) <= buffer.Length ? buffer : new byte[Encoding.UTF8.GetByteCount(value)];
        var n = Encoding.UTF8.GetBytes(value, bytes);
        foreach (var b in bytes[..n])
        {
            hash = (hash ^ b) * 16777619u;
        }

        return hash;
    }

    /// <summary>The rows of <paramref name="batch"/> listed in <paramref name="rows"/>, as a batch of their own.</summary>
    private static RowBatch Gather(RowBatch batch, int[] rows)
    {
        var columns = new BatchColumn[batch.Columns.Length];
        for (var f = 0; f < columns.Length; f++)
        {
            var c = batch.Columns[f];
            columns[f] = new BatchColumn
            {
                Longs = Pick(c.Longs, rows),
                Doubles = Pick(c.Doubles, rows),
                Bools = Pick(c.Bools, rows),
                Strings = Pick(c.Strings, rows),
                Json = Pick(c.Json, rows),
                Sparse = Pick(c.Sparse, rows),
                Vectors = c.Vectors is { } v ? PickRows(v, batch.Count == 0 ? 0 : v.Length / batch.Count, rows) : null,
                Nulls = Pick(c.Nulls, rows),
            };
        }

        return new RowBatch { Schema = batch.Schema, Count = rows.Length, Columns = columns, Dynamic = Pick(batch.Dynamic, rows) };
    }

    private static T[]? Pick<T>(T[]? values, int[] rows)
    {
        if (values is null)
        {
            return null;
        }

        var picked = new T[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            picked[i] = values[rows[i]];
        }

        return picked;
    }

    private static float[] PickRows(float[] values, int width, int[] rows)
    {
        var picked = new float[rows.Length * width];
        for (var i = 0; i < rows.Length; i++)
        {
            values.AsSpan(rows[i] * width, width).CopyTo(picked.AsSpan(i * width));
        }

        return picked;
    }
}
