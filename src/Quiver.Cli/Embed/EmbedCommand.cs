using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Quiver.Cli.Ops.Cli;
using Quiver.Embeddings;
using Quiver.Toolbox;

namespace Quiver.Cli.Embed;

/// <summary>What <c>quiver embed</c> embeds and with which provider.</summary>
internal sealed record EmbedOptions
{
    /// <summary>The texts given as arguments.</summary>
    public IReadOnlyList<string> Texts { get; init; } = [];

    /// <summary>A file of texts, one per line (empty lines skipped); <c>-</c> reads standard input.</summary>
    public string? File { get; init; }

    /// <summary><c>local</c> (default) or <c>openai</c>.</summary>
    public string Provider { get; init; } = EmbeddingProviders.Local;

    /// <summary>The model; default the provider's.</summary>
    public string? Model { get; init; }

    /// <summary><c>dim</c> sent to the provider, and the length expected back; default the model's.</summary>
    public int? Dim { get; init; }

    /// <summary>The OpenAI-compatible service's base URL (provider <c>openai</c>).</summary>
    public Uri? BaseUrl { get; init; }

    /// <summary>Its key (from the environment variable <c>QUIVER_EMBEDDING_API_KEY</c>, never the command line).</summary>
    public string? ApiKey { get; init; }
}

/// <summary><c>quiver embed "text" ... | --file FILE</c>: texts in, vectors out as JSON (<c>[{"text", "vector"}]</c>),
/// with the providers of TextEmbedding functions (docs/embeddings.md).</summary>
internal static class EmbedCommand
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The environment variable holding the OpenAI-compatible service's key.</summary>
    public const string ApiKeyVariable = "QUIVER_EMBEDDING_API_KEY";

    /// <summary>The <c>embed</c> command.</summary>
    public static Command Create()
    {
        var texts = new Argument<string[]>("texts") { Description = "Texts to embed.", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<string?>("--file", "-f") { Description = "Embed each non-empty line of this file ('-' reads standard input)." };
        var provider = new Option<string>("--provider") { Description = "local (all-MiniLM-L6-v2 in-process) or openai (an OpenAI-compatible service).", DefaultValueFactory = _ => EmbeddingProviders.Local };
        provider.AcceptOnlyFromAmong(EmbeddingProviders.Local, EmbeddingProviders.OpenAi);
        var model = new Option<string?>("--model") { Description = "Model name (default: the provider's)." };
        var dim = new Option<int?>("--dim") { Description = "Vector length to ask for (models that can shorten vectors)." };
        var baseUrl = new Option<string?>("--base-url") { Description = $"openai: the service's base URL; its key is read from {ApiKeyVariable}." };
        var command = new Command("embed", "Embed texts with the providers of TextEmbedding functions; vectors out as JSON.");
        command.Arguments.Add(texts);
        foreach (var o in new Option[] { file, provider, model, dim, baseUrl })
        {
            command.Options.Add(o);
        }

        OpsCommand.SetAction(command, null, async (parse, io, ct) =>
        {
            var options = new EmbedOptions
            {
                Texts = parse.GetValue(texts) ?? [],
                File = parse.GetValue(file),
                Provider = parse.GetValue(provider)!,
                Model = parse.GetValue(model),
                Dim = parse.GetValue(dim),
                BaseUrl = parse.GetValue(baseUrl) is { } u ? new Uri(u.EndsWith('/') ? u : u + "/") : null,
                ApiKey = Environment.GetEnvironmentVariable(ApiKeyVariable),
            };
            var vectors = await RunAsync(options, null, ct).ConfigureAwait(false);
            await io.Out.WriteLineAsync(ToJson(vectors)).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The texts of <paramref name="options"/> with their vectors, in order.</summary>
    public static async Task<IReadOnlyList<(string Text, float[] Vector)>> RunAsync(EmbedOptions options, TextReader? stdin, CancellationToken ct)
    {
        var all = new List<string>(options.Texts);
        if (options.File is { } path)
        {
            var lines = path == "-" ? ReadLines(stdin ?? Console.In) : System.IO.File.ReadLines(path);
            all.AddRange(lines.Where(l => l.Trim().Length > 0));
        }

        if (all.Count == 0)
        {
            throw new ToolboxException("nothing to embed: give texts as arguments or --file FILE");
        }

        using var providers = new EmbeddingProviders(new EmbeddingOptions
        {
            OpenAi = new OpenAiOptions { BaseUrl = options.BaseUrl, ApiKey = options.ApiKey },
        });
        var function = Function(options);
        var embedder = providers.Resolve(function, options.Dim ?? (options.Provider == EmbeddingProviders.Local ? MiniLmEmbedder.Dim : 0));
        if (embedder.Dimension <= 0)
        {
            throw new ToolboxException("--provider openai needs --dim: the length of the model's vectors");
        }

        var vectors = await embedder.EmbedAsync(all, ct).ConfigureAwait(false);
        return [.. all.Select((t, i) => (t, vectors[i]))];
    }

    /// <summary>The providers of <c>quiver import --embed</c>: the local model, and an OpenAI-compatible service when
    /// <c>QUIVER_EMBEDDING_BASE_URL</c> is set (its key from <see cref="ApiKeyVariable"/>).</summary>
    public static EmbeddingProviders FromEnvironment() => new(new EmbeddingOptions
    {
        OpenAi = new OpenAiOptions
        {
            BaseUrl = Environment.GetEnvironmentVariable("QUIVER_EMBEDDING_BASE_URL") is { Length: > 0 } u ? new Uri(u.EndsWith('/') ? u : u + "/") : null,
            ApiKey = Environment.GetEnvironmentVariable(ApiKeyVariable),
        },
    });

    /// <summary>The function a collection would carry for these options (what <c>quiver embed</c> resolves).</summary>
    private static CollectionFunction Function(EmbedOptions options)
    {
        var parameters = ImmutableDictionary.CreateBuilder<string, string>();
        parameters["provider"] = options.Provider;
        if (options.Model is { } m)
        {
            parameters["model_name"] = m;
        }

        if (options.Dim is { } d)
        {
            parameters["dim"] = d.ToString(CultureInfo.InvariantCulture);
        }

        return CollectionFunction.TextEmbedding("embed", "text", "vector", parameters.ToImmutable());
    }

    /// <summary>The vectors as a JSON array of <c>{"text": ..., "vector": [...]}</c>, one object per line.</summary>
    public static string ToJson(IReadOnlyList<(string Text, float[] Vector)> vectors)
    {
        var lines = vectors.Select(v => "  " + JsonSerializer.Serialize(new Dictionary<string, object> { ["text"] = v.Text, ["vector"] = v.Vector }, Compact));
        return "[\n" + string.Join(",\n", lines) + "\n]";
    }

    private static IEnumerable<string> ReadLines(TextReader reader)
    {
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }
}
