// Program.cs: the sharpseek command line, the composition root. Each verb lives in Commands/<Verb>Command.cs. Tested by
// CliTests (--help, --version, exit codes) and every verb's tests.
using System.CommandLine;
using System.Globalization;
using SharpSeek.Cli.Commands;

// Numbers in output and files are culture-invariant whatever the user's locale; ICU stays on for Unicode normalization
// (tokenizers with an NFC normalizer need it).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.DefaultThreadCurrentUICulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentUICulture = CultureInfo.InvariantCulture;

var root = new RootCommand("SharpSeek: DeepSeek-V3 / R1 in pure C#: kernels, training, reasoning, inference.")
{
    BenchCommand.Create(),
    InfoCommand.Create(),
    InitCommand.Create(),
    ForwardCommand.Create(),
    TokenizerCommand.Create(),
    TrainCommand.Create(),
    SftCommand.Create(),
    RlCommand.Create(),
    R1Command.Create(),
    DistillCommand.Create(),
    ExtendCommand.Create(),
    EvalCommand.Create(),
    PlotCommand.Create(),
    GenerateCommand.Create(),
    ServeCommand.Create(),
    ChatCommand.Create(),
};
return root.Parse(args).Invoke();
