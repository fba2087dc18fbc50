using System.Runtime.InteropServices;

namespace UsageGuard;

/// <summary>A counter alone on its cache lines, so that threads updating neighbouring counters do not false-share.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedLong
{
    [FieldOffset(64)]
    public long Value;
}
