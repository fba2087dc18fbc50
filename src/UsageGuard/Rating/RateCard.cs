using System.Collections.Frozen;

namespace UsageGuard;

/// <summary>An immutable snapshot of model rates that resolves a model id to its rate.</summary>
/// <remarks>
/// <para><b>Resolution.</b> Ids are compared ordinally and case-sensitively (<c>GPT-4o</c> is not <c>gpt-4o</c>): an
/// exact <see cref="ModelRate.Model"/> wins, then an alias, then the wildcard family with the longest prefix. Within
/// one card exact ids and aliases never collide, because <see cref="Create"/> rejects it.</para>
/// <para><b>Layers.</b> <see cref="WithOverrides"/> puts a customer's contract rates in front of this card: the
/// contract is searched completely (exact, alias, wildcard) before this card is searched at all, so a contract's
/// <c>gpt-4o*</c> wins over this card's exact <c>gpt-4o</c>.</para>
/// <para>Resolution allocates nothing and takes no lock. The card is immutable and safe to share between threads;
/// to change rates, build a new card and swap the reference.</para>
/// </remarks>
public sealed partial class RateCard
{
    private readonly FrozenDictionary<string, ResolvedRate> _ids;
    private readonly FrozenDictionary<string, CompiledRate> _wildcards;
    private readonly FrozenDictionary<string, CompiledRate>.AlternateLookup<ReadOnlySpan<char>> _wildcardPrefixes;

    // The distinct lengths of the wildcard prefixes, longest first, so the first hit is the longest match.
    private readonly int[] _prefixLengths;
    private readonly RateCard? _fallback;

    private RateCard(FrozenDictionary<string, ResolvedRate> ids, FrozenDictionary<string, CompiledRate> wildcards, int[] prefixLengths, RateCard? fallback)
    {
        _ids = ids;
        _wildcards = wildcards;
        _wildcardPrefixes = wildcards.GetAlternateLookup<ReadOnlySpan<char>>();
        _prefixLengths = prefixLengths;
        _fallback = fallback;
    }

    /// <summary>Gets the card with no rates; it resolves nothing.</summary>
    public static RateCard Empty { get; } = new(
        FrozenDictionary.Create<string, ResolvedRate>(StringComparer.Ordinal),
        FrozenDictionary.Create<string, CompiledRate>(StringComparer.Ordinal),
        [],
        null);

    /// <summary>Finds the rate for a model id: exact id, then alias, then the longest matching wildcard prefix; a layered card searches its overrides first.</summary>
    /// <param name="modelId">The model id, compared ordinally and case-sensitively.</param>
    /// <param name="rate">The rate found, or the default value.</param>
    /// <returns><see langword="true"/> when a rate matched.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="modelId"/> is <see langword="null"/>.</exception>
    public bool TryResolve(string modelId, out ResolvedRate rate)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        for (RateCard? card = this; card is not null; card = card._fallback)
        {
            if (card.TryResolveOwn(modelId, out rate))
            {
                return true;
            }
        }

        rate = default;
        return false;
    }

    /// <summary>Returns a card in which the rates of <paramref name="overrides"/> (a customer's contract) win over this card's for every model id they match.</summary>
    /// <param name="overrides">The contract rates; searched completely (exact, alias, wildcard) before this card.</param>
    /// <returns>The layered card; neither card is changed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="overrides"/> is <see langword="null"/>.</exception>
    public RateCard WithOverrides(RateCard overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        RateCard? below = overrides._fallback is null ? this : WithOverrides(overrides._fallback);
        return new RateCard(overrides._ids, overrides._wildcards, overrides._prefixLengths, below);
    }

    private bool TryResolveOwn(string modelId, out ResolvedRate rate)
    {
        if (_ids.TryGetValue(modelId, out rate))
        {
            return true;
        }

        foreach (int length in _prefixLengths)
        {
            if (length <= modelId.Length && _wildcardPrefixes.TryGetValue(modelId.AsSpan(0, length), out CompiledRate? wildcard))
            {
                rate = new ResolvedRate(wildcard, RateMatch.Wildcard);
                return true;
            }
        }

        rate = default;
        return false;
    }
}
