namespace EventSourcing.Docs.Tests;

/// <summary>
/// Every ```csharp block of README.md and docs/*.md is compiled: it appears, line for line (each line trimmed, blank
/// lines dropped), in a file the build compiles: the library's, the sample's or the shared test domain's own code when
/// the doc shows it as it is (or the in-memory store's and the NATS transport's derivations of the contract suites), else a file under Snippets/ that puts it in code that compiles. A block edited in a doc
/// without its source fails here; a source that stops compiling fails the build.
/// </summary>
public sealed class SnippetTests
{
    private const string SnippetFolder = "tests/EventSourcing.Docs.Tests/Snippets";

    /// <summary>Compiled code a doc may show as it is, with no copy under Snippets/.</summary>
    private static readonly string[] SourceFolders = ["src", "samples", "tests/EventSourcing.Tests.Shared", "tests/EventSourcing.Core.Tests", "tests/EventSourcing.Nats.Tests"];

    private static readonly string[] CSharpInfos = ["csharp", "cs", "c#"];

    private static readonly Lazy<IReadOnlyList<(string File, string[] Lines)>> Snippets = new(() => Read(SnippetFolder));

    private static readonly Lazy<IReadOnlyList<(string File, string[] Lines)>> Sources = new(() => [.. SourceFolders.SelectMany(Read)]);

    public static TheoryData<string, int> CSharpBlocks()
    {
        var data = new TheoryData<string, int>();
        foreach (var block in MarkdownDocs.Files.SelectMany(MarkdownDocs.CodeBlocks).Where(IsCSharp))
        {
            data.Add(block.File, block.Line);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CSharpBlocks))]
    public void The_block_is_compiled_from_a_file_under_Snippets(string markdownFile, int line)
    {
        var block = MarkdownDocs.CodeBlocks(markdownFile).Single(b => b.Line == line);
        var wanted = Normalize(block.Lines);
        Assert.True(wanted.Length > 0, $"{markdownFile}:{line}: the ```csharp block is empty.");

        var found = Snippets.Value.Concat(Sources.Value).Where(snippet => Contains(snippet.Lines, wanted)).Select(snippet => snippet.File).ToList();

        Assert.True(
            found.Count > 0,
            $"{markdownFile}:{line}: the ```csharp block starting `{wanted[0]}` is in no compiled file of {string.Join(", ", SourceFolders)} " +
            $"nor under {SnippetFolder}/ (compared line by line, each line trimmed, blank lines dropped). Copy the block there, in code that compiles.");
    }

    [Fact]
    public void Every_file_under_Snippets_holds_a_block_of_the_docs()
    {
        var blocks = MarkdownDocs.Files.SelectMany(MarkdownDocs.CodeBlocks).Where(IsCSharp).Select(b => Normalize(b.Lines)).ToList();
        Assert.NotEmpty(Snippets.Value);

        var orphans = Snippets.Value.Where(snippet => !blocks.Exists(block => Contains(snippet.Lines, block))).Select(snippet => snippet.File).ToList();

        Assert.True(orphans.Count == 0, $"These files hold no ```csharp block of README.md or docs/*.md any more: {string.Join(", ", orphans)}.");
    }

    private static bool IsCSharp(CodeBlock block) =>
        CSharpInfos.Contains(block.Info.Split(' ', 2)[0], StringComparer.OrdinalIgnoreCase);

    private static string[] Normalize(IEnumerable<string> lines) =>
        [.. lines.Select(line => line.Trim()).Where(line => line.Length > 0)];

    private static bool Contains(string[] haystack, string[] needle)
    {
        for (var start = 0; start + needle.Length <= haystack.Length; start++)
        {
            if (haystack.AsSpan(start, needle.Length).SequenceEqual(needle))
            {
                return true;
            }
        }

        return false;
    }

    private static IReadOnlyList<(string File, string[] Lines)> Read(string folder) =>
    [
        .. Directory.GetFiles(Path.Combine(MarkdownDocs.Root, folder), "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(path => (Path.GetRelativePath(MarkdownDocs.Root, path).Replace('\\', '/'), Normalize(File.ReadAllLines(path)))),
    ];
}
