using System.Globalization;
using Quiver.Protocol.Schema;

namespace Quiver.Wire;

/// <summary>Primary keys on the wire (<c>schema.IDs</c>: <c>int_id</c> for Int64 keys, <c>str_id</c> for VarChar) and in
/// the engine (boxed <c>long</c> or <c>string</c>, or a key column).</summary>
public static class PrimaryKeys
{
    /// <summary>The IDs of boxed keys of a key field.</summary>
    public static IDs ToIds(FieldSchema key, IEnumerable<object> keys)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(keys);
        var ids = new IDs();
        if (key.DataType == Quiver.DataType.Int64)
        {
            ids.IntId = new LongArray();
            ids.IntId.Data.AddRange(keys.Select(k => Convert.ToInt64(k, CultureInfo.InvariantCulture)));
        }
        else
        {
            ids.StrId = new StringArray();
            ids.StrId.Data.AddRange(keys.Select(k => (string)k));
        }

        return ids;
    }

    /// <summary>The IDs of a key column (Int64 or VarChar values).</summary>
    public static IDs ToIds(FieldColumn keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var ids = new IDs();
        if (keys.Longs is { } longs)
        {
            ids.IntId = new LongArray();
            ids.IntId.Data.AddRange(longs);
        }
        else
        {
            ids.StrId = new StringArray();
            ids.StrId.Data.AddRange((keys.Strings ?? []).Select(s => s ?? ""));
        }

        return ids;
    }

    /// <summary>The keys of IDs, boxed (<c>long</c> or <c>string</c>); none when it holds neither kind.</summary>
    public static List<object> FromIds(IDs? ids) => ids?.IdFieldCase switch
    {
        IDs.IdFieldOneofCase.IntId => [.. ids.IntId.Data.Select(k => (object)k)],
        IDs.IdFieldOneofCase.StrId => [.. ids.StrId.Data.Select(k => (object)k)],
        _ => [],
    };

    /// <summary>The number of keys IDs holds.</summary>
    public static int Count(IDs? ids) => ids?.IdFieldCase switch
    {
        IDs.IdFieldOneofCase.IntId => ids.IntId.Data.Count,
        IDs.IdFieldOneofCase.StrId => ids.StrId.Data.Count,
        _ => 0,
    };
}
