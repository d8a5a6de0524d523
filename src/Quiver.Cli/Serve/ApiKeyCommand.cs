using System.CommandLine;
using Quiver.Server.Security;

namespace Quiver.Cli.Serve;

/// <summary><c>quiver apikey create|list|revoke</c>: manages the API keys of a server's data folder while the server is
/// stopped (Milvus has no API-key RPC). Only the key's hash is stored; <c>create</c> prints the key once.</summary>
internal static class ApiKeyCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Data folder of the (stopped) server.", DefaultValueFactory = _ => "data" };
        var user = new Option<string>("--user") { Description = "The user the key acts as.", Required = true };
        var name = new Option<string?>("--name") { Description = "What the key is for (shown in listings)." };
        var id = new Argument<string>("id") { Description = "The id of the key to revoke (see `quiver apikey list`)." };

        var create = new Command("create", "Create an API key for a user and print it (once).");
        create.Options.Add(data);
        create.Options.Add(user);
        create.Options.Add(name);
        create.SetAction(parse => WithStore(parse.GetValue(data)!, store =>
        {
            var (keyId, key) = store.CreateApiKey(parse.GetValue(user)!, parse.GetValue(name));
            Console.WriteLine($"id:  {keyId}");
            Console.WriteLine($"key: {key}");
            Console.Error.WriteLine("quiver: store the key now; only its hash is kept");
        }));

        var list = new Command("list", "List API keys (id, user, name, creation time; never the key).");
        list.Options.Add(data);
        list.SetAction(parse => WithStore(parse.GetValue(data)!, store =>
        {
            foreach (var key in store.ApiKeys())
            {
                Console.WriteLine($"{key.Id}\t{key.User}\t{key.Created:u}\t{key.Name}");
            }
        }));

        var revoke = new Command("revoke", "Revoke an API key by id.");
        revoke.Options.Add(data);
        revoke.Arguments.Add(id);
        revoke.SetAction(parse => WithStore(parse.GetValue(data)!, store =>
        {
            if (!store.RevokeApiKey(parse.GetValue(id)!))
            {
                throw new InvalidOperationException($"no API key has id '{parse.GetValue(id)}'");
            }
            Console.WriteLine("revoked");
        }));

        var command = new Command("apikey", "Manage the API keys of a stopped server's data folder.");
        command.Subcommands.Add(create);
        command.Subcommands.Add(list);
        command.Subcommands.Add(revoke);
        return command;
    }

    /// <summary>Runs <paramref name="action"/> on the folder's security store while holding the folder's lock, so that a
    /// running server (which keeps the store in memory and owns the lock) is never edited behind its back.</summary>
    private static int WithStore(string dataPath, Action<SecurityStore> action)
    {
        FileStream folderLock;
        try
        {
            folderLock = new FileStream(Path.Combine(dataPath, "LOCK"), FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (FileNotFoundException)
        {
            Console.Error.WriteLine($"quiver: '{dataPath}' is not a Quiver data folder (no LOCK file)");
            return 1;
        }
        catch (IOException)
        {
            Console.Error.WriteLine($"quiver: '{dataPath}' is in use by a running server; stop it first");
            return 1;
        }
        using (folderLock)
        {
            try
            {
                action(SecurityStore.Open(dataPath, new SecurityOptions()));
                return 0;
            }
            catch (Exception e) when (e is Server.Milvus.MilvusException or InvalidOperationException)
            {
                Console.Error.WriteLine($"quiver: {e.Message}");
                return 1;
            }
        }
    }
}
