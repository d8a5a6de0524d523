using Google.Protobuf;
using Quiver.Server.Clients;

namespace Quiver.Server.Tests;

/// <summary>Search requests' placeholder groups as the server tests build them (a test helper: the server only reads
/// placeholder groups; it lived in the server assembly as RequestValues.PlaceholderGroup).</summary>
internal static class TestPlaceholders
{
    /// <summary>A <c>common.PlaceholderGroup</c> of FloatVector queries (tag <c>$0</c>), serialized as the SDKs send it.</summary>
    public static ByteString Group(IEnumerable<float[]> vectors)
    {
        var list = vectors.ToList();
        var dim = list.Count == 0 ? 1 : list[0].Length;
        return MilvusRequests.FloatPlaceholderGroup(list.SelectMany(v => v).ToArray(), dim);
    }
}
