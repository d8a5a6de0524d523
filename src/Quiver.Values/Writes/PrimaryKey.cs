namespace Quiver.Writes;

/// <summary>A primary key value: Int64 or VarChar. Equality and hashing follow the value.</summary>
internal readonly record struct PrimaryKey
{
    public PrimaryKey(long value)
    {
        Int = value;
        Str = null;
    }

    public PrimaryKey(string value)
    {
        Int = 0;
        Str = value;
    }

    public long Int { get; }

    public string? Str { get; }

    public bool IsString => Str is not null;

    public object Boxed => Str is null ? Int : Str;

    public override string ToString() => Str is null ? Int.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"\"{Str}\"";

    public static PrimaryKey From(FieldSchema pk, object value, string where)
    {
        var v = ValueConverter.ConvertScalar(pk, value, out var error);
        if (error is not null)
        {
            Throw.Invalid($"{where}: primary key '{pk.Name}': {error}");
        }

        return v is string s ? new PrimaryKey(s) : new PrimaryKey((long)v!);
    }
}
