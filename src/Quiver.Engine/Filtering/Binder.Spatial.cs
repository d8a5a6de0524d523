using Quiver.Spatial;

namespace Quiver.Filtering;

/// <summary>Milvus's geometry operators, <c>ST_INTERSECTS(geo_field, 'WKT')</c> and its kin (ST_EQUALS, ST_TOUCHES,
/// ST_OVERLAPS, ST_CROSSES, ST_CONTAINS, ST_WITHIN) and <c>ST_DWITHIN(geo_field, 'POINT (lon lat)', meters)</c>: the
/// name all upper or all lower case, a GEOMETRY field first and a WKT constant second, the constant parsed once at bind
/// time; ST_DWITHIN's constant must be a point and its third argument a non-negative number.</summary>
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

        CheckArity(call, name == "st_dwithin" ? 3 : 2);
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
        return name == "st_dwithin" ? BindDWithin(call, geo, shape, arg) : new SpatialPredicate(geo, shape, name);
    }

    /// <summary>ST_DWITHIN's point and distance checked, as Milvus checks them: the constant a non-empty POINT, the
    /// distance a constant number (integer or float), finite and not negative.</summary>
    private DWithinPredicate BindDWithin(CallSyntax call, FieldNode geo, Shape shape, ValueNode pointArg)
    {
        if (shape.Kind != GeometryKind.Point || shape.IsEmpty)
        {
            var what = shape.IsEmpty ? "an empty " + Wkt.NameOf(shape.Kind) : "a " + Wkt.NameOf(shape.Kind);
            throw Error($"the second argument of {call.Name} must be a POINT (longitude latitude), not {what}", pointArg);
        }

        var distance = BindValue(call.Args[2]);
        if (distance is not ConstNode { Value.IsNumber: true } meters)
        {
            throw Error($"the third argument of {call.Name} must be a constant distance in meters (an integer or a float), not {Describe(distance)}", distance);
        }

        var value = meters.Value.Kind == ScalarKind.Long ? meters.Value.Long : meters.Value.Double;
        if (!double.IsFinite(value) || value < 0)
        {
            throw Error($"the distance of {call.Name} must be a finite number of meters, not negative, got {meters.Value}", distance);
        }

        return new DWithinPredicate(geo, shape.Coords[0], value);
    }
}

/// <summary>A geometry operator over a GEOMETRY column, the row's value first: a null row is unknown, a stored value is
/// tested exactly against the constant (<see cref="Predicates.Intersects"/>, the others by <see cref="Relate.Holds"/>).</summary>
internal sealed class SpatialPredicate(FieldNode field, Shape constant, string name) : RowPredicate
{
    public override Tri Test(EvalContext ctx, int row)
    {
        if (Stored(field, ctx, row) is not { } stored)
        {
            return Tri.Unknown;
        }

        var holds = name == "st_intersects" ? Predicates.Intersects(stored, constant) : Relate.Holds(name, stored, constant);
        return holds ? Tri.True : Tri.False;
    }

    /// <summary>The row's geometry, or null when the row holds none (null or missing).</summary>
    internal static Shape? Stored(FieldNode field, EvalContext ctx, int row)
    {
        var v = field.GetRow(ctx, row);
        if (v.IsMissing || v.Kind != ScalarKind.String)
        {
            return null;
        }

        // Stored values were validated and canonicalized on the way in, so a parse failure here is corruption.
        return Wkt.TryParse(v.String, out var error)
            ?? throw new InvalidOperationException($"stored geometry of field '{field.Name}' is not valid WKT: {error}");
    }
}

/// <summary>ST_DWITHIN over a GEOMETRY column: a null row is unknown (as for the other operators), a stored value is
/// within when its distance from the point by Milvus's rule (<see cref="DWithin"/>) is at most the meters given.</summary>
internal sealed class DWithinPredicate(FieldNode field, Coord point, double meters) : RowPredicate
{
    public override Tri Test(EvalContext ctx, int row) => SpatialPredicate.Stored(field, ctx, row) switch
    {
        null => Tri.Unknown,
        var stored => DWithin.Holds(stored, point, meters) ? Tri.True : Tri.False,
    };
}
