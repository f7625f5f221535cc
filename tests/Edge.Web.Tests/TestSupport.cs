namespace Kezekshi.Edge.Web.Tests;

/// <summary>Waiting for an outcome in tests: no timed assertion, only a hang guard that fails the test.</summary>
public static class Eventually
{
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(20);

    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? limit = null)
    {
        var guard = limit ?? HangGuard;
        var until = DateTime.UtcNow + guard;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"Gave up waiting (hang guard {guard.TotalSeconds:F0} s) until {what}.");
            await Task.Delay(20).ConfigureAwait(false);
        }
    }
}

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kezekshi-web-test-" + Guid.NewGuid().ToString("N")[..12]);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
