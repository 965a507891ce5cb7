"""The README's results: copies of a real default run's figures under ``docs/figures/`` with the commit
and machine they came from (``docs/figures/SOURCE.md``), its verdict as ``docs/verdict.md``, and the
verdict's entries in README.md between the markers :data:`BEGIN` and :data:`END`. Refreshed by
``snakemake --cores all docs_figures`` after a default run; ``tests/test_docs.py`` checks that every
link and image of README.md resolves."""

from __future__ import annotations

import datetime as _dt
import shutil
from pathlib import Path

from ..spec.outputs import FAMILY_OUTPUTS, FIGURES_DIR, figure_name

#: the README's figures: (kind, task) of the default run's figures, copied under their own names
SHOWN = [
    ("headline", "digits-weights"),
    ("headline", "digits-latent"),
    ("reward_vs_iter", "digits-lora"),
    ("reward_vs_time", "digits-latent"),
    ("scaling", "digits-latent"),
    ("fidelity", "digits-latent"),
    ("samples", "digits-latent"),
    ("samples", "digits-weights"),
    ("samples", "digits-lora"),
    ("samples", "digits-condition"),
]
#: README picture -> the workflow output it copies
FIGURES = {
    **{figure_name(k, t): f"{FIGURES_DIR}/{figure_name(k, t)}" for k, t in SHOWN},
    "digits_model_samples.png": FAMILY_OUTPUTS["digits_model_quality"][1]["grid"],
}


#: README.md's verdict block: written from the default run's verdict, between these lines
BEGIN = "<!-- verdict: written by `sdo-bench report docs` from a default run -->"
END = "<!-- /verdict -->"


def readme_block(verdict_md: str) -> str:
    """The verdict's task entries and its footnote, as the README shows them."""
    lines = verdict_md.splitlines()
    keep = [line for line in lines if line.startswith("- **")]
    source = next((line for line in lines if line.startswith("Generated from commit")), "")
    return "\n".join([BEGIN, *keep, "", source, END])


def update_readme(readme: Path, verdict_md: str) -> None:
    from ..records.io import write_text_atomic

    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(
            f"{readme} has no verdict block ({BEGIN} ... {END}); add the two lines where it goes"
        )
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    write_text_atomic(readme, head + readme_block(verdict_md) + tail)


def refresh(out_dir="docs/figures", records: list | None = None, verdict=None, readme=None) -> str:
    """Copy :data:`FIGURES` into ``out_dir`` and note the commit of the run that made them (read from
    one of its ``records``, else the current checkout)."""
    import json

    from ..records.provenance import git_commit

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, source in FIGURES.items():
        if not Path(source).is_file():
            raise ValueError(
                f"{source} does not exist; run the default workflow first (snakemake --cores all)"
            )
        shutil.copyfile(source, out_dir / name)
    commit, machine = git_commit()["commit"], "an unknown machine"
    if records:
        prov = json.loads(Path(records[0]).read_text()).get("provenance") or {}
        commit = prov.get("git_commit", commit)
        machine = prov.get("cpu_model") or prov.get("device_name") or machine
    (out_dir / "SOURCE.md").write_text(
        "# The README's figures\n\n"
        f"Copied from a default run (`snakemake --cores all`) of commit `{commit}` on {machine}, "
        f"{_dt.date.today().isoformat()}, by `snakemake --cores all docs_figures`.\n\n"
        + "".join(f"- `{n}` <- `{s}`\n" for n, s in FIGURES.items())
    )
    if verdict is not None:
        text = Path(verdict).read_text()
        shutil.copyfile(verdict, out_dir.parent / "verdict.md")
        if readme is not None:
            update_readme(Path(readme), text)
    return f"copied {len(FIGURES)} figures to {out_dir} (commit {commit[:12]})"
