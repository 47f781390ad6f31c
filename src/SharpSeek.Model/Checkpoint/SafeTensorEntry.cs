// SafeTensorEntry.cs: one tensor to write into a safetensors file: name, dtype, shape and its little-endian bytes.
// Not here: writing (SafeTensorsWriter.cs). Tested by SafeTensorsWriterTests.
using SharpSeek.Tensors;

namespace SharpSeek.Model.Checkpoint;

/// <summary>A tensor for <see cref="SafeTensorsWriter.Write"/>; <paramref name="Data"/> holds product(Shape) × dtype size bytes.</summary>
public sealed record SafeTensorEntry(string Name, DType DType, long[] Shape, ReadOnlyMemory<byte> Data);
