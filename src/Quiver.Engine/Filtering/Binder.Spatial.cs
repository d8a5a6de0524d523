using Quiver.Spatial;

namespace Quiver.Filtering;

/// <summary>Milvus's geometry operators, <c>ST_INTERSECTS(geo_field, 'WKT')</c> and its kin (ST_EQUALS, ST_TOUCHES,
/// ST_OVERLAPS, ST_CROSSES, ST_CONTAINS, ST_WITHIN; ST_DWITHIN is refused): the name all upper or all lower case, a
/// GEOMETRY field first and a WKT constant second, the constant parsed once at bind time.</summary>
internal sealed partial class Binder
{
    private static readonly string[] SpatialNames =
        ["st_equals", "st_touches", "st_overlaps", "st_crosses", "st_contains", "st_intersects", "st_within", "st_dwithin"];

    /// <summary>The predicate for a geometry operator call, or null when <paramref name="call"/> names none.</summary>
    private PredicateNode? TryBindSpatial(CallSyntax call)
    {
        var name = call.Name.ToLowerInvariant();
        if (Array.IndexOf(SpatialNames, name) < 0)
        {
            return null;
        }

        if (call.Name != name && call.Name != name.ToUpperInvariant())
        {
            throw Error($"geometry operator names are all upper or all lower case: write {name.ToUpperInvariant()} or {name}, not {call.Name}", call);
        }

        if (name == "st_dwithin")
        {
            throw Error($"{call.Name} is not supported by Quiver yet (Milvus measures its distance in meters on the Earth); the other geometry operators are", call);
        }

        CheckArity(call, 2);
        var field = BindValue(call.Args[0]);
        if (field is not FieldNode { Field.DataType: DataType.Geometry } geo)
        {
            throw Error($"the first argument of {call.Name} must be a GEOMETRY field, not {Describe(field)}", field);
        }

        var arg = BindValue(call.Args[1]);
        if (arg is not ConstNode { Value.Kind: ScalarKind.String } wkt)
        {
            throw Error($"the second argument of {call.Name} must be a WKT string, not {Describe(arg)}", arg);
        }

        var shape = Wkt.TryParse(wkt.Value.String, out var error)
            ?? throw Error($"the second argument of {call.Name} is not valid WKT: {error}", arg);
        return new SpatialPredicate(geo, shape, name);
    }
}

/// <summary>A geometry operator over a GEOMETRY column, the row's value first: a null row is unknown, a stored value is
/// tested exactly against the constant (<see cref="Predicates.Intersects"/>, the others by <see cref="Relate.Holds"/>).</summary>
internal sealed class SpatialPredicate(FieldNode field, Shape constant, string name) : RowPredicate
{
    public override Tri Test(EvalContext ctx, int row)
    {
        var v = field.GetRow(ctx, row);
        if (v.IsMissing || v.Kind != ScalarKind.String)
        {
            return Tri.Unknown;
        }

        // Stored values were validated and canonicalized on the way in, so a parse failure here is corruption.
        var stored = Wkt.TryParse(v.String, out var error)
            ?? throw new InvalidOperationException($"stored geometry of field '{field.Name}' is not valid WKT: {error}");
        var holds = name == "st_intersects" ? Predicates.Intersects(stored, constant) : Relate.Holds(name, stored, constant);
        return holds ? Tri.True : Tri.False;
    }
}
