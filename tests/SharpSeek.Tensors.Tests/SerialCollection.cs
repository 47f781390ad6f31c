// SerialCollection.cs: tests that measure or swap process-wide state (allocation counters, WorkerPool.Current) run alone,
// after the parallel collections.
namespace SharpSeek.Tensors.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial";
}
