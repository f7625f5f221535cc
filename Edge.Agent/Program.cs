return await Kezekshi.Edge.Agent.Cli.EdgeCommandLine.Build().Parse(args).InvokeAsync();
