using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Quiver.Server.Hosting;

namespace Quiver.Server.Security;

/// <summary>
/// Loads and checks the TLS material of <see cref="SecurityOptions"/> before the server starts, so that a set-up that
/// cannot work or is unsafe is refused with a <see cref="ServerConfigurationException"/> naming the file, the problem
/// and the fix, instead of starting a server whose every handshake fails with nothing in the log. Refused: RSA or DSA
/// keys below <see cref="MinFiniteFieldKeyBits"/> bits and elliptic-curve keys below <see cref="MinEllipticCurveKeyBits"/>
/// (clients at OpenSSL's default security level refuse them), certificates outside their validity dates, signatures
/// over MD2, MD4, MD5 or SHA-1, a certificate without its private key, and a client CA file that does not parse or has
/// expired. Warned about (<see cref="TlsMaterial.Warnings"/>): a private key file readable by its group or by others.
/// </summary>
internal static class TlsSetup
{
    /// <summary>Smallest RSA (or DSA) key accepted: 2,048 bits, as NIST SP 800-57 and OpenSSL's security level 2.</summary>
    public const int MinFiniteFieldKeyBits = 2048;

    /// <summary>Smallest elliptic-curve key accepted: 256 bits (P-256), the equivalent strength.</summary>
    public const int MinEllipticCurveKeyBits = 256;

    private const string RsassaPss = "1.2.840.113549.1.1.10";

    /// <summary>Signature algorithms over broken hashes, by OID, with the hash named in the refusal.</summary>
    private static readonly Dictionary<string, string> WeakSignatures = new(StringComparer.Ordinal)
    {
        ["1.2.840.113549.1.1.2"] = "MD2", // md2WithRSAEncryption
        ["1.2.840.113549.1.1.3"] = "MD4", // md4WithRSAEncryption
        ["1.2.840.113549.1.1.4"] = "MD5", // md5WithRSAEncryption
        ["1.3.14.3.2.3"] = "MD5", // md5WithRSA (OIW)
        ["1.2.840.113549.1.1.5"] = "SHA-1", // sha1WithRSAEncryption
        ["1.3.14.3.2.29"] = "SHA-1", // sha1WithRSASignature (OIW)
        ["1.2.840.10045.4.1"] = "SHA-1", // ecdsa-with-SHA1
        ["1.2.840.10040.4.3"] = "SHA-1", // id-dsa-with-sha1
        ["1.3.14.3.2.27"] = "SHA-1", // dsaWithSHA1 (OIW)
    };

    /// <summary>Hash OIDs that RSASSA-PSS parameters may name, when weak.</summary>
    private static readonly Dictionary<string, string> WeakHashes = new(StringComparer.Ordinal)
    {
        ["1.3.14.3.2.26"] = "SHA-1",
        ["1.2.840.113549.2.5"] = "MD5",
        ["1.2.840.113549.2.2"] = "MD2",
    };

    /// <summary>Loads the server certificate with its key and the client CA, and checks them at <paramref name="now"/>.
    /// Throws <see cref="ServerConfigurationException"/> for what cannot work or is unsafe.</summary>
    public static TlsMaterial Load(SecurityOptions options, DateTimeOffset now)
    {
        var warnings = new List<string>();
        var certificate = LoadServerCertificate(options);
        try
        {
            var source = options.TlsPfxPath ?? options.TlsCertificatePath!;
            CheckServerCertificate(certificate, source, now);
            if (options.TlsKeyPath is { } key)
            {
                WarnIfReadableByOthers(key, "private key file", warnings);
            }
            if (options.TlsPfxPath is { } pfx)
            {
                WarnIfReadableByOthers(pfx, "certificate file (it holds the private key)", warnings);
            }
            var clientCa = options.ClientCaPath is null ? null : LoadClientCa(options.ClientCaPath, now);
            return new TlsMaterial(certificate, clientCa, warnings);
        }
        catch
        {
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>The reason <paramref name="certificate"/> cannot serve TLS at <paramref name="now"/>, or null when it can.
    /// Checks the key strength, the validity dates and the signature algorithm; <paramref name="source"/> names the file
    /// in the message.</summary>
    internal static string? Refusal(X509Certificate2 certificate, string source, DateTimeOffset now)
    {
        var what = $"the TLS certificate '{source}' ({certificate.Subject})";
        if (KeyWeakness(certificate) is { } weakKey)
        {
            return $"{what} has {weakKey}: TLS clients refuse it and every handshake would fail. Issue a certificate with an " +
                $"RSA key of at least {MinFiniteFieldKeyBits} bits or an ECDSA key of at least {MinEllipticCurveKeyBits} bits (P-256)";
        }
        if (DateNotValid(certificate, now, what) is { } dates)
        {
            return dates;
        }
        if (WeakSignatureHash(certificate) is { } hash)
        {
            return $"{what} is signed with {hash} ({certificate.SignatureAlgorithm.FriendlyName ?? certificate.SignatureAlgorithm.Value}), " +
                "a broken hash that lets others forge it. Issue one signed with SHA-256 or stronger";
        }
        return null;
    }

    private static void CheckServerCertificate(X509Certificate2 certificate, string source, DateTimeOffset now)
    {
        if (!certificate.HasPrivateKey)
        {
            throw new ServerConfigurationException(
                $"the TLS certificate '{source}' holds no private key: give Security:TlsKeyPath with its PEM private key, or a " +
                "Security:TlsPfxPath file exported with the key");
        }
        if (Refusal(certificate, source, now) is { } refusal)
        {
            throw new ServerConfigurationException(refusal);
        }
    }

    private static string? DateNotValid(X509Certificate2 certificate, DateTimeOffset now, string what)
    {
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        if (now > notAfter)
        {
            return $"{what} expired on {notAfter:yyyy-MM-ddTHH:mm:ssZ}: clients refuse it. Renew the certificate";
        }
        if (now < notBefore)
        {
            return $"{what} is not valid before {notBefore:yyyy-MM-ddTHH:mm:ssZ}: clients refuse it. Check this machine's clock " +
                "and the certificate's dates";
        }
        return null;
    }

    /// <summary>"a 1024-bit RSA key" when the public key is below its minimum, else null.</summary>
    private static string? KeyWeakness(X509Certificate2 certificate)
    {
        using (var rsa = certificate.GetRSAPublicKey())
        {
            if (rsa is not null)
            {
                return rsa.KeySize < MinFiniteFieldKeyBits ? $"a {rsa.KeySize}-bit RSA key" : null;
            }
        }
        using (var ec = certificate.GetECDsaPublicKey())
        {
            if (ec is not null)
            {
                return ec.KeySize < MinEllipticCurveKeyBits ? $"a {ec.KeySize}-bit elliptic-curve key" : null;
            }
        }
        using (var dsa = certificate.GetDSAPublicKey())
        {
            if (dsa is not null)
            {
                return dsa.KeySize < MinFiniteFieldKeyBits ? $"a {dsa.KeySize}-bit DSA key" : null;
            }
        }
        return null;
    }

    /// <summary>The broken hash the certificate's signature uses ("MD5", "SHA-1"), or null.</summary>
    internal static string? WeakSignatureHash(X509Certificate2 certificate)
    {
        var oid = certificate.SignatureAlgorithm.Value ?? "";
        if (WeakSignatures.TryGetValue(oid, out var hash))
        {
            return hash;
        }
        return oid == RsassaPss ? PssHash(certificate.RawDataMemory) : null;
    }

    /// <summary>The weak hash named by an RSASSA-PSS signature's parameters (absent parameters mean SHA-1, RFC 4055),
    /// or null. Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signatureValue }.</summary>
    private static string? PssHash(ReadOnlyMemory<byte> der)
    {
        try
        {
            var certificate = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
            certificate.ReadEncodedValue(); // tbsCertificate
            var algorithm = certificate.ReadSequence();
            algorithm.ReadObjectIdentifier();
            if (!algorithm.HasData)
            {
                return "SHA-1";
            }
            var parameters = algorithm.ReadSequence();
            var hashTag = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
            if (!parameters.HasData || !parameters.PeekTag().HasSameClassAndValue(hashTag))
            {
                return "SHA-1";
            }
            var hash = parameters.ReadSequence(hashTag).ReadSequence().ReadObjectIdentifier();
            return WeakHashes.GetValueOrDefault(hash);
        }
        catch (AsnContentException)
        {
            return null; // the platform parsed the certificate; an odd parameter encoding is not ours to judge
        }
    }

    private static X509Certificate2 LoadServerCertificate(SecurityOptions options)
    {
        var source = options.TlsPfxPath ?? options.TlsCertificatePath;
        try
        {
            if (options.TlsPfxPath is { } pfx)
            {
                return X509CertificateLoader.LoadPkcs12FromFile(pfx, options.TlsPfxPassword);
            }
            if (options.TlsKeyPath is null)
            {
                throw new ServerConfigurationException(
                    "Security:TlsCertificatePath needs Security:TlsKeyPath: the PEM private key of the certificate");
            }
            using var pem = X509Certificate2.CreateFromPemFile(options.TlsCertificatePath!, options.TlsKeyPath);
            // Re-import so that the key is a persisted one; SslStream cannot use an ephemeral PEM key on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ServerConfigurationException($"cannot load the TLS certificate '{source}'" +
                (options.TlsKeyPath is { } key && options.TlsPfxPath is null ? $" with the key '{key}'" : "") +
                $": {e.Message} Check the paths, that the files are PEM (or PKCS#12 with its password), and that the key " +
                "belongs to the certificate", e);
        }
    }

    private static X509Certificate2Collection LoadClientCa(string path, DateTimeOffset now)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ServerConfigurationException(
                $"cannot load the client CA '{path}' (Security:ClientCaPath): {e.Message} It must be readable PEM " +
                "certificates (-----BEGIN CERTIFICATE-----)", e);
        }
        if (collection.Count == 0)
        {
            throw new ServerConfigurationException(
                $"the client CA file '{path}' (Security:ClientCaPath) holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        foreach (var ca in collection)
        {
            if (DateNotValid(ca, now, $"the client CA '{path}' ({ca.Subject})") is { } dates)
            {
                throw new ServerConfigurationException(dates + "; no client certificate could chain to it");
            }
        }
        return collection;
    }

    private static void WarnIfReadableByOthers(string path, string what, List<string> warnings)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // ACLs, not mode bits
        }
        var mode = File.GetUnixFileMode(path);
        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        if ((mode & others) != 0)
        {
            var who = (mode & UnixFileMode.OtherRead) != 0 ? "every local user" : "its group";
            warnings.Add($"the TLS {what} '{path}' can be read by {who} (mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}): " +
                $"anyone who reads it can impersonate this server. Run: chmod 600 '{path}'");
        }
    }
}

/// <summary>The checked TLS material of one server: the certificate with its key, the client CA (mutual TLS) and the
/// warnings to log at start.</summary>
internal sealed record TlsMaterial(X509Certificate2 Certificate, X509Certificate2Collection? ClientCa, IReadOnlyList<string> Warnings);
