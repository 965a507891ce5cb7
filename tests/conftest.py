import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

# one thread per pytest-xdist worker (one worker per core), and for the commands the tests start: the
# cores are the workers'; alone, two threads
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
else:
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))

import pytest  # noqa: E402

#: the modules of `python -m pytest -m quick`: the suite's fast core (methods against finite
#: differences and bptt, regularizers and priors, bad input, records, layout, the workflow's plan), well
#: under a minute on 2 cores; the full default command adds the end-to-end CLI, cost-model, digits and
#: Stable Diffusion tests
QUICK = {
    "test_api", "test_bad_input", "test_catalog", "test_docs", "test_fair_race", "test_family",
    "test_layout", "test_methods", "test_priors", "test_progress", "test_records", "test_regress",
    "test_regularizers", "test_resume", "test_rivals", "test_sampling", "test_start_step", "test_structure",
}  # fmt: skip


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in QUICK and not any(
            item.get_closest_marker(m) for m in ("slow", "bench", "slurm")
        ):
            item.add_marker(pytest.mark.quick)
