// ConfigWarnings.cs: the warnings a config earns, printed the same way (to stderr, once) by every verb that reads one
// (info, forward, generate, chat, serve, train): keys it does not know (kept on save) and, in one line, the keys it left
// out that took their family's Hugging Face default. Not here: the defaults themselves (SharpSeek.Model/Families/
// ModelFamilies.cs). Tested by InfoCommandTests and ConfigWarningsTests.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;

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

    /// <summary>The warnings of the config a verb is about to load from <paramref name="source"/>: a preset, a config file,
    /// or a model directory (the config.json of its newest complete checkpoint, as the loaders read it). Nothing when a
    /// directory has none: the loader then says so.</summary>
    public static void Write(string source, TextWriter errors)
    {
        if (Directory.Exists(source))
        {
            source = CheckpointCommit.Resolve(source, CheckpointDirectory.ConfigFile);
            if (!File.Exists(source)) { return; }
        }
        Write(ModelConfig.LoadPreset(source), errors);
    }
}
