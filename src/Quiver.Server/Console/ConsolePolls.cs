using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace Quiver.Server.Console;

/// <summary>The REST v2 calls the console repeats while something runs and marks as such: the list of import jobs the
/// import page reads every second while a job runs carries <see cref="Header"/>. A REST call with it is a poll
/// (<see cref="Milvus.CallInfo.Polling"/>, not counted against the per-user rate) only when it is a read of import
/// progress, which Milvus never rate-limits; on any other call the header changes nothing. The console's own endpoints
/// mark their polls themselves.</summary>
internal static class ConsolePolls
{
    /// <summary>The request header that marks a repeated progress read: <c>X-Quiver-Console-Poll: 1</c>.</summary>
    public const string Header = "X-Quiver-Console-Poll";

    private static readonly FrozenSet<string> ProgressReads = FrozenSet.ToFrozenSet(["ListImportTasks", "GetImportState"], StringComparer.Ordinal);

    /// <summary>True when the REST call <paramref name="method"/> of <paramref name="http"/> is a marked progress read.</summary>
    public static bool IsPoll(HttpContext http, string method) =>
        ProgressReads.Contains(method) && http.Request.Headers[Header] == "1";
}
