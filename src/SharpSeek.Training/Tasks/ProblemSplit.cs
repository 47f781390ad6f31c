// ProblemSplit.cs: which side of the train / held-out line a generated problem falls on. Not here: the rule that
// decides it (ProblemGenerator.SplitOf). Tested by ProblemGeneratorTests.
namespace SharpSeek.Training.Tasks;

/// <summary>Train problems feed pretraining, SFT and RL; held-out problems only evaluation.</summary>
public enum ProblemSplit
{
    Train,
    HeldOut,
}
