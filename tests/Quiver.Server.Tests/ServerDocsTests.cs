using System.Reflection;
using Quiver.Server.Milvus;

namespace Quiver.Server.Tests;

/// <summary>Claims of docs/server.md checked against the code, so that the page cannot drift from what is served.</summary>
public sealed class ServerDocsTests
{
    /// <summary>The features the "What is not served" list may name, each with an RPC that serves it.</summary>
    public static TheoryData<string, string> Features => new()
    {
        { "HybridSearch", "HybridSearch" },
        { "bulk import", "Import" },
        { "resource groups", "CreateResourceGroup" },
        { "replicas", "GetReplicas" },
        { "compaction plans", "GetCompactionStateWithPlans" },
        { "snapshots", "CreateSnapshot" },
        { "adding fields", "AddCollectionField" },
        { "field/function schema changes", "AlterCollectionField" },
    };

    [Theory]
    [MemberData(nameof(Features))]
    public void NotServedList_NamesAFeature_ExactlyWhenItsRpcIsNotImplemented(string feature, string rpc)
    {
        var listed = NotServedList().Contains(feature, StringComparison.Ordinal);
        var method = typeof(MilvusGrpcService).GetMethod(rpc, BindingFlags.Public | BindingFlags.Instance)
            ?? throw new InvalidOperationException($"MilvusService has no RPC {rpc}");
        var served = method.DeclaringType == typeof(MilvusGrpcService);
        Assert.True(listed != served,
            $"docs/server.md {(listed ? "lists" : "does not list")} '{feature}' as not served, but {rpc} is {(served ? "" : "not ")}implemented");
    }

    /// <summary>The text of the bullet "What is not served ..." of docs/server.md, up to the next bullet or heading.</summary>
    private static string NotServedList()
    {
        var lines = File.ReadAllLines(FindDoc("server.md"));
        var start = Array.FindIndex(lines, l => l.StartsWith("- What is not served", StringComparison.Ordinal));
        Assert.True(start >= 0, "docs/server.md has no 'What is not served' bullet");
        var bullet = lines.Skip(start).TakeWhile((l, i) => i == 0 || (l.StartsWith("  ", StringComparison.Ordinal) && l.Trim().Length > 0));
        return string.Join(' ', bullet.Select(l => l.Trim()));
    }

    private static string FindDoc(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "docs", name);
            if (File.Exists(path) && File.Exists(Path.Combine(dir.FullName, "Quiver.slnx")))
            {
                return path;
            }
        }
        throw new InvalidOperationException($"docs/{name} not found above {AppContext.BaseDirectory}");
    }
}
