namespace Kezekshi.Edge.Agent.Tests;

/// <summary>Waiting for an outcome in tests: no timed assertion, only a hang guard that fails the test.</summary>
public static class Eventually
{
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(15);

    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? limit = null)
    {
        var guard = limit ?? HangGuard;
        var until = DateTime.UtcNow + guard;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"Gave up waiting (hang guard {guard.TotalSeconds:F0} s) until {what}.");
            await Task.Delay(10).ConfigureAwait(false);
        }
    }
}
