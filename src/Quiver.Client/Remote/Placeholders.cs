using System.Buffers.Binary;
using Google.Protobuf;
using Quiver.Protocol.Common;

namespace Quiver.Client.Remote;

/// <summary>
/// Writes Milvus's <c>common.PlaceholderGroup</c>, the bytes of <c>SearchRequest.placeholder_group</c>: one
/// placeholder tagged <c>$0</c> whose values are the queries, of the searched field's type (FloatVector: each as
/// little-endian float32 components; other types see <see cref="Encode(FieldSchema, SearchRequest)"/>).
/// </summary>
internal static class Placeholders
{
    /// <summary>Milvus's PlaceholderType.FloatVector.</summary>
    public const int FloatVectorType = (int)PlaceholderType.FloatVector;

    /// <summary>The tag Milvus SDKs give the one placeholder of a search.</summary>
    public const string Tag = "$0";

    /// <summary>The serialized PlaceholderGroup of the query vectors.</summary>
    public static byte[] Encode(IReadOnlyList<float[]> vectors)
    {
        var value = new PlaceholderValue { Tag = Tag, Type = PlaceholderType.FloatVector };
        for (var i = 0; i < vectors.Count; i++)
        {
            var vector = vectors[i] ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, $"search: query vector {i} is null");
            var bytes = new byte[vector.Length * sizeof(float)];
            for (var d = 0; d < vector.Length; d++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(d * sizeof(float)), vector[d]);
            }

            value.Values.Add(UnsafeByteOperations.UnsafeWrap(bytes));
        }

        return new PlaceholderGroup { Placeholders = { value } }.ToByteArray();
    }

    /// <summary>The serialized PlaceholderGroup of a search of <paramref name="field"/>, in the form Milvus's SDKs send for
    /// its type: query texts as VarChar placeholders (a BM25 or TextEmbedding output field searched by text), sparse
    /// queries in Milvus's sparse row bytes, FLOAT16 / BFLOAT16 / INT8 as their little-endian wire rows, BINARY as dim/8
    /// bytes (the engine's query form gives their values 0..255), FLOAT as float32.</summary>
    public static byte[] Encode(FieldSchema field, SearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(request);
        PlaceholderValue value;
        if (request.QueryTexts is { Count: > 0 } texts)
        {
            value = new PlaceholderValue { Tag = Tag, Type = PlaceholderType.VarChar };
            value.Values.Add(texts.Select(t => ByteString.CopyFromUtf8(t ?? throw Invalid("search: a query text is null"))));
        }
        else if (request.SparseVectors is { Count: > 0 } sparse)
        {
            value = new PlaceholderValue { Tag = Tag, Type = PlaceholderType.SparseFloatVector };
            value.Values.Add(sparse.Select(v => UnsafeByteOperations.UnsafeWrap((v ?? throw Invalid("search: a sparse query is null")).ToBytes())));
        }
        else if (field.DataType is DataType.FloatVector or DataType.SparseFloatVector)
        {
            return Encode(request.Vectors);
        }
        else
        {
            value = new PlaceholderValue { Tag = Tag, Type = (PlaceholderType)(int)field.DataType };
            for (var i = 0; i < request.Vectors.Count; i++)
            {
                var q = request.Vectors[i] ?? throw Invalid($"search: query vector {i} is null");
                value.Values.Add(UnsafeByteOperations.UnsafeWrap(field.DataType == DataType.BinaryVector ? BinaryQuery(q, i) : VectorCodec.Encode(field, q)));
            }
        }

        return new PlaceholderGroup { Placeholders = { value } }.ToByteArray();
    }

    private static byte[] BinaryQuery(float[] q, int index)
    {
        var bytes = new byte[q.Length];
        for (var j = 0; j < q.Length; j++)
        {
            bytes[j] = q[j] is >= 0 and <= 255 && q[j] == MathF.Floor(q[j])
                ? (byte)q[j]
                : throw Invalid($"search: binary query vector {index} holds {q[j]} at {j}; give byte values 0..255");
        }

        return bytes;
    }

    private static QuiverException Invalid(string message) => new(QuiverErrorCode.InvalidArgument, message);
}
