// ConfigWarnings.cs: the warnings a config earns, printed the same way (to stderr, once, when the config has been
// accepted) by every verb that reads one (info, forward, generate, chat, serve, train): keys it does not know (kept on
// save) and, in one line, the keys it left out that took their family's Hugging Face default. Not here: the defaults
// themselves (SharpSeek.Model/Families/ModelFamilies.cs). Tested by InfoCommandTests and ConfigWarningsTests.
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

    /// <summary>The warnings of the config at <paramref name="path"/>: a config file, or a model directory (the config.json
    /// of its newest complete checkpoint, as the loaders read it). Nothing for a preset name (the presets leave nothing
    /// out) or a path with no config (the loader says so).</summary>
    public static void Write(string path, TextWriter errors)
    {
        if (Directory.Exists(path)) { path = CheckpointCommit.Resolve(path, CheckpointDirectory.ConfigFile); }
        if (File.Exists(path)) { Write(ModelConfig.Load(path), errors); }
    }
}
