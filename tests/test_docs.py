"""The documents: every relative link and image of README.md, CONTRIBUTING.md and docs/design.md
resolves to a file in the repository, and every "design.md §n" the code cites exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _relative_links(doc: Path) -> list[str]:
    links = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor
        links.append(target.split("#", 1)[0])
    return links


@pytest.mark.parametrize("doc", ["README.md", "CONTRIBUTING.md", "docs/design.md"])
def test_every_relative_link_and_image_resolves(doc):
    path = ROOT / doc
    links = _relative_links(path)
    missing = [t for t in links if not (path.parent / t).exists()]
    assert not missing, f"{doc} links to files that are not in the repository: {missing}"
    if doc == "README.md":
        images = [t for t in links if t.endswith(".png")]
        assert len(images) >= 7 and all(t.startswith("docs/figures/") for t in images)
        assert all((ROOT / t).stat().st_size > 5_000 for t in images)  # real pictures, not placeholders


def test_readme_figures_are_the_ones_the_refresh_command_copies():
    from sdo_bench.report.docs import FIGURES

    shown = {Path(t).name for t in _relative_links(ROOT / "README.md") if t.startswith("docs/figures/")}
    assert shown <= set(FIGURES), shown - set(FIGURES)
    assert "docs_figures" in (ROOT / "README.md").read_text()  # the command is documented
    assert "commit" in (ROOT / "docs" / "figures" / "SOURCE.md").read_text()


def test_every_design_citation_points_at_a_section():
    sections = set(re.findall(r"^## (\d+)\.", (ROOT / "docs" / "design.md").read_text(), re.M))
    cited = {}
    for path in [*ROOT.glob("sdo_bench/**/*.py"), *ROOT.glob("workflow/**/*.smk"), *ROOT.glob("tests/*.py"),
                 ROOT / "README.md", ROOT / "pyproject.toml"]:  # fmt: skip
        for n in re.findall(r"design\.md (?:§|\\u00a7)(\d+)", path.read_text()):
            cited.setdefault(n, []).append(path.relative_to(ROOT).as_posix())
    assert cited, "no citation found: the test would pass vacuously"
    assert not set(cited) - sections, {n: cited[n] for n in set(cited) - sections}
    assert "DESIGN §" not in "".join(p.read_text() for p in ROOT.glob("sdo_bench/**/*.py"))
