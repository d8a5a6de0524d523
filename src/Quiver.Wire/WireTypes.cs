using Proto = Quiver.Protocol.Schema;

namespace Quiver.Wire;

/// <summary>Milvus's data types and the engine's: one mapping for the server and the client, each of which words its
/// own refusal of a type the engine does not hold.</summary>
public static class WireTypes
{
    /// <summary>The engine type of a Milvus data type (<c>String</c> is VarChar), or null when the engine has none.</summary>
    public static DataType? ToEngine(Proto.DataType type) => type switch
    {
        Proto.DataType.Bool => DataType.Bool,
        Proto.DataType.Int8 => DataType.Int8,
        Proto.DataType.Int16 => DataType.Int16,
        Proto.DataType.Int32 => DataType.Int32,
        Proto.DataType.Int64 => DataType.Int64,
        Proto.DataType.Float => DataType.Float,
        Proto.DataType.Double => DataType.Double,
        Proto.DataType.VarChar or Proto.DataType.String => DataType.VarChar,
        Proto.DataType.Array => DataType.Array,
        Proto.DataType.Json => DataType.Json,
        Proto.DataType.Geometry => DataType.Geometry,
        Proto.DataType.Timestamptz => DataType.Timestamptz,
        Proto.DataType.FloatVector => DataType.FloatVector,
        Proto.DataType.Float16Vector => DataType.Float16Vector,
        Proto.DataType.Bfloat16Vector => DataType.BFloat16Vector,
        Proto.DataType.Int8Vector => DataType.Int8Vector,
        Proto.DataType.BinaryVector => DataType.BinaryVector,
        Proto.DataType.SparseFloatVector => DataType.SparseFloatVector,
        _ => null,
    };
}
