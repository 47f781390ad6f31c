// ConfigWarnings.cs: the warnings a config earns, printed the same way by every verb that reads one: keys it does not
// know (kept on save) and, in one line, the keys it left out that took their family's Hugging Face default.
// Not here: the defaults themselves (SharpSeek.Model/Families/ModelFamilies.cs). Tested by InfoCommandTests.
using SharpSeek.Model;

namespace SharpSeek.Cli.Commands;

internal static class ConfigWarnings
{
    public static void Write(ModelConfig config, TextWriter errors)
    {
        foreach (var key in config.UnknownKeys) { errors.WriteLine($"warning: unknown config key '{key}' (kept on save, not used)"); }
        if (config.DefaultedKeys.Count > 0)
        {
            errors.WriteLine($"warning: config.json leaves out {config.DefaultedKeys.Count} key(s); using the {config.ModelType} defaults: " +
                string.Join(", ", config.DefaultedKeys.Select(k => $"{k.Key} = {k.Value}")));
        }
    }
}
