using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quiver.Toolbox;

/// <summary>The JSON the toolbox writes (import checkpoints, prep reports) and the command line prints with
/// <c>--json</c>: camelCase names, enums as strings, indented, non-ASCII kept as is.</summary>
internal static class ToolboxJson
{
    /// <summary>The options.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
