using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Toolbox.Backup;

/// <summary>What a backup keeps beyond schema, partitions, indexes and rows, and <see cref="Quiver.Client.IQuiverClient"/> does not
/// cover: aliases, collection properties and (on a server) load state. Embedded it goes to the engine; remote to the
/// server's Milvus REST v2 endpoints (<c>/v2/vectordb/...</c>) with the target's credentials.</summary>
internal sealed class CatalogExtras(OpsTarget target)
{
    /// <summary>Aliases of <paramref name="collection"/>, sorted.</summary>
    public async Task<IReadOnlyList<string>> ListAliasesAsync(string collection, CancellationToken cancellationToken)
    {
        if (target.Engine is { } engine)
        {
            return await engine.ListAliasesAsync(collection, target.Database, cancellationToken).ConfigureAwait(false);
        }

        var data = await PostAsync("/aliases/list", new JsonObject { ["collectionName"] = collection }, cancellationToken).ConfigureAwait(false);
        return data is JsonArray list ? [.. list.Select(a => a!.GetValue<string>()).Order(StringComparer.Ordinal)] : [];
    }

    /// <summary>Points <paramref name="alias"/> at <paramref name="collection"/>; false when the alias exists already
    /// (it is left as it is).</summary>
    public async Task<bool> TryCreateAliasAsync(string collection, string alias, CancellationToken cancellationToken)
    {
        try
        {
            if (target.Engine is { } engine)
            {
                await engine.CreateAliasAsync(collection, alias, target.Database, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await PostAsync("/aliases/create", new JsonObject { ["collectionName"] = collection, ["aliasName"] = alias }, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        catch (QuiverException e) when (e.Code is QuiverErrorCode.AlreadyExists or QuiverErrorCode.InvalidArgument)
        {
            return false;
        }
        catch (ToolboxException)
        {
            return false;
        }
    }

    /// <summary>Sets collection properties.</summary>
    public async Task SetPropertiesAsync(string collection, IReadOnlyDictionary<string, string> properties, CancellationToken cancellationToken)
    {
        if (properties.Count == 0)
        {
            return;
        }

        if (target.Engine is { } engine)
        {
            await engine.AlterCollectionPropertiesAsync(collection, properties, null, target.Database, cancellationToken).ConfigureAwait(false);
            return;
        }

        var set = new JsonObject();
        foreach (var (key, value) in properties)
        {
            set[key] = value;
        }

        await PostAsync("/collections/alter_properties", new JsonObject { ["collectionName"] = collection, ["properties"] = set }, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Server: whether the collection is loaded (wholly); null embedded, where collections are always searchable.</summary>
    public async Task<bool?> IsLoadedAsync(string collection, CancellationToken cancellationToken)
    {
        if (target.IsEmbedded)
        {
            return null;
        }

        var data = await PostAsync("/collections/get_load_state", new JsonObject { ["collectionName"] = collection }, cancellationToken).ConfigureAwait(false);
        // Loading counts as loaded: the backup must not release a collection someone else is loading.
        return data?["loadState"]?.GetValue<string>() is "LoadStateLoaded" or "LoadStateLoading";
    }

    private async Task<JsonNode?> PostAsync(string path, JsonObject body, CancellationToken cancellationToken)
    {
        var http = target.Http ?? throw new ToolboxException(ToolboxErrorKind.Target,
            $"{target.Description}: {path} is a server's REST endpoint, and this client has no server address; give TargetSpec.Server, or TargetSpec.Client over a client from QuiverClient.ConnectAsync");
        body["dbName"] = target.Database;
        using var response = await http.PostAsJsonAsync("/v2/vectordb" + path, body, cancellationToken).ConfigureAwait(false);
        var reply = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false);
        var code = reply?["code"]?.GetValueKind() == JsonValueKind.Number ? reply["code"]!.GetValue<int>() : -1;
        if (code != 0)
        {
            throw new ToolboxException(ToolboxErrorKind.Target, $"{target.Description}: {path} failed: {reply?["message"]?.GetValue<string>() ?? response.StatusCode.ToString()}");
        }

        return reply!["data"];
    }
}
