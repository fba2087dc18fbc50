using System.Runtime.InteropServices;
using SQLitePCL;

namespace UsageGuard.Sqlite;

/// <summary>
/// Column reads of a stepped statement for the event read's hot loop: straight to the e_sqlite3 library SQLitePCLRaw loaded, when it
/// is that library, and through SQLitePCLRaw otherwise.
/// </summary>
/// <remarks>
/// <para>Each SQLitePCLRaw call takes and releases the statement's safe handle and goes through its provider: about 20 ns a column,
/// a tenth of what reading an event costs. Here the statement's handle is taken once per read (<see cref="SafeHandle.DangerousAddRef"/>,
/// released when the read ends) and the columns are read by direct calls, without the GC transition a P/Invoke makes
/// (<see cref="System.Runtime.InteropServices.SuppressGCTransitionAttribute"/>): each of these calls only reads the current row, never blocks and
/// never calls back.</para>
/// <para>Only when SQLitePCLRaw's provider is the bundled e_sqlite3, and the very copy of it this assembly binds to (the address
/// of its version string is the same): a host that set another provider (SQLCipher, the system's sqlite3) or loaded another
/// copy gets the SQLitePCLRaw path, since a statement of one library must never be handed to another.</para>
/// </remarks>
internal sealed unsafe partial class NativeColumns : IDisposable
{
    private const string Library = "e_sqlite3";
    private static readonly bool s_direct = IsBundledLibrary();

    private readonly sqlite3_stmt _statement;
    private readonly nint _handle;
    private bool _addedRef;

    /// <param name="statement">The statement, prepared; it must outlive this reader.</param>
    /// <param name="direct">Whether to read by direct calls when the library allows it (tests compare both paths).</param>
    internal NativeColumns(sqlite3_stmt statement, bool direct = true)
    {
        _statement = statement;
        if (direct && s_direct)
        {
            statement.DangerousAddRef(ref _addedRef);
            _handle = statement.DangerousGetHandle();
        }
    }

    /// <summary>Gets whether SQLitePCLRaw's library is the bundled e_sqlite3 this class calls directly.</summary>
    internal static bool CanCallDirectly => s_direct;

    /// <summary>Gets whether the columns are read by direct calls.</summary>
    internal bool IsDirect => _addedRef;

    internal long Int64(int column) => _addedRef ? sqlite3_column_int64(_handle, column) : raw.sqlite3_column_int64(_statement, column);

    internal bool IsNull(int column) => (_addedRef ? sqlite3_column_type(_handle, column) : raw.sqlite3_column_type(_statement, column)) == raw.SQLITE_NULL;

    /// <summary>The bytes of a text or blob column; valid until the next step.</summary>
    internal ReadOnlySpan<byte> Bytes(int column)
    {
        if (!_addedRef)
        {
            return raw.sqlite3_column_blob(_statement, column);
        }

        // The pointer first, then the size (SQLite's documented order: the size is of the form the pointer call produced).
        byte* data = sqlite3_column_blob(_handle, column);
        return data is null ? default : new ReadOnlySpan<byte>(data, sqlite3_column_bytes(_handle, column));
    }

    public void Dispose()
    {
        if (_addedRef)
        {
            _addedRef = false;
            _statement.DangerousRelease();
        }
    }

    private static bool IsBundledLibrary()
    {
        try
        {
            if (!string.Equals(raw.GetNativeLibraryName(), Library, StringComparison.Ordinal) || !NativeLibrary.TryLoad(Library, typeof(NativeColumns).Assembly, null, out _))
            {
                return false;
            }

            // The same name could still be a second copy of the library (another load context, a custom path): the address of its
            // version string tells the copies apart. Only the very library SQLitePCLRaw uses may be handed its statements.
            fixed (byte* theirs = raw.sqlite3_libversion())
            {
                return theirs == sqlite3_libversion();
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static partial byte* sqlite3_libversion();

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    [SuppressGCTransition]
    private static partial long sqlite3_column_int64(nint statement, int column);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    [SuppressGCTransition]
    private static partial int sqlite3_column_type(nint statement, int column);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    [SuppressGCTransition]
    private static partial byte* sqlite3_column_blob(nint statement, int column);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    [SuppressGCTransition]
    private static partial int sqlite3_column_bytes(nint statement, int column);
}
