// NumericAnswerTests.cs: answers that are numbers parse to their exact value (separators, decimals, signs, the Unicode
// minus, numbers beyond 64 bits); anything with units, currency, words, bad grouping or other notation does not.
using SharpSeek.Rl.Rewards;

namespace SharpSeek.Rl.Tests;

public sealed class NumericAnswerTests
{
    [Theory]
    [InlineData("1234", "1234")]
    [InlineData("1,234", "1234")]
    [InlineData("1234.0", "1234")]
    [InlineData(" 1,234.00 \n", "1234")]
    [InlineData("+7", "7")]
    [InlineData("-5", "-5")]
    [InlineData("\u22125", "-5")]
    [InlineData("0.5", "1/2")]
    [InlineData(".5", "1/2")]
    [InlineData("3.", "3")]
    [InlineData("-0", "0")]
    [InlineData("007", "7")]
    [InlineData("1,234,567.25", "4938269/4")]
    [InlineData("123456789012345678901234567890", "123456789012345678901234567890")]
    public void TryParse_Number_GivesItsExactValue(string text, string expected)
    {
        Assert.True(NumericAnswer.TryParse(text, out var value));
        Assert.Equal(expected, value.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("42 apples")]
    [InlineData("$42")]
    [InlineData("42%")]
    [InlineData("x = 42")]
    [InlineData("42 or 43")]
    [InlineData("12,34")]
    [InlineData("1,2345")]
    [InlineData(",123")]
    [InlineData("1,234,")]
    [InlineData("1 234")]
    [InlineData("1e3")]
    [InlineData("--5")]
    [InlineData("+-5")]
    [InlineData("0x10")]
    [InlineData("\u0663")]
    [InlineData("5/2")]
    [InlineData("\u2212")]
    [InlineData(".")]
    [InlineData("1.2.3")]
    [InlineData("forty-two")]
    public void TryParse_NotJustANumber_Fails(string text) => Assert.False(NumericAnswer.TryParse(text, out _));

    [Fact]
    public void TryParse_TooLong_Fails()
    {
        Assert.True(NumericAnswer.TryParse(new string('9', 400), out _));
        Assert.False(NumericAnswer.TryParse(new string('9', 401), out _));
    }

    [Fact]
    public void Equal_ValuesCompareExactly()
    {
        static Rational V(string s) => NumericAnswer.TryParse(s, out var v) ? v : throw new FormatException(s);
        Assert.Equal(V("1,234"), V("1234.000"));
        Assert.NotEqual(V("0.1"), V("0.10000000000000001"));
        Assert.Equal(V("-2.50"), V("\u22122.5"));
    }
}
