namespace EventSourcing.Docs.Tests;

/// <summary>
/// Every ```csharp block of README.md and docs/*.md is compiled: it appears, line for line (each line trimmed, blank
/// lines dropped), in one file under Snippets/, which the build compiles. A block edited in a doc without its copy
/// fails here; a copy that stops compiling fails the build.
/// </summary>
public sealed class SnippetTests
{
    private const string SnippetFolder = "tests/EventSourcing.Docs.Tests/Snippets";

    private static readonly string[] CSharpInfos = ["csharp", "cs", "c#"];

    private static readonly Lazy<IReadOnlyList<(string File, string[] Lines)>> Snippets = new(ReadSnippets);

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

        var found = Snippets.Value.Where(snippet => Contains(snippet.Lines, wanted)).Select(snippet => snippet.File).ToList();

        Assert.True(
            found.Count > 0,
            $"{markdownFile}:{line}: the ```csharp block starting `{wanted[0]}` is in no file under {SnippetFolder}/ " +
            "(compared line by line, each line trimmed, blank lines dropped). Copy the block there, in code that compiles.");
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

    private static IReadOnlyList<(string File, string[] Lines)> ReadSnippets() =>
    [
        .. Directory.GetFiles(Path.Combine(MarkdownDocs.Root, SnippetFolder), "*.cs", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(path => (Path.GetRelativePath(MarkdownDocs.Root, path).Replace('\\', '/'), Normalize(File.ReadAllLines(path)))),
    ];
}
