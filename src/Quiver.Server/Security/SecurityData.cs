using System.Text.Json.Serialization;

namespace Quiver.Server.Security;

/// <summary>The persisted security state: <c>security/users.json</c> in the data folder. Passwords and API keys are
/// stored only as hashes.</summary>
internal sealed class SecurityData
{
    /// <summary>Format version; 1.</summary>
    public int Version { get; set; } = 1;

    /// <summary>Users with their password hashes and roles.</summary>
    public List<UserRecord> Users { get; set; } = [];

    /// <summary>Roles created by clients (the built-in <c>admin</c> and <c>public</c> are implied).</summary>
    public List<RoleRecord> Roles { get; set; } = [];

    /// <summary>Privileges granted to roles.</summary>
    public List<GrantRecord> Grants { get; set; } = [];

    /// <summary>Custom privilege groups.</summary>
    public List<GroupRecord> Groups { get; set; } = [];

    /// <summary>API keys (hashes only).</summary>
    public List<ApiKeyRecord> ApiKeys { get; set; } = [];
}

/// <summary>One user: PBKDF2-HMAC-SHA256 of the password with a per-user salt.</summary>
internal sealed class UserRecord
{
    /// <summary>User name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Free text.</summary>
    public string? Description { get; set; }

    /// <summary>Random salt, base64.</summary>
    public string Salt { get; set; } = "";

    /// <summary>PBKDF2 output, base64.</summary>
    public string Hash { get; set; } = "";

    /// <summary>PBKDF2 iteration count the hash was made with.</summary>
    public int Iterations { get; set; }

    /// <summary>Roles granted to the user (beyond <c>public</c>).</summary>
    public List<string> Roles { get; set; } = [];
}

/// <summary>One custom role.</summary>
internal sealed class RoleRecord
{
    /// <summary>Role name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Free text.</summary>
    public string? Description { get; set; }
}

/// <summary>One grant: <see cref="Role"/> may use <see cref="Privilege"/> (a stored privilege name or a group) on objects of
/// <see cref="ObjectType"/> named <see cref="ObjectName"/> in <see cref="Database"/> (either may be <c>*</c>).</summary>
internal sealed class GrantRecord
{
    /// <summary>The role.</summary>
    public string Role { get; set; } = "";

    /// <summary><c>Global</c>, <c>Collection</c> or <c>User</c>.</summary>
    public string ObjectType { get; set; } = "";

    /// <summary>Object name or <c>*</c>.</summary>
    public string ObjectName { get; set; } = "";

    /// <summary>Database or <c>*</c>.</summary>
    public string Database { get; set; } = "";

    /// <summary>Stored privilege name (<c>PrivilegeSearch</c>, <c>PrivilegeAll</c>) or a privilege group name.</summary>
    public string Privilege { get; set; } = "";

    /// <summary>The user who granted it.</summary>
    public string? Grantor { get; set; }
}

/// <summary>One custom privilege group.</summary>
internal sealed class GroupRecord
{
    /// <summary>Group name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Stored privilege names.</summary>
    public List<string> Privileges { get; set; } = [];
}

/// <summary>One API key: only the SHA-256 of the key is kept (keys are 256 random bits, so a fast hash suffices).</summary>
internal sealed class ApiKeyRecord
{
    /// <summary>Short public id, shown in listings and used to revoke.</summary>
    public string Id { get; set; } = "";

    /// <summary>The user the key acts as.</summary>
    public string User { get; set; } = "";

    /// <summary>Free text naming the key's purpose.</summary>
    public string? Name { get; set; }

    /// <summary>SHA-256 of the key, hex.</summary>
    public string Hash { get; set; } = "";

    /// <summary>When it was created.</summary>
    public DateTimeOffset Created { get; set; }
}

/// <summary>Source-generated JSON for <see cref="SecurityData"/>.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SecurityData))]
internal sealed partial class SecurityJson : JsonSerializerContext;
