using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Quiver.Server.Milvus;

namespace Quiver.Server.Security;

/// <summary>
/// Users, roles, grants, privilege groups and API keys of one server, kept in memory and saved to
/// <c>security/users.json</c> in the data folder after every change (temp file, fsync, rename). Passwords are stored as
/// PBKDF2-HMAC-SHA256 (<see cref="Iterations"/>, 16-byte salt) and compared in constant time; a verified credential is
/// remembered for <see cref="CacheLifetime"/> under the SHA-256 of the credential, and the memory is dropped whenever a
/// password, user or key changes. Thread-safe: one lock guards the state.
/// </summary>
internal sealed partial class SecurityStore
{
    /// <summary>PBKDF2 iterations for new password hashes (OWASP's 2023 figure for HMAC-SHA256).</summary>
    public const int Iterations = 600_000;

    /// <summary>How long a verified credential is trusted without hashing again.</summary>
    public static readonly TimeSpan CacheLifetime = TimeSpan.FromMinutes(1);

    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const string ApiKeyPrefix = "qvk_";

    private readonly Lock _lock = new();
    private readonly string _path;
    private SecurityData _data;

    /// <summary>Where the state is written instead of <see cref="FilePath"/> (a cluster's key-value store); null for the
    /// file. Called under the lock with the whole state; it throws to refuse the change, which the caller then undoes by
    /// <see cref="Replace"/> (SecurityStore.Shared.cs).</summary>
    private readonly Action<byte[]>? _saveTo;
    private readonly ConcurrentDictionary<string, (string User, long Expires)> _verified = new(StringComparer.Ordinal);
    private readonly Lock _verifiedLock = new();
    private long _generation;

    /// <summary>A hash made once so that a login for an unknown user costs as much as one for a known user.</summary>
    private readonly UserRecord _decoy;

    private SecurityStore(string path, SecurityData data, Action<byte[]>? saveTo = null)
    {
        _path = path;
        _data = data;
        _saveTo = saveTo;
        _decoy = NewUser("decoy", RandomNumberGenerator.GetHexString(16), null);
    }

    /// <summary>The file the state lives in.</summary>
    public string FilePath => _path;

    /// <summary>Opens the state of <paramref name="dataPath"/>. With authentication on and no users yet, creates
    /// <c>root</c> (role <c>admin</c>) with <see cref="SecurityOptions.RootPassword"/> or the
    /// <see cref="SecurityOptions.RootPasswordVariable"/> variable, and fails when neither is set.</summary>
    public static SecurityStore Open(string dataPath, SecurityOptions options)
    {
        var path = Path.Combine(dataPath, "security", "users.json");
        SecurityData data;
        if (File.Exists(path))
        {
            try
            {
                data = JsonSerializer.Deserialize(File.ReadAllBytes(path), SecurityJson.Default.SecurityData)
                    ?? throw new InvalidDataException("the file is empty");
            }
            catch (Exception e) when (e is JsonException or InvalidDataException)
            {
                throw new InvalidOperationException($"security file '{path}' is damaged: {e.Message}", e);
            }
        }
        else
        {
            data = new SecurityData();
            SeedPublicRole(data);
        }
        var store = new SecurityStore(path, data);
        if (AddRootIfNone(data, options, $"'{path}'"))
        {
            store.Save();
        }
        return store;
    }

    /// <summary>With authentication on and no users in <paramref name="data"/>, adds <c>root</c> (role <c>admin</c>) with
    /// <see cref="SecurityOptions.RootPassword"/> or the <see cref="SecurityOptions.RootPasswordVariable"/> variable and
    /// returns true; fails when neither is set. <paramref name="where"/> names the state's place in the message.</summary>
    private static bool AddRootIfNone(SecurityData data, SecurityOptions options, string where)
    {
        if (!options.AuthEnabled || data.Users.Count != 0)
        {
            return false;
        }
        var password = options.RootPassword ?? Environment.GetEnvironmentVariable(SecurityOptions.RootPasswordVariable);
        if (string.IsNullOrEmpty(password))
        {
            throw new Hosting.ServerConfigurationException(
                $"authentication is on and no users exist yet in {where}: set the root password (config Security:RootPassword " +
                $"or environment variable {SecurityOptions.RootPasswordVariable}) for the first start; there is no default password");
        }
        try
        {
            CheckPassword(password);
        }
        catch (MilvusException e)
        {
            throw new Hosting.ServerConfigurationException(
                $"the root password (Security:RootPassword or {SecurityOptions.RootPasswordVariable}) is refused: {e.Message}", e);
        }
        var root = NewUser(Privileges.RootUser, password, "built-in superuser");
        root.Roles.Add(Privileges.AdminRole);
        data.Users.Add(root);
        return true;
    }

    /// <summary>Milvus's default grants of the role <c>public</c> (with <c>proxy.enablePublicPrivilege</c>, its default):
    /// describe collections and list aliases anywhere, read index details of any collection. Ordinary grants: they can
    /// be revoked.</summary>
    private static void SeedPublicRole(SecurityData data)
    {
        foreach (var (type, privilege) in new[]
        {
            ("Global", "PrivilegeDescribeCollection"), ("Global", "PrivilegeListAliases"), ("Collection", "PrivilegeIndexDetail"),
        })
        {
            data.Grants.Add(new GrantRecord
            {
                Role = Privileges.PublicRole, ObjectType = type, ObjectName = Privileges.Any, Database = Privileges.Any, Privilege = privilege,
            });
        }
    }

    /// <summary>Who a credential belongs to, or null when it matches no user or live API key. <paramref name="credential"/>
    /// is <c>user:password</c> or an API key, already decoded from the transport's form.</summary>
    public string? Authenticate(string credential)
    {
        if (AuthenticateCached(credential) is { } known)
        {
            return known;
        }
        // A password change, user drop or key revocation while Verify hashes must not be undone by caching the old
        // credential afterwards: cache only if no invalidation happened in between.
        var generation = Interlocked.Read(ref _generation);
        var user = Verify(credential);
        if (user is not null)
        {
            lock (_verifiedLock)
            {
                if (_generation == generation)
                {
                    if (_verified.Count > 10_000)
                    {
                        _verified.Clear();
                    }
                    _verified[CacheKey(credential)] = (user, Environment.TickCount64 + (long)CacheLifetime.TotalMilliseconds);
                }
            }
        }
        return user;
    }

    /// <summary>The user of a credential verified within the last minute, without hashing; null otherwise.</summary>
    public string? AuthenticateCached(string credential) =>
        _verified.TryGetValue(CacheKey(credential), out var known) && known.Expires > Environment.TickCount64 ? known.User : null;

    private static string CacheKey(string credential) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(credential)));

    private void Invalidate()
    {
        lock (_verifiedLock)
        {
            _generation++;
            _verified.Clear();
        }
    }

    private string? Verify(string credential)
    {
        var colon = credential.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            lock (_lock)
            {
                var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(credential)));
                return _data.ApiKeys.FirstOrDefault(k => CryptographicOperations.FixedTimeEquals(
                    Encoding.ASCII.GetBytes(k.Hash), Encoding.ASCII.GetBytes(hash)))?.User;
            }
        }
        var name = credential[..colon];
        var password = credential[(colon + 1)..];
        UserRecord? record;
        lock (_lock)
        {
            record = FindUser(name);
        }
        var matches = PasswordMatches(record ?? _decoy, password);
        return record is not null && matches ? record.Name : null;
    }

    private static bool PasswordMatches(UserRecord user, string password)
    {
        var salt = Convert.FromBase64String(user.Salt);
        var expected = Convert.FromBase64String(user.Hash);
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, user.Iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static UserRecord NewUser(string name, string password, string? description)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return new UserRecord
        {
            Name = name,
            Description = description,
            Salt = Convert.ToBase64String(salt),
            Hash = Convert.ToBase64String(Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA256, HashBytes)),
            Iterations = Iterations,
        };
    }

    // ---- users ----

    /// <summary>Creates a user. Throws when the name or password breaks Milvus's rules or the user exists.</summary>
    public void CreateUser(string name, string password, string? description)
    {
        CheckName(name, "username");
        CheckPassword(password);
        var record = NewUser(name, password, description);
        lock (_lock)
        {
            if (FindUser(name) is not null)
            {
                throw Invalid($"user '{name}' already exists");
            }
            _data.Users.Add(record);
            Save();
        }
    }

    /// <summary>Sets a user's password and/or description. A caller other than root and the admin role must give the
    /// old password. Throws when the user does not exist or the old password is wrong.</summary>
    public void UpdateUser(string name, string? oldPassword, string? newPassword, string? description, bool privileged)
    {
        UserRecord? record;
        lock (_lock)
        {
            record = FindUser(name);
        }
        if (record is null)
        {
            throw Invalid($"user '{name}' does not exist");
        }
        UserRecord? fresh = null;
        if (newPassword is not null)
        {
            CheckPassword(newPassword);
            if (!privileged && (oldPassword is null || !PasswordMatches(record, oldPassword)))
            {
                throw Invalid("old password is not correct");
            }
            fresh = NewUser(name, newPassword, null);
        }
        lock (_lock)
        {
            if (fresh is not null)
            {
                record.Salt = fresh.Salt;
                record.Hash = fresh.Hash;
                record.Iterations = fresh.Iterations;
            }
            if (description is not null)
            {
                record.Description = description;
            }
            Save();
        }
        Invalidate();
    }

    /// <summary>Deletes a user and its API keys. <c>root</c> cannot be deleted.</summary>
    public void DeleteUser(string name)
    {
        if (name == Privileges.RootUser)
        {
            throw Invalid("user root cannot be deleted");
        }
        lock (_lock)
        {
            var record = FindUser(name) ?? throw Invalid($"user '{name}' does not exist");
            _data.Users.Remove(record);
            _data.ApiKeys.RemoveAll(k => k.User == name);
            Save();
        }
        Invalidate();
    }

    /// <summary>All user names.</summary>
    public IReadOnlyList<string> UserNames()
    {
        lock (_lock)
        {
            return [.. _data.Users.Select(u => u.Name)];
        }
    }

    /// <summary>A user's roles (without the implied <c>public</c>), or null when the user does not exist.</summary>
    public IReadOnlyList<string>? RolesOf(string user)
    {
        lock (_lock)
        {
            return FindUser(user) is { } record ? [.. record.Roles] : null;
        }
    }

    /// <summary>A user's description, or null.</summary>
    public string? DescriptionOf(string user)
    {
        lock (_lock)
        {
            return FindUser(user)?.Description;
        }
    }

    // ---- roles ----

    /// <summary>All role names, built-in first.</summary>
    public IReadOnlyList<string> RoleNames()
    {
        lock (_lock)
        {
            return [Privileges.AdminRole, Privileges.PublicRole, .. _data.Roles.Select(r => r.Name)];
        }
    }

    /// <summary>True when the role exists (built-in or created).</summary>
    public bool RoleExists(string role)
    {
        lock (_lock)
        {
            return IsBuiltInRole(role) || _data.Roles.Any(r => r.Name == role);
        }
    }

    /// <summary>Creates a role.</summary>
    public void CreateRole(string role, string? description)
    {
        CheckName(role, "role name");
        lock (_lock)
        {
            if (IsBuiltInRole(role) || _data.Roles.Any(r => r.Name == role))
            {
                throw Invalid($"role '{role}' already exists");
            }
            _data.Roles.Add(new RoleRecord { Name = role, Description = description });
            Save();
        }
    }

    /// <summary>Drops a role. Built-in roles cannot be dropped; a role with grants needs <paramref name="force"/>, which
    /// also removes its grants. Users lose the role.</summary>
    public void DropRole(string role, bool force)
    {
        lock (_lock)
        {
            if (IsBuiltInRole(role))
            {
                throw Invalid($"the built-in role '{role}' cannot be dropped");
            }
            var record = _data.Roles.FirstOrDefault(r => r.Name == role) ?? throw Invalid($"role '{role}' does not exist");
            if (!force && _data.Grants.Any(g => g.Role == role))
            {
                throw Invalid($"role '{role}' still has grants; revoke them or drop with force_drop");
            }
            _data.Roles.Remove(record);
            _data.Grants.RemoveAll(g => g.Role == role);
            foreach (var user in _data.Users)
            {
                user.Roles.Remove(role);
            }
            Save();
        }
    }

    /// <summary>Adds a user to a role, or removes it.</summary>
    public void SetUserRole(string user, string role, bool add)
    {
        lock (_lock)
        {
            var record = FindUser(user) ?? throw Invalid($"user '{user}' does not exist");
            if (!IsBuiltInRole(role) && !_data.Roles.Any(r => r.Name == role))
            {
                throw Invalid($"role '{role}' does not exist");
            }
            if (role == Privileges.PublicRole)
            {
                throw Invalid("every user has the role public; it cannot be granted or revoked");
            }
            if (add ? record.Roles.Contains(role) : !record.Roles.Contains(role))
            {
                return;
            }
            if (add)
            {
                record.Roles.Add(role);
            }
            else
            {
                record.Roles.Remove(role);
            }
            Save();
        }
    }

    /// <summary>The users that have a role.</summary>
    public IReadOnlyList<string> UsersWithRole(string role)
    {
        lock (_lock)
        {
            return role == Privileges.PublicRole
                ? [.. _data.Users.Select(u => u.Name)]
                : [.. _data.Users.Where(u => u.Roles.Contains(role)).Select(u => u.Name)];
        }
    }

    // ---- grants ----

    /// <summary>Grants (or revokes) a privilege or group to a role on an object. Granting twice is a no-op.</summary>
    public void SetGrant(GrantRecord grant, bool add)
    {
        lock (_lock)
        {
            if (!IsBuiltInRole(grant.Role) && !_data.Roles.Any(r => r.Name == grant.Role))
            {
                throw Invalid($"role '{grant.Role}' does not exist");
            }
            if (!Privileges.IsKnown(grant.Privilege) && !Privileges.BuiltInGroups.ContainsKey(grant.Privilege)
                && !_data.Groups.Any(g => g.Name == grant.Privilege))
            {
                throw Invalid($"privilege '{Privileges.ApiName(grant.Privilege)}' is not a known privilege or privilege group");
            }
            var existing = _data.Grants.FirstOrDefault(g => g.Role == grant.Role && g.ObjectType == grant.ObjectType
                && g.ObjectName == grant.ObjectName && g.Database == grant.Database && g.Privilege == grant.Privilege);
            if (add == existing is not null)
            {
                return;
            }
            if (add)
            {
                _data.Grants.Add(grant);
            }
            else
            {
                _data.Grants.Remove(existing!);
            }
            Save();
        }
    }

    /// <summary>The grants of a role, filtered by object type, name and database when given (empty = any). A database
    /// filter keeps the grants on every database (<c>*</c>) too, since they hold in that database: gRPC <c>SelectGrant</c>
    /// and REST <c>roles/describe</c> (which names the request's database) answer from here alike.</summary>
    public IReadOnlyList<GrantRecord> GrantsOf(string role, string? objectType, string? objectName, string? database)
    {
        lock (_lock)
        {
            return [.. _data.Grants.Where(g => g.Role == role
                && (string.IsNullOrEmpty(objectType) || g.ObjectType == objectType)
                && (string.IsNullOrEmpty(objectName) || g.ObjectName == objectName)
                && (string.IsNullOrEmpty(database) || database == Privileges.Any || g.Database == database || g.Database == Privileges.Any))];
        }
    }

    /// <summary>Whether <paramref name="user"/> may use <paramref name="privilege"/> on every one of
    /// <paramref name="objectNames"/> of <paramref name="objectType"/> in <paramref name="database"/>. Root and the admin
    /// role may do anything.</summary>
    public bool IsPermitted(string user, string objectType, string privilege, string database, IReadOnlyList<string> objectNames)
    {
        if (user == Privileges.RootUser)
        {
            return true;
        }
        lock (_lock)
        {
            var record = FindUser(user);
            if (record is null)
            {
                return false;
            }
            if (record.Roles.Contains(Privileges.AdminRole))
            {
                return true;
            }
            foreach (var role in record.Roles.Append(Privileges.PublicRole))
            {
                if (objectNames.Count > 0 && objectNames.All(name => _data.Grants.Any(g => g.Role == role
                    && g.ObjectType == objectType
                    && (g.ObjectName == Privileges.Any || g.ObjectName == name)
                    && (g.Database == Privileges.Any || g.Database == database)
                    && Covers(g.Privilege, privilege))))
                {
                    return true;
                }
            }
            return false;
        }
    }

    private bool Covers(string granted, string needed)
    {
        if (granted == needed || granted == Privileges.All)
        {
            return true;
        }
        if (Privileges.BuiltInGroups.TryGetValue(granted, out var members))
        {
            return members.Contains(needed, StringComparer.Ordinal);
        }
        return _data.Groups.FirstOrDefault(g => g.Name == granted)?.Privileges.Contains(needed) == true;
    }

    // ---- privilege groups ----

    /// <summary>Built-in and custom privilege groups with their stored privilege names.</summary>
    public IReadOnlyList<(string Name, IReadOnlyList<string> Privileges)> Groups()
    {
        lock (_lock)
        {
            return
            [
                .. Privileges.BuiltInGroups.Select(g => (g.Key, (IReadOnlyList<string>)g.Value)),
                .. _data.Groups.Select(g => (g.Name, (IReadOnlyList<string>)[.. g.Privileges])),
            ];
        }
    }

    /// <summary>Creates an empty custom privilege group.</summary>
    public void CreateGroup(string name)
    {
        CheckName(name, "privilege group name");
        lock (_lock)
        {
            if (Privileges.BuiltInGroups.ContainsKey(name) || _data.Groups.Any(g => g.Name == name) || Privileges.IsKnown(Privileges.Normalize(name)))
            {
                throw Invalid($"privilege group '{name}' already exists or names a privilege");
            }
            _data.Groups.Add(new GroupRecord { Name = name });
            Save();
        }
    }

    /// <summary>Drops a custom privilege group that no grant uses.</summary>
    public void DropGroup(string name)
    {
        lock (_lock)
        {
            var group = _data.Groups.FirstOrDefault(g => g.Name == name)
                ?? throw Invalid($"privilege group '{name}' does not exist or is built in");
            if (_data.Grants.Any(g => g.Privilege == name))
            {
                throw Invalid($"privilege group '{name}' is granted to a role; revoke it first");
            }
            _data.Groups.Remove(group);
            Save();
        }
    }

    /// <summary>Adds privileges to a custom group, or removes them.</summary>
    public void SetGroupPrivileges(string name, IEnumerable<string> privileges, bool add)
    {
        var stored = privileges.Select(Privileges.Normalize).ToList();
        var unknown = stored.FirstOrDefault(p => !Privileges.IsKnown(p));
        if (unknown is not null)
        {
            throw Invalid($"'{Privileges.ApiName(unknown)}' is not a known privilege");
        }
        lock (_lock)
        {
            var group = _data.Groups.FirstOrDefault(g => g.Name == name)
                ?? throw Invalid($"privilege group '{name}' does not exist or is built in");
            foreach (var p in stored)
            {
                if (add && !group.Privileges.Contains(p))
                {
                    group.Privileges.Add(p);
                }
                else if (!add)
                {
                    group.Privileges.Remove(p);
                }
            }
            Save();
        }
    }

    // ---- API keys ----

    /// <summary>Creates an API key acting as <paramref name="user"/>. Returns the key's id and the key itself, which is
    /// shown this once: only its hash is stored.</summary>
    public (string Id, string Key) CreateApiKey(string user, string? name)
    {
        var id = RandomNumberGenerator.GetHexString(12, lowercase: true);
        var key = ApiKeyPrefix + id + "_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        lock (_lock)
        {
            if (FindUser(user) is null)
            {
                throw Invalid($"user '{user}' does not exist");
            }
            _data.ApiKeys.Add(new ApiKeyRecord
            {
                Id = id,
                User = user,
                Name = name,
                Hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key))),
                Created = DateTimeOffset.UtcNow,
            });
            Save();
        }
        return (id, key);
    }

    /// <summary>The live API keys (id, user, name, creation time; never the key).</summary>
    public IReadOnlyList<(string Id, string User, string? Name, DateTimeOffset Created)> ApiKeys()
    {
        lock (_lock)
        {
            return [.. _data.ApiKeys.Select(k => (k.Id, k.User, k.Name, k.Created))];
        }
    }

    /// <summary>Revokes an API key by id. Returns false when no key has that id.</summary>
    public bool RevokeApiKey(string id)
    {
        lock (_lock)
        {
            if (_data.ApiKeys.RemoveAll(k => k.Id == id) == 0)
            {
                return false;
            }
            Save();
        }
        Invalidate();
        return true;
    }

    // ---- helpers ----

    private UserRecord? FindUser(string name) => _data.Users.FirstOrDefault(u => u.Name == name);

    private static bool IsBuiltInRole(string role) => role is Privileges.AdminRole or Privileges.PublicRole;

    private static MilvusException Invalid(string reason) => new(MilvusCode.ParameterInvalid, reason);

    /// <summary>Milvus's rule for user and role names: a letter or underscore first, then letters, digits and
    /// underscores, at most 32 characters.</summary>
    private static void CheckName(string name, string what)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 32 || !(char.IsAsciiLetter(name[0]) || name[0] == '_')
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw Invalid($"invalid {what} '{name}': it must start with a letter or '_', hold only letters, digits and '_', and be at most 32 characters");
        }
    }

    /// <summary>Milvus's rule for passwords: 6 to 256 characters.</summary>
    private static void CheckPassword(string password)
    {
        if (password.Length is < 6 or > 256)
        {
            throw Invalid($"invalid password: its length must be between 6 and 256 characters, not {password.Length}");
        }
    }

    /// <summary>Writes the state: a temp file flushed to disk, renamed over the old one. Called under the lock.</summary>
    private void Save()
    {
        if (_saveTo is not null)
        {
            _saveTo(JsonSerializer.SerializeToUtf8Bytes(_data, SecurityJson.Default.SecurityData));
            return;
        }
        var folder = Path.GetDirectoryName(_path)!;
        Directory.CreateDirectory(folder);
        var temp = _path + ".tmp";
        var bytes = JsonSerializer.SerializeToUtf8Bytes(_data, SecurityJson.Default.SecurityData);
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(temp, fileOptions))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, _path, overwrite: true);
    }
}
