using System.Diagnostics;
using Kezekshi.Edge.Biometrics.Tests.Models;

namespace Kezekshi.Edge.Biometrics.Tests.Storage;

/// <summary>
/// The Windows path of the template key file (DPAPI through crypt32.dll), run for real: the probe
/// in tools/WindowsKeyProbe compiles the product's TemplateKey.cs for win-x64, and this test
/// publishes it self-contained and runs it under Wine (Debian's wine64, which tools/setup.sh
/// installs). Wine's crypt32 implements CryptProtectData/CryptUnprotectData, so this checks our
/// P/Invoke declarations, the blob handling and freeing, the file format and the refusal of a
/// damaged file on a Windows code path — not Windows' own key management (that the blob only opens
/// under the service user's account is Windows' promise, which Wine does not model).
/// </summary>
[Category("Integration")]
[NonParallelizable]
public sealed class TemplateKeyOnWindowsTests
{
    [Test]
    public void The_Windows_key_file_is_DPAPI_protected_reads_back_and_refuses_damage()
    {
        string? wine = new[] { "/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine" }.FirstOrDefault(File.Exists);
        if (wine is null)
            Assert.Ignore("wine64 is not installed (tools/setup.sh installs it), so the Windows DPAPI key path was not run.");

        string work = Directory.CreateTempSubdirectory("kz-wine-").FullName;
        try
        {
            string probe = Path.Combine(TestAssets.RepositoryRoot, "tools", "WindowsKeyProbe", "WindowsKeyProbe.csproj");
            var (published, publishOutput) = Run("dotnet", ["publish", probe, "-c", "Release", "-o", Path.Combine(work, "probe"), "--nologo", "-v", "quiet"], work, TimeSpan.FromMinutes(5));
            Assert.That(published, Is.Zero, "publishing the win-x64 probe failed:\n" + publishOutput);

            // A Wine prefix of its own (a fresh "Windows" in the temp folder), no Wine debug chatter.
            var (exit, output) = Run(wine!, [Path.Combine(work, "probe", "WindowsKeyProbe.exe")], work, TimeSpan.FromMinutes(3),
                ("WINEPREFIX", Path.Combine(work, "prefix")), ("WINEDEBUG", "-all"));
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            TestContext.Out.WriteLine(output);

            foreach (string check in new[] { "windows", "created", "dpapi-header", "key-not-in-file", "reloaded", "distinct", "tampered-refused" })
                Assert.That(lines.Any(l => l.StartsWith($"ok {check}:", StringComparison.Ordinal)), Is.True, $"check '{check}' did not pass under Wine:\n{output}");
            Assert.That(lines.Where(l => l.StartsWith("failed", StringComparison.Ordinal)), Is.Empty, "no check failed");
            Assert.That(exit, Is.Zero, "the probe's exit code is its number of failed checks");
            Assert.That(lines.Single(l => l.StartsWith("ok tampered-refused:", StringComparison.Ordinal)), Does.Contain("run the service as that user, or re-enrol"),
                "a damaged key file is refused with what to do");
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static (int Exit, string Output) Run(string file, string[] arguments, string directory, TimeSpan limit, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(file)} did not finish within {limit.TotalMinutes} minutes.");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
