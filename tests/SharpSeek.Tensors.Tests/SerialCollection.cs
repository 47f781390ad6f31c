// SerialCollection.cs: tests that measure process-wide state (GC allocation counters, the current worker pool) run alone.
namespace SharpSeek.Tensors.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial";
}
