using System;
using System.Numerics;
using System.Runtime.InteropServices;

namespace FlashMoe.Runtime.Host;

/// <summary>Windows probes (kernel32). Hand-written P/Invoke: no maintained package exposes CPU topology.</summary>
internal static class WindowsProbes
{
    private const int RelationProcessorCore = 0;
    private const int ErrorInsufficientBuffer = 122;
    /// <summary>A sane cap: 64 groups × 64 processors of records is far below this.</summary>
    private const uint MaxBufferBytes = 16 << 20;

    /// <summary>(physical, logical) cores from <c>GetLogicalProcessorInformationEx(RelationProcessorCore)</c>.</summary>
    internal static (int? Physical, int? Logical) DetectCores()
    {
        uint length = 0;
        if (GetLogicalProcessorInformationEx(RelationProcessorCore, IntPtr.Zero, ref length)
            || Marshal.GetLastWin32Error() != ErrorInsufficientBuffer || length == 0 || length > MaxBufferBytes)
        {
            return (null, null);
        }
        var buffer = Marshal.AllocHGlobal((int)length);
        try
        {
            if (!GetLogicalProcessorInformationEx(RelationProcessorCore, buffer, ref length)) return (null, null);
            var bytes = new byte[length];
            Marshal.Copy(buffer, bytes, 0, (int)length);
            return ParseProcessorCores(bytes, IntPtr.Size);
        }
        finally
        {
            Marshal.FreeHGlobal(buffer);
        }
    }

    /// <summary>
    /// Parses <c>SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX</c> records of kind RelationProcessorCore: one record per
    /// physical core; its GROUP_AFFINITY masks hold one bit per logical processor (SMT siblings).
    /// </summary>
    /// <param name="buffer">The records as returned.</param>
    /// <param name="pointerSize">Size of KAFFINITY (8 on 64-bit, 4 on 32-bit).</param>
    internal static (int? Physical, int? Logical) ParseProcessorCores(byte[] buffer, int pointerSize)
    {
        // Record: Relationship (4) | Size (4) | PROCESSOR_RELATIONSHIP: Flags (1) EfficiencyClass (1)
        // Reserved (20) GroupCount (2) | GROUP_AFFINITY[GroupCount]: Mask (pointer) Group (2) Reserved (6),
        // the array aligned to the pointer size.
        var groupArrayOffset = Align(8 + 24, pointerSize);
        var groupAffinitySize = Align(pointerSize + 8, pointerSize);
        int physical = 0, logical = 0, offset = 0;
        while (offset + 8 <= buffer.Length)
        {
            var relationship = BitConverter.ToInt32(buffer, offset);
            var size = BitConverter.ToInt32(buffer, offset + 4);
            if (size <= 0 || offset + size > buffer.Length) return (null, null);
            if (relationship == RelationProcessorCore)
            {
                if (size < 8 + 24) return (null, null);
                physical++;
                int groupCount = BitConverter.ToUInt16(buffer, offset + 8 + 22);
                for (var g = 0; g < groupCount; g++)
                {
                    var maskOffset = offset + groupArrayOffset + g * groupAffinitySize;
                    if (maskOffset + pointerSize > offset + size) return (null, null);
                    var mask = pointerSize == 8 ? BitConverter.ToUInt64(buffer, maskOffset) : BitConverter.ToUInt32(buffer, maskOffset);
                    logical += BitOperations.PopCount(mask);
                }
            }
            offset += size;
        }
        return physical == 0 ? (null, null) : (physical, logical == 0 ? null : logical);
    }

    /// <summary>(total, available) physical memory from <c>GlobalMemoryStatusEx</c>.</summary>
    internal static (long? Total, long? Available) DetectMemory()
    {
        var status = new MemoryStatusEx { Length = (uint)Marshal.SizeOf<MemoryStatusEx>() };
        if (!GlobalMemoryStatusEx(ref status)) return (null, null);
        return (ToLong(status.TotalPhys), ToLong(status.AvailPhys));
    }

    private static long? ToLong(ulong value) => value == 0 || value > long.MaxValue ? null : (long)value;

    private static int Align(int value, int alignment) => (value + alignment - 1) / alignment * alignment;

    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryStatusEx
    {
        public uint Length;
        public uint MemoryLoad;
        public ulong TotalPhys;
        public ulong AvailPhys;
        public ulong TotalPageFile;
        public ulong AvailPageFile;
        public ulong TotalVirtual;
        public ulong AvailVirtual;
        public ulong AvailExtendedVirtual;
    }

    [DllImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool GetLogicalProcessorInformationEx(int relationshipType, IntPtr buffer, ref uint returnedLength);

    [DllImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool GlobalMemoryStatusEx(ref MemoryStatusEx buffer);
}

/// <summary>macOS probes (libc <c>sysctlbyname</c>).</summary>
internal static class MacProbes
{
    // The macOS C library (sysctlbyname lives in libSystem; its path resolves through the dyld shared cache).
    private const string LibSystem = "/usr/lib/libSystem.B.dylib";

    /// <summary>(physical, logical) cores from <c>hw.physicalcpu</c> / <c>hw.logicalcpu</c>.</summary>
    internal static (int? Physical, int? Logical) DetectCores() => (ReadInt32("hw.physicalcpu"), ReadInt32("hw.logicalcpu"));

    /// <summary>Installed memory from <c>hw.memsize</c>.</summary>
    internal static long? DetectTotalMemory() => ReadInt64("hw.memsize");

    private static int? ReadInt32(string name)
    {
        var value = 0;
        var size = (nint)sizeof(int);
        return sysctlbyname(name, ref value, ref size, IntPtr.Zero, 0) == 0 && size == sizeof(int) && value > 0 ? value : null;
    }

    private static long? ReadInt64(string name)
    {
        long value = 0;
        var size = (nint)sizeof(long);
        return sysctlbyname(name, ref value, ref size, IntPtr.Zero, 0) == 0 && size == sizeof(long) && value > 0 ? value : null;
    }

    // BestFitMapping = false: the name is UTF-8 (no best-fit mapping applies); saying so satisfies CA2101, which
    // does not recognize LPUTF8Str as explicit string marshaling.
    [DllImport(LibSystem, EntryPoint = "sysctlbyname", SetLastError = true, BestFitMapping = false)]
    private static extern int sysctlbyname([MarshalAs(UnmanagedType.LPUTF8Str)] string name, ref int oldValue, ref nint oldLength, IntPtr newValue, nint newLength);

    [DllImport(LibSystem, EntryPoint = "sysctlbyname", SetLastError = true, BestFitMapping = false)]
    private static extern int sysctlbyname([MarshalAs(UnmanagedType.LPUTF8Str)] string name, ref long oldValue, ref nint oldLength, IntPtr newValue, nint newLength);
}
