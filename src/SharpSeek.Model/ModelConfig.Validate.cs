// ModelConfig.Validate.cs: the entry to the rules a config must meet before anything is allocated, and the checks the
// families' rules share; each failure names the HF key, its value and the expected range. Not here: the rules
// themselves (Families/DeepSeekV3Family.cs, Families/DenseFamily.cs), parsing (ModelConfig.Json.cs).
// Tested by ModelConfigTests.
namespace SharpSeek.Model;

public sealed partial record ModelConfig
{
    /// <summary>Throws <see cref="InvalidDataException"/> for a config no model can be built from, e.g.
    /// "config field 'n_group' = 3: expected a divisor of n_routed_experts (8)": the rules of its family
    /// (<see cref="ModelFamilies.Validate"/>).</summary>
    public void Validate() => ModelFamilies.Validate(this);

    internal void ValidateTokenId(string field, int? id)
    {
        if (id is { } v && (v < 0 || v >= VocabSize)) { Fail(field, v, $"in [0, vocab_size = {VocabSize})"); }
    }

    internal static string OneOf(string[] values) => "one of " + string.Join(", ", values.Select(v => $"\"{v}\""));

    internal static void Positive(string field, int value)
    {
        if (value <= 0) { Fail(field, value, "> 0"); }
    }

    internal static void AtLeast(string field, int value, int min)
    {
        if (value < min) { Fail(field, value, $"≥ {min}"); }
    }

    internal static void Range(string field, int value, int min, int max, string maxName)
    {
        if (value < min || value > max) { Fail(field, value, $"in [{min}, {maxName} = {max}]"); }
    }

    internal static void PositiveFinite(string field, double value)
    {
        if (!(value > 0) || double.IsInfinity(value)) { Fail(field, value, "a finite value > 0"); }
    }

    internal static void Fail(string field, object? value, string expected) =>
        throw new InvalidDataException($"config field '{field}' = {value?.ToString() ?? "null"}: expected {expected}");
}
