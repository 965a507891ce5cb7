"""The README's pictures: copies of figures of a real default run under ``docs/figures/``, with the
commit they came from (``docs/figures/SOURCE.md``). Refreshed by ``snakemake --cores all docs_figures``
after a default run; ``tests/test_docs.py`` checks that every link and image of README.md resolves."""

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


def refresh(out_dir="docs/figures", records: list | None = None) -> str:
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
    commit = git_commit()["commit"]
    if records:
        commit = (json.loads(Path(records[0]).read_text()).get("provenance") or {}).get("git_commit", commit)
    (out_dir / "SOURCE.md").write_text(
        "# The README's figures\n\n"
        f"Copied from a default run (`snakemake --cores all`) of commit `{commit}` on "
        f"{_dt.date.today().isoformat()}, by `snakemake --cores all docs_figures`.\n\n"
        + "".join(f"- `{n}` <- `{s}`\n" for n, s in FIGURES.items())
    )
    return f"copied {len(FIGURES)} figures to {out_dir} (commit {commit[:12]})"
