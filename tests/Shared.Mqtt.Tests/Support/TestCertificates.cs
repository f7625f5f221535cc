namespace Kezekshi.Mqtt.Tests.Support;

/// <summary>
/// A throwaway PKI made with the <c>openssl</c> CLI (docs/libmosquitto-binding.md §5): a CA, a server certificate for
/// 127.0.0.1/localhost, and one client certificate per name with CN = that name (school ID or centre worker).
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory) => Directory = directory;

    /// <summary>Directory holding <c>ca.crt</c>, <c>server.crt</c>/<c>server.key</c> and <c>{name}.crt</c>/<c>{name}.key</c>.</summary>
    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, "ca.crt");

    public string ServerCertFile => Path.Combine(Directory, "server.crt");

    public string ServerKeyFile => Path.Combine(Directory, "server.key");

    public string CertFile(string name) => Path.Combine(Directory, name + ".crt");

    public string KeyFile(string name) => Path.Combine(Directory, name + ".key");

    /// <summary>Creates the CA, the server certificate and client certificates for <paramref name="clientNames"/> (about 0.1 s each).</summary>
    public static TestCertificates Create(params string[] clientNames)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("kz-mqtt-pki-").FullName;
        var certificates = new TestCertificates(directory);
        try
        {
            void Openssl(params string[] args) => ProcessRunner.Run("openssl", directory, args);
            Openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30", "-subj", "/CN=Kezekshi Test MQTT CA " + Guid.NewGuid().ToString("N")[..8],
                "-keyout", "ca.key", "-out", "ca.crt");
            File.WriteAllText(Path.Combine(directory, "server.ext"),
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n");
            File.WriteAllText(Path.Combine(directory, "client.ext"), "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n");
            Openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr");
            Openssl("x509", "-req", "-sha256", "-days", "30", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-extfile", "server.ext", "-out", "server.crt");
            foreach (var name in clientNames)
            {
                Openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", name + ".key", "-out", name + ".csr");
                Openssl("x509", "-req", "-sha256", "-days", "30", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                    "-extfile", "client.ext", "-out", name + ".crt");
            }
            return certificates;
        }
        catch
        {
            certificates.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
