namespace UsageGuard;

/// <summary>Thrown when a reservation is settled or released after it was already settled, released, or expired at its TTL.</summary>
public sealed class ReservationStateException : UsageGuardException
{
    /// <summary>Initializes a new instance of the <see cref="ReservationStateException"/> class.</summary>
    public ReservationStateException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ReservationStateException"/> class.</summary>
    /// <param name="message">The message.</param>
    public ReservationStateException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ReservationStateException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ReservationStateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal ReservationStateException(long reservationId, string message)
        : base(message)
    {
        ReservationId = reservationId;
    }

    /// <summary>Gets the reservation that is no longer active.</summary>
    public long? ReservationId { get; }
}
