namespace TaskDemo;

/// <summary>Nothing to run: the build itself is the demonstration.</summary>
public static class Demo
{
}
