// Program.cs: the sharpseek command line, the composition root. Each verb lives in Commands/<Verb>Command.cs.
using System.CommandLine;
using SharpSeek.Cli.Commands;

var root = new RootCommand("SharpSeek: DeepSeek-V3 / R1 in pure C#: kernels, training, reasoning, inference.")
{
    BenchCommand.Create(),
    InfoCommand.Create(),
    ForwardCommand.Create(),
    TokenizerCommand.Create(),
    TrainCommand.Create(),
    PlotCommand.Create(),
    GenerateCommand.Create(),
};
return root.Parse(args).Invoke();
