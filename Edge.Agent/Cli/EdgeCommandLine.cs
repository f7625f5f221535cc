using System.CommandLine;

namespace Kezekshi.Edge.Agent.Cli;

/// <summary>The command line: run, demo, doctor, install-service, users, biometrics.</summary>
public static class EdgeCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Kezekshi Edge: school gate, card reader and turnstile agent.");
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(InstallServiceCommand.Create());
        root.Subcommands.Add(UsersCommand.Create());
        root.Subcommands.Add(TillSoakCommand.Create());
        root.Subcommands.Add(BiometricsCommand.Create());
        return root;
    }
}
