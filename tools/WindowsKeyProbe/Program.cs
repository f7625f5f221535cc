using Kezekshi.Edge.Biometrics.Storage;

// Each check prints "ok <name>: <detail>" or "failed <name>: <detail>"; the exit code is the number
// of failures. The test on Linux reads these lines (docs/biometrics.md, "Key file on Windows").
var folder = Directory.CreateTempSubdirectory("kz-key-probe-").FullName;
int failures = 0;

void Report(string name, bool ok, string detail)
{
    Console.WriteLine($"{(ok ? "ok" : "failed")} {name}: {detail}");
    if (!ok)
        failures++;
}

try
{
    Report("windows", OperatingSystem.IsWindows(), $"OperatingSystem.IsWindows() = {OperatingSystem.IsWindows()}");

    string path = Path.Combine(folder, "template.key");
    byte[] created = TemplateKey.LoadOrCreate(path);
    byte[] file = File.ReadAllBytes(path);
    Report("created", created.Length == 32, $"{created.Length}-byte key, {file.Length}-byte file");
    Report("dpapi-header", file.AsSpan().StartsWith("KZBD1\n"u8), $"file starts with '{System.Text.Encoding.ASCII.GetString(file, 0, Math.Min(5, file.Length))}'");
    Report("key-not-in-file", file.AsSpan().IndexOf(created) < 0, "the raw key bytes do not appear in the file");

    byte[] reloaded = TemplateKey.LoadOrCreate(path);
    Report("reloaded", reloaded.AsSpan().SequenceEqual(created), "the key read back equals the key created");

    string second = Path.Combine(folder, "second.key");
    Report("distinct", !TemplateKey.LoadOrCreate(second).AsSpan().SequenceEqual(created), "a second key file holds a different key");

    string tampered = Path.Combine(folder, "tampered.key");
    byte[] damaged = (byte[])file.Clone();
    damaged[^8] ^= 0x5a;
    File.WriteAllBytes(tampered, damaged);
    try
    {
        TemplateKey.LoadOrCreate(tampered);
        Report("tampered-refused", false, "a damaged DPAPI blob was accepted");
    }
    catch (BiometricsStoreException e)
    {
        Report("tampered-refused", e.Message.Contains("DPAPI could not unprotect", StringComparison.Ordinal), e.Message);
    }
}
catch (Exception e)
{
    Report("unexpected", false, e.ToString().ReplaceLineEndings(" | "));
}
finally
{
    Directory.Delete(folder, recursive: true);
}
return failures;
