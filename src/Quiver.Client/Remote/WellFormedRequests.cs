using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Quiver.Client.Remote;

/// <summary>
/// Refuses, before it is sent, a request holding a string that is not valid Unicode (an unpaired UTF-16 surrogate).
/// Protobuf writes strings as UTF-8 and silently puts U+FFFD in such a one's place, so the server would act on another
/// string than the caller gave: a partition, an output field, a property value or a parameter named differently. The
/// embedded engine refuses such strings; so does this client, with <see cref="QuiverErrorCode.InvalidArgument"/> naming
/// the request field. Filters, template values, keys and row values are checked earlier, where their messages can name
/// the filter, the parameter, the key or the row.
/// </summary>
internal sealed class WellFormedRequests : Interceptor
{
    public static readonly WellFormedRequests Instance = new();

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        if (request is IMessage message && Problem(message, "") is { } problem)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"{context.Method.Name}: request field {problem}");
        }

        return continuation(request, context);
    }

    /// <summary>The path of the first string field in <paramref name="message"/> (nested messages, lists and maps included)
    /// that holds an unpaired surrogate, with the rule it breaks; null when every string is well formed.</summary>
    internal static string? Problem(IMessage message, string path)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            if (field.FieldType is not (FieldType.String or FieldType.Message or FieldType.Group))
            {
                continue;
            }

            var name = path.Length == 0 ? field.Name : $"{path}.{field.Name}";
            var value = field.Accessor.GetValue(message);
            var problem = value switch
            {
                null => null,
                IDictionary map => MapProblem(map, name),
                IList list when field.IsRepeated => ListProblem(list, name),
                _ => ValueProblem(value, name),
            };
            if (problem is not null)
            {
                return problem;
            }
        }

        return null;
    }

    private static string? ListProblem(IList list, string name)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (ValueProblem(list[i], $"{name}[{i}]") is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    private static string? MapProblem(IDictionary map, string name)
    {
        foreach (DictionaryEntry entry in map)
        {
            if (entry.Key is string key && Utf16Text.Problem(key) is { } keyProblem)
            {
                return $"{name} has a key that {keyProblem}";
            }

            if (ValueProblem(entry.Value, $"{name}[\"{entry.Key}\"]") is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    private static string? ValueProblem(object? value, string name) => value switch
    {
        string s when Utf16Text.Problem(s) is { } problem => $"{name} {problem}",
        IMessage nested => Problem(nested, name),
        _ => null,
    };
}
