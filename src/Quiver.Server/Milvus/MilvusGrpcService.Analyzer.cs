using System.Text;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using Quiver.TextAnalysis;

namespace Quiver.Server.Milvus;

/// <summary>RunAnalyzer: runs an analyzer over texts without storing anything, as Milvus's dry run does. The analyzer is
/// the one of a collection's field (<c>collection_name</c> + <c>field_name</c>, the field must have enable_analyzer) or
/// one built from <c>analyzer_params</c> (empty: the standard analyzer). Offsets are UTF-8 byte offsets into the text,
/// as Milvus reports them.</summary>
internal sealed partial class MilvusGrpcService
{
    /// <summary>Most texts one RunAnalyzer call may analyze.</summary>
    internal const int MaxAnalyzerTexts = 1024;

    /// <summary>Bytes one token of a RunAnalyzer answer costs the server while the answer is built and sent. Measured:
    /// one text of 8 MiB of <c>"a "</c> (4,194,304 tokens, with detail and hash) raised the resident high-water mark of
    /// <c>quiver serve</c> by 632 MB, 151 bytes a token.</summary>
    internal const int AnalyzerTokenBytes = 160;

    /// <inheritdoc />
    public override Task<RunAnalyzerResponse> RunAnalyzer(RunAnalyzerRequest request, ServerCallContext context)
    {
        var analyzer = AnalyzerFor(request, context);
        if (request.Placeholder.Count > MaxAnalyzerTexts)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"RunAnalyzer got {request.Placeholder.Count} texts; at most {MaxAnalyzerTexts} are analyzed per call");
        }

        CallInfo.Of(context).ResultBytes = AnalyzerAnswerBytes(request);
        var strict = new UTF8Encoding(false, true);
        var response = new RunAnalyzerResponse { Status = MilvusStatus.Ok() };
        for (var i = 0; i < request.Placeholder.Count; i++)
        {
            string text;
            try
            {
                text = strict.GetString(request.Placeholder[i].Span);
            }
            catch (DecoderFallbackException)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid, $"RunAnalyzer text {i} is not valid UTF-8");
            }

            response.Results.Add(Analyze(analyzer, text, request.WithDetail, request.WithHash));
        }

        return Task.FromResult(response);
    }

    /// <summary>The estimate of a RunAnalyzer answer, refused (1102) over <c>Memory:MaxResultBytes</c> before any text is
    /// analyzed: the tokens and their text cost about 150 bytes each, so 8 MiB of text held 632 MB, and the gRPC message
    /// limit let one call hold gigabytes. A text of n UTF-8 bytes gives at most (n + 1) / 2 tokens: a one-byte (ASCII)
    /// token ends at a byte that is not part of it, and every other token is at least two bytes long.</summary>
    private long AnalyzerAnswerBytes(RunAnalyzerRequest request)
    {
        long bytes = 0;
        foreach (var text in request.Placeholder)
        {
            bytes += text.Length;
        }

        var tokens = (bytes + request.Placeholder.Count) / 2;
        var estimate = tokens * AnalyzerTokenBytes;
        var budget = _options.Memory.MaxResultBytes;
        if (estimate > budget)
        {
            throw new MilvusException(MilvusCode.ParameterTooLarge, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"RunAnalyzer result too large: {request.Placeholder.Count} texts of {bytes} bytes in all may give {tokens} tokens × ~{AnalyzerTokenBytes} bytes each ≈ {estimate} bytes, which exceeds the result budget of {budget} bytes; send shorter texts, or raise {Data.ResultBudget.Setting}"));
        }

        return estimate;
    }

    private Analyzer AnalyzerFor(RunAnalyzerRequest request, ServerCallContext context)
    {
        if (request.AnalyzerNames.Count > 0)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                "RunAnalyzer: analyzer_names selects among a field's multi_analyzer_params, which Quiver does not have");
        }

        if (string.IsNullOrEmpty(request.CollectionName))
        {
            if (!string.IsNullOrEmpty(request.FieldName))
            {
                throw new MilvusException(MilvusCode.ParameterInvalid, "RunAnalyzer: field_name needs collection_name");
            }

            return Analyzer.Create(request.AnalyzerParams); // an invalid one is InvalidArgument: code 1100
        }

        var database = Database(request.DbName, context);
        var schema = SchemaOf(Loads.Require(database, request.CollectionName).Name, database);
        var field = schema.Find(request.FieldName)
            ?? throw new MilvusException(MilvusCode.ParameterInvalid,
                $"RunAnalyzer: field '{request.FieldName}' not found in collection '{request.CollectionName}'");
        if (!field.EnableAnalyzer)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"RunAnalyzer: field '{field.Name}' has no analyzer (it is not a VarChar field with enable_analyzer)");
        }

        return Analyzer.ForField(field);
    }

    private static AnalyzerResult Analyze(Analyzer analyzer, string text, bool withDetail, bool withHash)
    {
        var result = new AnalyzerResult();
        var bytesBefore = 0;
        var charsCounted = 0;
        foreach (var token in analyzer.Analyze(text))
        {
            var wire = new AnalyzerToken { Token = token.Text };
            if (withDetail)
            {
                // Tokens come in text order, so the UTF-8 offset is counted forward from the previous token's start.
                bytesBefore += Encoding.UTF8.GetByteCount(text.AsSpan(charsCounted, token.Start - charsCounted));
                charsCounted = token.Start;
                wire.StartOffset = bytesBefore;
                wire.EndOffset = bytesBefore + Encoding.UTF8.GetByteCount(text.AsSpan(token.Start, token.End - token.Start));
                wire.Position = token.Position;
                wire.PositionLength = 1;
            }

            if (withHash)
            {
                wire.Hash = TermHash.Of(token.Text);
            }

            result.Tokens.Add(wire);
        }

        return result;
    }
}
