"""The manual's links work: README.md and docs/*.md link to files and headings that exist.

Anchors are matched the way GitHub slugs headings, so a link that passes here opens the right
place on GitHub. Standard library only; reads a handful of files.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 260

# [text](target) or [text](target "title"); images (![alt](src)) are links to files too.
LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)  # a code span may wrap onto the next line


def manual_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (links and headings there are not markdown)."""
    lines, fence = [], None
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
            fence = None
        elif fence is None:
            lines.append(line)
    return lines


def heading_text(raw: str) -> str:
    """A heading's rendered text: links keep their text, emphasis and code marks go."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    text = re.sub(r"<[^>]+>", "", text)
    return text.replace("`", "").replace("*", "")


def github_slug(text: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = text.strip().lower()
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in " -_" or category[0] in "LN" or category == "Mn":
            kept.append(char)
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor the file's headings get, with -1, -2 ... for repeated headings."""
    seen: dict[str, int] = {}
    result = set()
    for line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(heading_text(match.group(2)))
        if slug in seen:
            seen[slug] += 1
            result.add(f"{slug}-{seen[slug]}")
        else:
            seen[slug] = 0
            result.add(slug)
    return result


def links(path: Path) -> list[str]:
    """Every link target outside code, paragraph by paragraph (link text and code spans wrap)."""
    targets = []
    for paragraph in re.split(r"\n[ \t]*\n", "\n".join(prose_lines(path.read_text(encoding="utf-8")))):
        targets += LINK.findall(INLINE_CODE.sub("", paragraph))
    return targets


def local_links() -> list[tuple[Path, str]]:
    return [(path, target) for path in manual_files() for target in links(path)
            if not re.match(r"^(https?:|mailto:)", target, re.IGNORECASE)]


def test_the_slug_follows_github():
    assert github_slug("Leads' sign-in") == "leads-sign-in"
    assert github_slug("Unsubscribe (RFC 8058 one-click)") == "unsubscribe-rfc-8058-one-click"
    assert github_slug("1. Before the first deploy (once per AWS account)") == \
        "1-before-the-first-deploy-once-per-aws-account"
    assert github_slug(heading_text("`GET /health`")) == "get-health"
    assert github_slug("Did the recovery work?") == "did-the-recovery-work"
    assert github_slug("snake_case and Ünïcode") == "snake_case-and-ünïcode"


def test_repeated_headings_get_numbered(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Notes\n## Notes\n```\n# not a heading\n```\n## Notes\n", encoding="utf-8")
    assert anchors(page) == {"notes", "notes-1", "notes-2"}


def test_the_manual_has_links_to_check():
    assert DOCS.is_dir() and list(DOCS.glob("*.md"))
    assert len(local_links()) > 20


@pytest.mark.parametrize("source,target", local_links(),
                         ids=lambda value: value.name if isinstance(value, Path) else value)
def test_every_local_link_resolves(source, target):
    file_part, _, anchor = target.partition("#")
    linked = (source.parent / file_part).resolve() if file_part else source
    assert linked.exists(), f"{source.relative_to(ROOT)} links to {target}: no such file"
    if anchor:
        assert linked.suffix == ".md", f"{source.relative_to(ROOT)} links to an anchor in {file_part}"
        assert anchor in anchors(linked), (
            f"{source.relative_to(ROOT)} links to {target}: no heading in "
            f"{linked.relative_to(ROOT)} slugs to #{anchor}")


def test_the_readme_is_a_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; the manual belongs in docs/"


def test_every_guide_is_linked_from_the_readme():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in links(README)
              if target.partition("#")[0]}
    missing = [path.name for path in sorted(DOCS.glob("*.md")) if path.resolve() not in linked]
    assert not missing, f"README.md does not link to {missing}"
