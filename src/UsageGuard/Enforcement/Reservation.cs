namespace UsageGuard;

/// <summary>A handle to an admitted hold: settle it with the actual cost, or release it.</summary>
/// <remarks>
/// A small value: copying it is free and it allocates nothing. Settle or release exactly once; a second call,
/// or a call after the TTL, throws <see cref="ReservationStateException"/>. The handle is thread-safe: racing
/// settlements of one reservation apply once.
/// </remarks>
public readonly struct Reservation : IEquatable<Reservation>
{
    internal Reservation(ReservationState state, long id, CreditAmount held, DateTimeOffset expiresAt)
    {
        State = state;
        Id = id;
        Held = held;
        ExpiresAt = expiresAt;
    }

    /// <summary>Gets the reservation's id, unique within the process and increasing across restarts.</summary>
    public long Id { get; }

    /// <summary>Gets the amount held.</summary>
    public CreditAmount Held { get; }

    /// <summary>Gets when the hold is released if it has not been settled.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>Gets a value indicating whether the handle refers to a reservation (the default value does not).</summary>
    public bool IsValid => State is not null;

    internal ReservationState? State { get; }

    /// <summary>Settles the reservation with its actual cost.</summary>
    /// <param name="actual">The actual cost; zero or more, at most the credit type's scale in decimal places.</param>
    /// <param name="cancellationToken">Cancels waiting for durability; the settlement itself is applied once started.</param>
    /// <returns>What was charged, released, overdrawn or recorded as overage.</returns>
    /// <exception cref="ReservationStateException">The reservation was already settled, released, or expired.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="actual"/> is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="actual"/> has more decimal places than the credit type's scale.</exception>
    /// <exception cref="InvalidOperationException">The handle is the default value.</exception>
    public ValueTask<SettlementResult> SettleAsync(decimal actual, CancellationToken cancellationToken = default) =>
        Guard.SettleAsync(this, actual, cancellationToken);

    /// <summary>Releases the whole hold without charging anything.</summary>
    /// <param name="cancellationToken">Not used by the in-memory engine; kept for symmetry.</param>
    /// <returns>A task that completes when the hold is released.</returns>
    /// <exception cref="ReservationStateException">The reservation was already settled, released, or expired.</exception>
    /// <exception cref="InvalidOperationException">The handle is the default value.</exception>
    public ValueTask ReleaseAsync(CancellationToken cancellationToken = default) => Guard.ReleaseAsync(this, cancellationToken);

    private EntitlementGuard Guard => State?.Guard ?? throw new InvalidOperationException("This reservation handle is the default value; only handles returned by an admitted reservation can be settled or released.");

    /// <inheritdoc />
    public bool Equals(Reservation other) => Id == other.Id && ReferenceEquals(State, other.State);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Reservation other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Id.GetHashCode();

    /// <summary>Tests two handles for equality.</summary>
    /// <param name="left">The first handle.</param>
    /// <param name="right">The second handle.</param>
    /// <returns><see langword="true"/> when both refer to the same reservation.</returns>
    public static bool operator ==(Reservation left, Reservation right) => left.Equals(right);

    /// <summary>Tests two handles for inequality.</summary>
    /// <param name="left">The first handle.</param>
    /// <param name="right">The second handle.</param>
    /// <returns><see langword="true"/> when they refer to different reservations.</returns>
    public static bool operator !=(Reservation left, Reservation right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => $"Reservation {Id} holding {Held}";
}
