"""The documents: the README is a user guide of at most 150 lines with its sections; every relative link
and image of the README, CONTRIBUTING.md and docs/ resolves to a file in the repository; every
"design.md §n" the code cites exists; and no line of the README or docs is a measurement history
("was N s", a machine called "here", "on a slower machine")."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
DOCS = [
    "README.md",
    "CONTRIBUTING.md",
    *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")),
]
#: what a line of measurement history looks like
HISTORY = [
    re.compile(r"\bwas \d+(\.\d+)?\s?(s|min|ms|GiB|MiB|%)", re.I),
    re.compile(r"\b(measured|timed|took|takes|ran|run) here\b", re.I),
    re.compile(r"\b\d+(\.\d+)?\s?(s|min) here\b", re.I),
    re.compile(r"\bon (a|the) slower (machine|draw)s?\b", re.I),
    re.compile(r"\bthis project's (2-core )?machine\b", re.I),
]


def _relative_links(doc: Path) -> list[str]:
    links = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor
        links.append(target.split("#", 1)[0])
    return links


@pytest.mark.parametrize("doc", DOCS)
def test_every_relative_link_and_image_resolves(doc):
    path = ROOT / doc
    missing = [t for t in _relative_links(path) if not (path.parent / t).exists()]
    assert not missing, f"{doc} links to files that are not in the repository: {missing}"


def test_the_readme_is_a_user_guide():
    text = (ROOT / "README.md").read_text()
    lines = text.splitlines()
    assert len(lines) <= 150, len(lines)
    assert lines[0] == "# sdo-bench" and "benchmark" in " ".join(lines[1:4])
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    assert "snakemake --cores all" in blocks[0] and "python -m pytest" in blocks[0]  # the two commands first
    for section in ("## Install", "## Quickstart", "## The verdict", "## Documentation", "## Citation"):
        assert section in text, section
    assert "https://arxiv.org/abs/2505.07477" in text and (ROOT / "CITATION.cff").is_file()
    for page in ("docs/results.md", "docs/cost-model.md", "docs/stable-diffusion.md", "docs/workflow.md",
                 "docs/cli.md", "docs/design.md", "CONTRIBUTING.md"):  # fmt: skip
        assert f"]({page})" in text, page
    images = [t for t in _relative_links(ROOT / "README.md") if t.endswith(".png")]
    assert images and all(t.startswith("docs/figures/") and (ROOT / t).stat().st_size > 5_000 for t in images)


@pytest.mark.parametrize("doc", DOCS)
def test_no_line_is_a_measurement_history(doc):
    bad = [line for line in (ROOT / doc).read_text().splitlines() if any(p.search(line) for p in HISTORY)]
    assert not bad, bad


def test_the_history_patterns_catch_history():
    for line in (
        "the job 93 s, was 113 s",
        "measured here: 205 s",
        "on a slower machine it took 12 min",
        "(63 s here)",
    ):
        assert any(p.search(line) for p in HISTORY), line
    assert not any(p.search("the verdict says so here and there") for p in HISTORY[:1])


def test_readme_figures_and_verdict_come_from_the_refresh_command():
    from sdo_bench.report.docs import BEGIN, END, FIGURES

    readme = (ROOT / "README.md").read_text()
    shown = {Path(t).name for t in _relative_links(ROOT / "README.md") if t.startswith("docs/figures/")}
    assert shown <= set(FIGURES), shown - set(FIGURES)
    assert "docs_figures" in readme and BEGIN in readme and END in readme
    assert "commit" in (ROOT / "docs" / "figures" / "SOURCE.md").read_text()
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    verdict = (ROOT / "docs" / "verdict.md").read_text()
    for line in block.strip().splitlines():
        assert line in verdict.splitlines(), line  # every line of the block is the copied verdict's


def test_the_readme_block_is_rewritten_from_a_verdict(tmp_path):
    from sdo_bench.report.docs import BEGIN, END, update_readme

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{BEGIN}\nold\n{END}\n\nafter\n")
    update_readme(readme, "# Verdict\n\n- **gmm-latent** — yes.\n\nGenerated from commit abc on cpu.\n")
    text = readme.read_text()
    assert "old" not in text and "- **gmm-latent** — yes." in text and text.endswith("after\n")
    assert "Generated from commit abc on cpu." in text


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
