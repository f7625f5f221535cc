using Microsoft.Extensions.Configuration;

namespace Kezekshi.Edge.Agent.Configuration;

/// <summary>The configuration could not be read or bound; the message names the file or setting and the fix.</summary>
public sealed class AgentConfigurationException : Exception
{
    public AgentConfigurationException() { }
    public AgentConfigurationException(string message) : base(message) { }
    public AgentConfigurationException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// The one place the agent's configuration is loaded, so <c>run</c> and <c>doctor</c> see the same values.
/// Sources, later ones winning: the JSON file (<c>appsettings.json</c> beside the executable, or
/// <c>--config</c>), environment variables (<c>Edge__SchoolId</c>, <c>Edge__Devices__0__Port</c>), and
/// command-line settings (<c>--Edge:SchoolId=kz-ala-school-042</c>).
/// </summary>
/// <param name="Configuration">Everything loaded, for logging and other sections.</param>
/// <param name="Options">The <c>Edge</c> section bound to <see cref="EdgeOptions"/>.</param>
/// <param name="ConfigFile">The full path of the JSON file that was (or would have been) read.</param>
/// <param name="ConfigFileFound">False when that file does not exist (only environment and command line apply).</param>
public sealed record AgentConfiguration(IConfiguration Configuration, EdgeOptions Options, string ConfigFile, bool ConfigFileFound)
{
    /// <summary>The default configuration file: <c>appsettings.json</c> beside the executable.</summary>
    public static string DefaultConfigFile => Path.Combine(AppContext.BaseDirectory, "appsettings.json");

    /// <summary>Loads the configuration.</summary>
    /// <param name="configPath">The <c>--config</c> file, or null for <see cref="DefaultConfigFile"/>. A missing file is not an error here: see <see cref="ConfigFileFound"/>.</param>
    /// <param name="args">Settings from the command line, <c>--Edge:SchoolId=x</c> or <c>--Edge:SchoolId x</c> (the tokens the command did not recognise).</param>
    /// <param name="environmentVariables">Whether to read environment variables (tests turn it off to stay independent of the machine).</param>
    /// <exception cref="AgentConfigurationException">The file is not valid JSON, or a value has the wrong type.</exception>
    public static AgentConfiguration Load(string? configPath, IReadOnlyList<string>? args = null, bool environmentVariables = true)
    {
        string file = Path.GetFullPath(string.IsNullOrWhiteSpace(configPath) ? DefaultConfigFile : configPath);
        bool found = File.Exists(file);
        var builder = new ConfigurationBuilder();
        if (found) builder.AddJsonFile(file, optional: false, reloadOnChange: false);
        if (environmentVariables) builder.AddEnvironmentVariables();
        if (args is { Count: > 0 }) builder.AddCommandLine([.. args]);

        IConfiguration configuration;
        try { configuration = builder.Build(); }
        catch (Exception e) when (e is InvalidDataException or FormatException or System.Text.Json.JsonException)
        {
            throw new AgentConfigurationException($"{file} is not valid JSON: {Innermost(e).Message} Check for a missing comma, quote or brace.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AgentConfigurationException($"{file} cannot be read: {e.Message} Run this as the service user (sudo -u kezekshi …) or make the file readable by it (install-service makes it root:kezekshi 0640).", e);
        }

        var options = new EdgeOptions();
        try { configuration.GetSection(EdgeOptions.Section).Bind(options); }
        catch (InvalidOperationException e)
        {
            throw new AgentConfigurationException($"A setting in the Edge section has the wrong type: {e.Message} (from {file}, environment variables Edge__… or the command line). Numbers go without quotes; lists are JSON arrays.", e);
        }
        return new AgentConfiguration(configuration, options, file, found);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
