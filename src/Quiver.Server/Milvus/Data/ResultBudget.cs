using System.Globalization;

namespace Quiver.Server.Milvus.Data;

/// <summary>
/// The per-request result budget (<see cref="Hosting.MemoryOptions.MaxResultBytes"/>), checked before a search or
/// query runs: the most hits (or rows) the request can return times an estimate of the bytes each costs the server
/// while the answer is built. A request over the budget is refused with code 1102 naming the estimate, the budget and
/// the setting, instead of building an answer that takes gigabytes.
/// </summary>
internal static class ResultBudget
{
    /// <summary>The server's own bytes per hit or row while an answer is built, besides its values: the engine's hit
    /// record and row dictionary, the boxed key, the top-k heap entry and sorted copy, the lists and the protobuf columns.
    /// Measured: a FLAT search of 819,200 hits without output fields raised the RSS of <c>quiver serve</c> by 323 MB,
    /// 394 bytes a hit (<c>SearchMemoryTests</c>).</summary>
    public const int OverheadBytes = 400;

    /// <summary>The estimate for one value of a variable-length field (VarChar up to its max length, JSON, Array, each
    /// dynamic key): actual values are only known once read.</summary>
    public const int VariableBytes = 256;

    /// <summary>The setting that holds the budget, for messages.</summary>
    public const string Setting = "Memory:MaxResultBytes";

    /// <summary>Estimated bytes of one hit (search) or row (query) returning <paramref name="output"/>: the overhead,
    /// the primary key, the score, and every output field.</summary>
    public static long BytesPerItem(Quiver.CollectionSchema schema, OutputFields output, bool withScore)
    {
        long bytes = OverheadBytes + (withScore ? sizeof(float) : 0) + FieldBytes(schema.PrimaryKey);
        // By index: a foreach over the interface boxed the list's enumerator on every search.
        var declared = output.Declared;
        for (var i = 0; i < declared.Count; i++)
        {
            if (!declared[i].IsPrimaryKey)
            {
                bytes += FieldBytes(declared[i]);
            }
        }
        return bytes + ((output.AllDynamic ? 1 : output.DynamicKeys.Count) * (long)VariableBytes);
    }

    /// <summary>Refuses (code 1102) when <paramref name="items"/> × <paramref name="bytesPerItem"/> exceeds
    /// <paramref name="budget"/>; returns the estimate otherwise. <paramref name="shape"/> says where the count comes from
    /// (e.g. <c>nq 1000 × topk 100</c>).</summary>
    public static long Check(long items, long bytesPerItem, long budget, string what, string shape) =>
        Check<string>(items, bytesPerItem, budget, what, shape);

    /// <summary>As <see cref="Check(long, long, long, string, string)"/>, with a shape that is formatted only for the
    /// refusal (a search's shape names five numbers; formatting it on every call cost a string per search).</summary>
    public static long Check<TShape>(long items, long bytesPerItem, long budget, string what, TShape shape)
    {
        var estimate = items > long.MaxValue / Math.Max(1, bytesPerItem) ? long.MaxValue : items * bytesPerItem;
        if (estimate <= budget)
        {
            return estimate;
        }
        throw new MilvusException(MilvusCode.ParameterTooLarge, string.Create(CultureInfo.InvariantCulture,
            $"{what} result too large: {shape} = {items} results × ~{bytesPerItem} bytes each ≈ {estimate} bytes exceeds the result budget of {budget} bytes; ask for fewer results (nq, topk, limit) or fewer output fields, or raise {Setting}"));
    }

    private static long FieldBytes(Quiver.FieldSchema field) => field.DataType switch
    {
        Quiver.DataType.Bool or Quiver.DataType.Int8 => 1,
        Quiver.DataType.Int16 => 2,
        Quiver.DataType.Int32 or Quiver.DataType.Float => 4,
        Quiver.DataType.Int64 or Quiver.DataType.Double => 8,
        Quiver.DataType.FloatVector => 4L * (field.Dimension ?? 0),
        Quiver.DataType.VarChar => Math.Min(field.MaxLength ?? VariableBytes, VariableBytes),
        _ => VariableBytes,
    };
}
