// Rational.cs: exact rationals over BigInteger (numerator and a positive denominator in lowest terms), so answers and
// countdown expressions compare exactly: 6/4*2 is 3, "1234.50" is 2469/2, and no size overflows. Not here: parsing
// (NumericAnswer.cs, CountdownExpression.cs). Tested through NumericAnswerTests and CountdownExpressionTests.
using System.Numerics;

namespace SharpSeek.Rl.Rewards;

/// <summary>n / d in lowest terms with d &gt; 0; equal values have equal fields.</summary>
internal readonly struct Rational : IEquatable<Rational>
{
    private Rational(BigInteger numerator, BigInteger denominator)
    {
        Numerator = numerator;
        Denominator = denominator;
    }

    public BigInteger Numerator { get; }

    public BigInteger Denominator { get; }

    public bool IsZero => Numerator.IsZero;

    /// <summary>n / d reduced; d must not be 0.</summary>
    public static Rational Of(BigInteger n, BigInteger d)
    {
        if (d.IsZero) { throw new DivideByZeroException(); }
        if (d.Sign < 0) { (n, d) = (-n, -d); }
        var g = BigInteger.GreatestCommonDivisor(n, d);
        return g.IsOne || g.IsZero ? new(n, d) : new(n / g, d / g);
    }

    public static Rational operator +(Rational a, Rational b) => Of((a.Numerator * b.Denominator) + (b.Numerator * a.Denominator), a.Denominator * b.Denominator);

    public static Rational operator -(Rational a, Rational b) => Of((a.Numerator * b.Denominator) - (b.Numerator * a.Denominator), a.Denominator * b.Denominator);

    public static Rational operator *(Rational a, Rational b) => Of(a.Numerator * b.Numerator, a.Denominator * b.Denominator);

    /// <summary>a / b; b must not be zero (callers check <see cref="IsZero"/>).</summary>
    public static Rational operator /(Rational a, Rational b) => Of(a.Numerator * b.Denominator, a.Denominator * b.Numerator);

    public static bool operator ==(Rational a, Rational b) => a.Equals(b);

    public static bool operator !=(Rational a, Rational b) => !a.Equals(b);

    public bool Equals(Rational other) => Numerator == other.Numerator && Denominator == other.Denominator;

    public override bool Equals(object? obj) => obj is Rational r && Equals(r);

    public override int GetHashCode() => HashCode.Combine(Numerator, Denominator);

    public override string ToString() => Denominator.IsOne ? Numerator.ToString() : $"{Numerator}/{Denominator}";
}
