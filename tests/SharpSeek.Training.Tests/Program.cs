// Program.cs: the test assembly's entry point, in place of the empty one Microsoft.NET.Test.Sdk would generate
// (GenerateProgramFile is false in the project). Run as `dotnet SharpSeek.Training.Tests.dll step-allocations <balance>`
// it prints DeepSeekTrainingStepAllocationTests' measurement, taken in this process where no test-runner thread
// allocates beside the step; with other arguments it does nothing. Not here: the tests.
namespace SharpSeek.Training.Tests;

internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == DeepSeekTrainingStepAllocationTests.Verb && Enum.TryParse<BalanceMode>(args[1], out var balance))
        {
            Console.WriteLine(DeepSeekTrainingStepAllocationTests.Measure(balance));
        }
        return 0;
    }
}
