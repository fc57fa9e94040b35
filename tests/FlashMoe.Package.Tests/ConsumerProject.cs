using System.Globalization;
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit;

using FlashMoe.Tests.Shared;

namespace FlashMoe.Package.Tests;

/// <summary>
/// A consumer project on disk, written by hand (faster than `dotnet new`, and no template cache involved): a
/// csproj, Program.cs and profile files. Builds go through the real CLI against the fixture's feed.
/// </summary>
public sealed class ConsumerProject
{
    internal ConsumerProject(string directory, string name)
    {
        Directory = directory;
        Name = name;
        System.IO.Directory.CreateDirectory(directory);
    }

    /// <summary>The project directory.</summary>
    public string Directory { get; }

    /// <summary>Project (and so assembly and root namespace) name.</summary>
    public string Name { get; }

    /// <summary>The .csproj path.</summary>
    public string ProjectPath => Path.Combine(Directory, Name + ".csproj");

    /// <summary>Writes the csproj. <paramref name="body"/> is inserted into the project (items, extra properties).</summary>
    public ConsumerProject WriteProject(string targetFrameworks, string outputType, string body)
    {
        var frameworks = targetFrameworks.Contains(';')
            ? $"<TargetFrameworks>{targetFrameworks}</TargetFrameworks>"
            : $"<TargetFramework>{targetFrameworks}</TargetFramework>";
        File.WriteAllText(ProjectPath, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>{outputType}</OutputType>
                {frameworks}
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
            {body}
            </Project>
            """);
        return this;
    }

    /// <summary>Writes (or replaces) a file relative to the project directory.</summary>
    public ConsumerProject WriteFile(string relativePath, string content)
    {
        var path = Path.Combine(Directory, relativePath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return this;
    }

    /// <summary>Deletes a file relative to the project directory.</summary>
    public ConsumerProject DeleteFile(string relativePath)
    {
        File.Delete(Path.Combine(Directory, relativePath));
        return this;
    }

    private ProcessResult Consumer(string[] arguments) =>
        ProcessRunner.Run(ProcessRunner.DotnetPath, arguments, Directory, PackageFeedFixture.CommandTimeout, PackageFeedFixture.ConsumerEnvironment);

    /// <summary>`dotnet build` with extra arguments (e.g. <c>-p:NoWarn=FM1002</c>).</summary>
    public ProcessResult Build(params string[] arguments) =>
        Consumer(new[] { "build", ProjectPath, "-nologo", "-v:minimal", "-clp:NoSummary" }.Concat(arguments).ToArray());

    /// <summary>`dotnet msbuild` evaluation/target queries (e.g. <c>-getProperty:X</c>, <c>-getTargetResult:T</c>).</summary>
    public ProcessResult MSBuild(params string[] arguments) =>
        Consumer(new[] { "msbuild", ProjectPath, "-nologo" }.Concat(arguments).ToArray());

    /// <summary>Runs the built app with `dotnet exec` (no rebuild) for <paramref name="framework"/>.</summary>
    public ProcessResult RunBuilt(string framework, string configuration = "Debug", params string[] arguments) =>
        Consumer(new[] { "exec", Path.Combine(Directory, "bin", configuration, framework, Name + ".dll") }.Concat(arguments).ToArray());

    /// <summary>`dotnet run` (builds if needed, then runs), as a user would start the app.</summary>
    public ProcessResult Run(params string[] arguments) =>
        Consumer(new[] { "run", "--project", ProjectPath }.Concat(arguments).ToArray());
}

/// <summary>Assertions on build output, always carrying the whole output in the failure message.</summary>
public static class BuildAssert
{
    /// <summary>The build (or run) exited 0.</summary>
    public static void Succeeded(ProcessResult result) =>
        Assert.True(result.ExitCode == 0 && !result.TimedOut, "expected success:\n" + result);

    /// <summary>The build exited non-zero (and did not just time out).</summary>
    public static void Failed(ProcessResult result) =>
        Assert.True(result.ExitCode != 0 && !result.TimedOut, "expected failure:\n" + result);

    /// <summary>
    /// MSBuild's canonical diagnostic lines for <paramref name="id"/>: <c>path(line,col): severity ID: message</c>.
    /// </summary>
    public static IReadOnlyList<CanonicalDiagnostic> Diagnostics(ProcessResult result, string id)
    {
        var pattern = new Regex(@"^[ \t]*(?<file>[^\s(][^(\r\n]*?)\((?<line>\d+),(?<column>\d+)(?:,\d+,\d+)?\):\s+(?<severity>error|warning|info|message)\s+" + Regex.Escape(id) + @":\s*(?<message>.*)$",
            RegexOptions.Multiline);
        return pattern.Matches(result.Output)
            .Select(m => new CanonicalDiagnostic(m.Groups["file"].Value, int.Parse(m.Groups["line"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["column"].Value, CultureInfo.InvariantCulture),
                m.Groups["severity"].Value, id, m.Groups["message"].Value))
            .Distinct()
            .ToList();
    }

    /// <summary>Exactly the expected diagnostic at <paramref name="fileName"/>(line,col), with the given severity.</summary>
    public static CanonicalDiagnostic SingleAt(ProcessResult result, string id, string severity, string fileName, int line, int column)
    {
        var found = Diagnostics(result, id);
        var matching = found.Where(d => Path.GetFileName(d.File) == fileName && d.Line == line && d.Column == column && d.Severity == severity).ToList();
        Assert.True(matching.Count >= 1,
            $"expected `{fileName}({line},{column}): {severity} {id}`; found [{string.Join("; ", found)}] in:\n{result}");
        return matching[0];
    }

    /// <summary>No FM warning or error at all (NuGet's own warnings about third-party packages are not ours).</summary>
    public static void NoFlashMoeWarning(ProcessResult result) =>
        Assert.False(Regex.IsMatch(result.Output, @"(warning|error) FM\d{4}"), "expected no FM diagnostic:\n" + result);

    /// <summary>No diagnostic with <paramref name="id"/> anywhere in the output.</summary>
    public static void NoDiagnostic(ProcessResult result, string id) =>
        Assert.False(Regex.IsMatch(result.Output, @"\b" + Regex.Escape(id) + @"\b"), $"expected no {id}:\n{result}");
}

/// <summary>One parsed <c>file(line,col): severity ID: message</c> line.</summary>
public sealed record CanonicalDiagnostic(string File, int Line, int Column, string Severity, string Id, string Message);
