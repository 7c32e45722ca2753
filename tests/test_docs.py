"""The README and the guides in docs/: short front door, every link and picture resolves."""

import re

import pytest

from tests.helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _anchors(text):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", text, flags=re.S), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_readme_is_a_five_minute_read_with_the_two_set_up_commands_first():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    first = text.split("\n## ")[1]
    assert first.startswith("Set up and run")
    assert "bash scripts/setup.sh && .venv/bin/python train.py --epochs 20" in first
    assert "bash scripts/setup.sh && .venv/bin/python -m pytest -q" in first
    assert "bash scripts/setup.sh && .venv/bin/python -m pytest -q" in (
        ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_and_picture_resolves(page):
    text = page.read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    for target in targets:
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: {target}"
        if anchor and file.suffix == ".md":
            assert anchor in _anchors(file.read_text()), f"{page.name}: {target}"
