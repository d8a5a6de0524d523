using Microsoft.Extensions.AI;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace Quiver.VectorData;

/// <summary>Builds the abstraction's record model with Quiver's rules: keys are <see cref="long"/>, <see cref="string"/>
/// or <see cref="Guid"/> (stored as a 36-character VarChar); data properties are the types a Quiver field holds;
/// vectors are float vectors; several vectors per record; at least one (a Milvus collection needs one).</summary>
internal sealed class QuiverModelBuilder() : CollectionModelBuilder(s_options)
{
    private static readonly CollectionModelBuildingOptions s_options = new()
    {
        SupportsMultipleVectors = true,
        RequiresAtLeastOneVector = true,
    };

    internal static readonly Type[] DataTypes =
        [typeof(bool), typeof(sbyte), typeof(short), typeof(int), typeof(long), typeof(float), typeof(double), typeof(string)];

    /// <summary>Data types that are not array elements (Milvus arrays hold no times).</summary>
    internal static readonly Type[] TimeTypes = [typeof(DateTime), typeof(DateTimeOffset)];

    internal static readonly Type[] VectorTypes =
    [
        typeof(ReadOnlyMemory<float>), typeof(float[]), typeof(Embedding<float>),
        typeof(ReadOnlyMemory<Half>), typeof(Half[]), typeof(ReadOnlyMemory<sbyte>), typeof(sbyte[]), typeof(System.Collections.BitArray),
    ];

    protected override IReadOnlyList<EmbeddingGenerationDispatcher> EmbeddingGenerationDispatchers { get; } =
        [EmbeddingGenerationDispatcher.Create<Embedding<float>>()];

    protected override void ValidateKeyProperty(KeyPropertyModel keyProperty)
    {
        base.ValidateKeyProperty(keyProperty);
        var type = Nullable.GetUnderlyingType(keyProperty.Type) ?? keyProperty.Type;
        if (type != typeof(long) && type != typeof(string) && type != typeof(Guid))
        {
            throw new NotSupportedException($"Quiver keys are long, string or Guid; property {keyProperty.ModelName} is {keyProperty.Type.Name}");
        }
    }

    protected override bool IsDataPropertyTypeValid(Type type, [NotNullWhen(false)] out string? supportedTypes)
    {
        supportedTypes = "bool, sbyte, short, int, long, float, double, string, arrays or lists of those, DateTime, DateTimeOffset";
        var bare = Nullable.GetUnderlyingType(type) ?? type;
        if (DataTypes.Contains(bare) || TimeTypes.Contains(bare))
        {
            return true;
        }

        var element = bare.IsArray ? bare.GetElementType()
            : bare.IsGenericType && (bare.GetGenericTypeDefinition() == typeof(List<>) || bare.GetGenericTypeDefinition() == typeof(IList<>)
                || bare.GetGenericTypeDefinition() == typeof(IReadOnlyList<>)) ? bare.GetGenericArguments()[0] : null;
        return element is not null && DataTypes.Contains(element);
    }

    protected override bool IsVectorPropertyTypeValid(Type type, [NotNullWhen(false)] out string? supportedTypes)
    {
        supportedTypes = "ReadOnlyMemory<float>, float[], Embedding<float>, ReadOnlyMemory<Half>, Half[], ReadOnlyMemory<sbyte>, sbyte[], BitArray";
        return VectorTypes.Contains(Nullable.GetUnderlyingType(type) ?? type);
    }
}
