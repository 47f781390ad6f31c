// TaskFamily.cs: the built-in families of verifiable problems: column addition, subtraction and multiplication, two-step
// word problems and countdown. Not here: their generators (ColumnArithmetic.cs, WordProblems.cs, CountdownPuzzles.cs) and
// their levels (ProblemGenerator.cs). Tested by ProblemGeneratorTests.
namespace SharpSeek.Training.Tasks;

/// <summary>A family of generated problems. The level means: for Add, Sub and Mul the digits of the longer operand
/// (1–6); for Word the size of the amounts (1–3, tenfold per level); for Countdown how many numbers are given (3 or
/// 4).</summary>
public enum TaskFamily
{
    Add,
    Sub,
    Mul,
    Word,
    Countdown,
}
