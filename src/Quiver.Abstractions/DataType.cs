namespace Quiver;

/// <summary>Field data types. The numeric values are Milvus's <c>schema.DataType</c> numbers so that the
/// wire adapters can pass them through unchanged.</summary>
public enum DataType
{
    /// <summary>true / false.</summary>
    Bool = 1,
    /// <summary>Signed 8-bit integer.</summary>
    Int8 = 2,
    /// <summary>Signed 16-bit integer.</summary>
    Int16 = 3,
    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 4,
    /// <summary>Signed 64-bit integer; the usual primary key type.</summary>
    Int64 = 5,
    /// <summary>IEEE 754 single precision.</summary>
    Float = 10,
    /// <summary>IEEE 754 double precision.</summary>
    Double = 11,
    /// <summary>UTF-8 string with a maximum length in bytes (<see cref="FieldSchema.MaxLength"/>).</summary>
    VarChar = 21,
    /// <summary>Array of one scalar element type with a maximum capacity.</summary>
    Array = 22,
    /// <summary>A JSON document.</summary>
    Json = 23,
    /// <summary>A planar geometry (OGC simple features), given and returned as WKT; stored as its canonical WKT text.</summary>
    Geometry = 24,
    /// <summary>A point in time with a time zone, given as ISO 8601 text; stored as UTC microseconds since the Unix epoch.</summary>
    Timestamptz = 26,
    /// <summary>Binary vector of a fixed dimension in bits (a multiple of 8), one bit per component.</summary>
    BinaryVector = 100,
    /// <summary>Dense float32 vector of a fixed dimension.</summary>
    FloatVector = 101,
    /// <summary>Dense IEEE 754 half-precision vector of a fixed dimension.</summary>
    Float16Vector = 102,
    /// <summary>Dense bfloat16 vector (the upper half of a float32) of a fixed dimension.</summary>
    BFloat16Vector = 103,
    /// <summary>Sparse float32 vector (<see cref="Quiver.SparseVector"/>): ascending indices below 2^32 - 1 with their
    /// values; no fixed dimension. Metric IP.</summary>
    SparseFloatVector = 104,
    /// <summary>Dense signed 8-bit integer vector of a fixed dimension.</summary>
    Int8Vector = 105,
}

/// <summary>How vector distance is measured.</summary>
public enum MetricType
{
    /// <summary>Squared Euclidean distance; smaller is closer. Reported as the squared distance, as Milvus does.</summary>
    L2 = 0,
    /// <summary>Inner product; larger is closer.</summary>
    IP = 1,
    /// <summary>Cosine similarity in [-1, 1]; larger is closer. Zero vectors are rejected.</summary>
    Cosine = 2,
    /// <summary>Binary vectors: the number of differing bits; smaller is closer.</summary>
    Hamming = 3,
    /// <summary>Binary vectors: 1 - |a AND b| / |a OR b|, in [0, 1]; smaller is closer.</summary>
    Jaccard = 4,
    /// <summary>Okapi BM25 relevance of a text to the rows of a BM25 function's output field; larger is closer.</summary>
    BM25 = 5,
}

/// <summary>Helpers on <see cref="DataType"/>.</summary>
public static class DataTypeExtensions
{
    /// <summary>True for Int8, Int16, Int32 and Int64.</summary>
    public static bool IsInteger(this DataType type) => type is DataType.Int8 or DataType.Int16 or DataType.Int32 or DataType.Int64;

    /// <summary>True for Float and Double.</summary>
    public static bool IsFloatingPoint(this DataType type) => type is DataType.Float or DataType.Double;

    /// <summary>True for the vector types of a fixed dimension: FLOAT, FLOAT16, BFLOAT16, INT8, BINARY.</summary>
    public static bool IsDenseVector(this DataType type) =>
        type is DataType.FloatVector or DataType.Float16Vector or DataType.BFloat16Vector or DataType.Int8Vector or DataType.BinaryVector;

    /// <summary>True for integers and floating point.</summary>
    public static bool IsNumeric(this DataType type) => type.IsInteger() || type.IsFloatingPoint();

    /// <summary>True for types that can be array elements.</summary>
    public static bool IsArrayElement(this DataType type) => type.IsNumeric() || type is DataType.Bool or DataType.VarChar;

    /// <summary>The type whose column holds this type's values: Int64 (UTC microseconds) for Timestamptz, VarChar
    /// (canonical WKT) for Geometry, the type itself otherwise.</summary>
    public static DataType Storage(this DataType type) => type switch
    {
        DataType.Timestamptz => DataType.Int64,
        DataType.Geometry => DataType.VarChar,
        _ => type,
    };

    /// <summary>Inclusive range of an integer type.</summary>
    public static (long Min, long Max) IntegerRange(this DataType type) => type switch
    {
        DataType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
        DataType.Int16 => (short.MinValue, short.MaxValue),
        DataType.Int32 => (int.MinValue, int.MaxValue),
        DataType.Int64 => (long.MinValue, long.MaxValue),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an integer type"),
    };
}
