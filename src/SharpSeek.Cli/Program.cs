// Program.cs: the sharpseek command line, the composition root. Each verb lives in Commands/<Verb>Command.cs.
using System.CommandLine;

var root = new RootCommand("SharpSeek: DeepSeek-V3 / R1 in pure C#: kernels, training, reasoning, inference.");
return root.Parse(args).Invoke();
