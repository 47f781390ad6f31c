// CountdownExpressionTests.cs: countdown answers are checked exactly by our own parser: the multiset of numbers, exact
// rational values (6/4*2 = 3, non-integer intermediates), division by zero, the "= target" suffix, no unary minus,
// decimals or code, bounded nesting, numbers beyond 64 bits.
using System.Numerics;
using SharpSeek.Rl.Rewards;

namespace SharpSeek.Rl.Tests;

public sealed class CountdownExpressionTests
{
    [Theory]
    [InlineData("(1 + 2) * 3", new[] { 1, 2, 3 }, 9)]
    [InlineData("3 * (2 + 1)", new[] { 1, 2, 3 }, 9)]
    [InlineData(" ( 1+2 )*3 \n", new[] { 1, 2, 3 }, 9)]
    [InlineData("6 / 4 * 2", new[] { 6, 4, 2 }, 3)]
    [InlineData("6 \u00F7 4 \u00D7 2", new[] { 6, 4, 2 }, 3)]
    [InlineData("10 \u2212 4", new[] { 10, 4 }, 6)]
    [InlineData("(1 / 3 + 1) * 3", new[] { 1, 3, 1, 3 }, 4)]
    [InlineData("100 * 8 - 3 - 100", new[] { 3, 8, 100, 100 }, 697)]
    [InlineData("(19 - 6) * 100 / 5", new[] { 100, 5, 19, 6 }, 260)]
    [InlineData("(1 + 2) * 3 = 9", new[] { 1, 2, 3 }, 9)]
    [InlineData("(1 + 2) * 3 = 9.0", new[] { 1, 2, 3 }, 9)]
    [InlineData("((((2 + 3))))", new[] { 2, 3 }, 5)]
    public void Solves_RightExpression_IsTrue(string text, int[] numbers, long target) =>
        Assert.True(CountdownExpression.Solves(text, numbers, target));

    [Theory]
    [InlineData("3 * 3 + 2", new[] { 2, 3, 5 }, 11)]          // 3 used twice, 5 unused
    [InlineData("2 * 3", new[] { 2, 3, 5 }, 6)]               // 5 unused
    [InlineData("2 * 3 + 5 + 0", new[] { 2, 3, 5 }, 11)]      // an extra number
    [InlineData("2 * 3 + 5 + 11 - 11", new[] { 2, 3, 5 }, 11)]
    [InlineData("2 * 3 + 5", new[] { 2, 3, 5 }, 12)]          // wrong value
    [InlineData("5 / (3 - 3)", new[] { 5, 3, 3 }, 0)]         // division by zero
    [InlineData("(1 + 2) * 3 = 10", new[] { 1, 2, 3 }, 9)]    // the stated result is not the target
    [InlineData("(1 + 2) * 3 = 10", new[] { 1, 2, 3 }, 10)]   // the expression is not the target
    [InlineData("(1 + 2) * 3 = 9 = 9", new[] { 1, 2, 3 }, 9)]
    [InlineData("= 9", new[] { 1, 2, 3 }, 9)]
    [InlineData("9 = (1 + 2) * 3", new[] { 1, 2, 3 }, 9)]
    [InlineData("-3 + 5", new[] { 3, 5 }, 2)]                 // no unary minus
    [InlineData("1.5 * 2", new[] { 1, 2 }, 3)]                // no decimals
    [InlineData("2 ** 3", new[] { 2, 3 }, 8)]
    [InlineData("2 ^ 3", new[] { 2, 3 }, 8)]
    [InlineData("(1 + 2 * 3", new[] { 1, 2, 3 }, 7)]
    [InlineData("1 + 2) * 3", new[] { 1, 2, 3 }, 9)]
    [InlineData("__import__('os').system('ls')", new[] { 1 }, 1)]
    [InlineData("2 + 3 apples", new[] { 2, 3 }, 5)]
    [InlineData("", new[] { 2, 3 }, 5)]
    public void Solves_WrongOrMalformed_IsFalse(string text, int[] numbers, long target) =>
        Assert.False(CountdownExpression.Solves(text, numbers, target));

    [Fact]
    public void TryEvaluate_HugeNumbers_ExactWithoutOverflow()
    {
        Assert.True(CountdownExpression.TryEvaluate("99999999999999999999 * 99999999999999999999", out var value, out var literals));
        var n = BigInteger.Pow(10, 20) - 1;
        Assert.Equal((n * n).ToString(), value.ToString());
        Assert.Equal([n, n], literals);
        Assert.False(CountdownExpression.Solves("99999999999999999999 * 1", [1, 2], 99));
    }

    [Fact]
    public void Solves_DeepNestingOrLongText_IsFalseNotAStackOverflow()
    {
        Assert.True(CountdownExpression.Solves(new string('(', 32) + "2 + 3" + new string(')', 32), [2, 3], 5));
        Assert.False(CountdownExpression.Solves(new string('(', 33) + "2 + 3" + new string(')', 33), [2, 3], 5));
        Assert.False(CountdownExpression.Solves(new string('(', 100_000) + "2 + 3" + new string(')', 100_000), [2, 3], 5));
        Assert.False(CountdownExpression.Solves("2 + 3" + new string(' ', 1000), [2, 3], 5));
    }
}
