namespace Quiver.TextAnalysis;

/// <summary>The schema rules of analyzed text fields, called by the schema validator for every field.</summary>
internal static class TextFieldRules
{
    /// <summary>Refuses enable_analyzer, analyzer_params and enable_match where Milvus does not allow them (off VarChar,
    /// match or params without the analyzer) and analyzer_params that do not make an analyzer.</summary>
    public static void Validate(FieldSchema f)
    {
        if (!f.EnableAnalyzer && !f.EnableMatch && f.AnalyzerParams is null)
            return;
        if (f.DataType != DataType.VarChar)
        {
            var setting = f.EnableAnalyzer ? "enable_analyzer" : f.EnableMatch ? "enable_match" : "analyzer_params";
            Throw.Invalid($"field '{f.Name}': {setting} is only allowed on VarChar fields, not {f.DataType}");
        }
        if (!f.EnableAnalyzer)
        {
            var setting = f.EnableMatch ? "enable_match" : "analyzer_params";
            Throw.Invalid($"field '{f.Name}': {setting} needs enable_analyzer set to true");
        }
        try
        {
            _ = Analyzer.Create(f.AnalyzerParams);
        }
        catch (QuiverException e)
        {
            Throw.Invalid($"field '{f.Name}': {e.Message}");
        }
    }
}
