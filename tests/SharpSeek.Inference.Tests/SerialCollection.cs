// SerialCollection.cs: tests that swap process-wide state (WorkerPool.Current) run alone, after the parallel collections.
namespace SharpSeek.Inference.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial";
}
