// netstandard2.0 lacks the type C# 9 records/init need. Internal, so it never clashes with Core's own copy.
namespace System.Runtime.CompilerServices
{
    internal static class IsExternalInit { }
}
