namespace EventSourcing.Docs.Tests;

/// <summary>
/// README.md and docs/*.md link only inside the repository: every relative link names a file or folder under the root,
/// and an anchor into a markdown file names one of its headings as GitHub slugs it. Web and mail links are not followed.
/// </summary>
public sealed class LinkTests
{
    private static readonly string[] External = ["http://", "https://", "mailto:"];

    public static TheoryData<string> MarkdownFiles() => [.. MarkdownDocs.Files];

    [Theory]
    [MemberData(nameof(MarkdownFiles))]
    public void Relative_links_resolve_inside_the_repository(string markdownFile)
    {
        var broken = MarkdownDocs.Links(markdownFile)
            .Where(link => !External.Any(scheme => link.Target.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)))
            .Select(link => (link, Problem: Check(link)))
            .Where(checkedLink => checkedLink.Problem is not null)
            .Select(checkedLink => $"{checkedLink.link.File}:{checkedLink.link.Line}: ({checkedLink.link.Target}) {checkedLink.Problem}")
            .ToList();

        Assert.True(broken.Count == 0, $"Broken links:{Environment.NewLine}{string.Join(Environment.NewLine, broken)}");
    }

    [Fact]
    public void Anchors_are_github_slugs_of_headings()
    {
        Assert.Equal("the-samples-two-hops", MarkdownDocs.Slug("The sample's two hops"));
        Assert.Equal("reading-the-whole-log-without-skipping-a-gap", MarkdownDocs.Slug("Reading the whole log without skipping a gap"));
        Assert.Equal("idempotencyoptions-and-ifmatch", MarkdownDocs.Slug("`IdempotencyOptions` and If/Match"));
        Assert.Equal("see-the-guide", MarkdownDocs.Slug("See [the guide](docs/marten.md)"));
    }

    private static string? Check(MarkdownLink link)
    {
        var (path, anchor) = link.Target.IndexOf('#', StringComparison.Ordinal) is var hash and >= 0
            ? (link.Target[..hash], link.Target[(hash + 1)..])
            : (link.Target, null);
        if (path.Contains(':', StringComparison.Ordinal))
        {
            return "is neither relative nor a web or mail link";
        }

        var root = Path.GetFullPath(MarkdownDocs.Root);
        var from = Path.GetDirectoryName(Path.Combine(root, link.File))!;
        var target = path.Length == 0 ? Path.Combine(root, link.File) : Path.GetFullPath(Path.Combine(from, Uri.UnescapeDataString(path)));
        if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return "points outside the repository";
        }

        if (!File.Exists(target) && !Directory.Exists(target))
        {
            return "names no file or folder of the repository";
        }

        if (anchor is { Length: > 0 } && target.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && File.Exists(target)
            && !MarkdownDocs.Anchors(Path.GetRelativePath(root, target)).Contains(anchor))
        {
            return $"names no heading of {Path.GetRelativePath(root, target).Replace('\\', '/')}";
        }

        return null;
    }
}
