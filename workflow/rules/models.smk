# The models: the digits world's networks and the tiny random Stable Diffusion + open_clip checkpoints.
# The digits weights ship in the repository, so their rules run only
# when the files are missing (or when forced): they regenerate them from scikit-learn's digits.


rule train_digits_model:
    output:
        f"{PLAN.weights}/unet/config.json",
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/models/train_digits_model.log",
    benchmark:
        "results/benchmarks/models/train_digits_model.tsv",
    params:
        sdo_bench=SDO_BENCH,
        weights=lambda w, output: os.path.dirname(os.path.dirname(output[0])),
    threads: workflow.cores
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} train-model --out {params.weights} > {log} 2>&1"


rule train_digits_classifiers:
    input:
        # the judge's "not a digit" class includes the model's hacks; ancient: a fresh clone's file times
        # must not retrain the shipped classifiers
        ancient(f"{PLAN.weights}/unet/config.json"),
    output:
        f"{PLAN.weights}/classifier.pt",
        f"{PLAN.weights}/judge.pt",
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/models/train_digits_classifiers.log",
    benchmark:
        "results/benchmarks/models/train_digits_classifiers.tsv",
    params:
        sdo_bench=SDO_BENCH,
        weights=lambda w, output: os.path.dirname(output[0]),
    threads: workflow.cores
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} train-classifier --out {params.weights} > {log} 2>&1"


rule digits_model_quality:
    input:
        PLAN.digits_weights(),
    output:
        json="results/model/model_quality.json",
        grid=report("results/model/digits_samples.png", caption="../report/digits_samples.rst",
                    category="Models"),
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/models/digits_model_quality.log",
    benchmark:
        "results/benchmarks/models/digits_model_quality.tsv",
    params:
        sdo_bench=SDO_BENCH,
        weights=lambda w, input: os.path.dirname(input[1]),
        out=lambda w, output: os.path.dirname(output.json),
    # the longest single job of a small config: started first, it runs beside the others instead of
    # after them
    priority: 10
    # one thread: its tensors are small, and with two threads beside other jobs torch's OpenMP workers
    # spin-wait (measured: 497 CPU-s with threads = cores, 70 s with one thread)
    threads: 1
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} evaluate-model --weights {params.weights} "
        "--out {params.out} --samples 500 > {log} 2>&1"


rule build_tiny:
    output:
        f"{TINY_SD}/model_index.json",
        f"{TINY_CLIP}/aesthetic_head.pth",
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/models/build_tiny.log",
    benchmark:
        "results/benchmarks/models/build_tiny.tsv",
    params:
        sdo_bench=SDO_BENCH,
        out=lambda w, output: os.path.dirname(os.path.dirname(output[0])),
    threads: 1
    shell:
        "{params.sdo_bench} build-tiny --out {params.out} > {log} 2>&1"
