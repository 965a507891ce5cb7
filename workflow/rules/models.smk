# The models: the digits world's networks and the tiny random Stable Diffusion + open_clip checkpoints.
# The digits weights ship in the repository, so their rules run only
# when the files are missing (or when forced): they regenerate them from scikit-learn's digits.
# Which tasks wait for which of these files is each task family's own declaration (WorkflowFiles).

MODEL_QUALITY_RULE, MODEL_QUALITY = OUT.FAMILY_OUTPUTS["digits_model_quality"]


rule train_digits_model:
    output:
        [f"{PLAN.weights}/{f}" for f in OUT.DIGITS_MODEL],
    log:
        "logs/models/train_digits_model.log",
    benchmark:
        OUT.BENCHMARK_MODEL.format(rule="train_digits_model")
    conda:
        "../envs/sdo-bench.yaml"
    threads: workflow.cores
    params:
        sdo_bench=SDO_BENCH,
        weights=lambda w, output: os.path.dirname(os.path.dirname(output[0])),
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} train-model --out {params.weights} > {log} 2>&1"


rule train_digits_classifiers:
    input:
        # the judge's "not a digit" class includes the model's hacks; ancient: a fresh clone's file times
        # must not retrain the shipped classifiers
        [ancient(f"{PLAN.weights}/{f}") for f in OUT.DIGITS_MODEL],
    output:
        [f"{PLAN.weights}/{f}" for f in OUT.DIGITS_CLASSIFIERS],
    log:
        "logs/models/train_digits_classifiers.log",
    benchmark:
        OUT.BENCHMARK_MODEL.format(rule="train_digits_classifiers")
    conda:
        "../envs/sdo-bench.yaml"
    threads: workflow.cores
    params:
        sdo_bench=SDO_BENCH,
        weights=lambda w, output: os.path.dirname(output[0]),
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} train-classifier --out {params.weights} > {log} 2>&1"


rule digits_model_quality:
    input:
        [f"{PLAN.weights}/{f}" for f in (*OUT.DIGITS_MODEL, *OUT.DIGITS_CLASSIFIERS)],
    output:
        json=MODEL_QUALITY["json"],
        grid=report(MODEL_QUALITY["grid"], caption="../report/digits_samples.rst", category="Models"),
    log:
        f"logs/models/{MODEL_QUALITY_RULE}.log",
    benchmark:
        OUT.BENCHMARK_MODEL.format(rule=MODEL_QUALITY_RULE)
    # the longest single job of a small config: started first, it runs beside the others instead of
    # after them
    priority: 10
    conda:
        "../envs/sdo-bench.yaml"
    # one thread: its tensors are small, and with two threads beside other jobs torch's OpenMP workers
    # spin-wait (measured: 497 CPU-s with threads = cores, 70 s with one thread)
    threads: 1
    params:
        sdo_bench=SDO_BENCH,
        weights=lambda w, input: os.path.dirname(input[-1]),
        samples=config.get("model_quality_samples", 500),
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} evaluate-model --weights {params.weights} "
        "--out {output.json} --grid {output.grid} --samples {params.samples} > {log} 2>&1"


rule build_tiny:
    output:
        [f"{OUT.TINY_SD}/{f}" for f in OUT.TINY_SD_FILES],
        [f"{OUT.TINY_CLIP}/{f}" for f in OUT.TINY_CLIP_FILES],
    log:
        "logs/models/build_tiny.log",
    benchmark:
        OUT.BENCHMARK_MODEL.format(rule="build_tiny")
    conda:
        "../envs/sdo-bench.yaml"
    threads: 1
    params:
        sdo_bench=SDO_BENCH,
        sd=lambda w, output: os.path.dirname(output[0]),
        clip=lambda w, output: os.path.dirname(output[-1]),
    shell:
        "{params.sdo_bench} build-tiny --sd-out {params.sd} --clip-out {params.clip} > {log} 2>&1"


# The rectified flow of the same digits (the digits-flow-* tasks), beside the DDPM's weights.
FLOW_QUALITY_RULE, FLOW_QUALITY = OUT.FAMILY_OUTPUTS["digits_flow_model_quality"]


rule train_digits_flow_model:
    output:
        [f"{PLAN.weights}/{f}" for f in OUT.DIGITS_FLOW_MODEL],
    log:
        "logs/models/train_digits_flow_model.log",
    benchmark:
        OUT.BENCHMARK_MODEL.format(rule="train_digits_flow_model")
    conda:
        "../envs/sdo-bench.yaml"
    threads: workflow.cores
    params:
        sdo_bench=SDO_BENCH,
        weights=lambda w, output: os.path.dirname(os.path.dirname(output[0])),
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} train-model --out {params.weights} "
        "--objective flow > {log} 2>&1"


rule digits_flow_model_quality:
    input:
        [f"{PLAN.weights}/{f}" for f in (*OUT.DIGITS_FLOW_MODEL, *OUT.DIGITS_CLASSIFIERS)],
    output:
        json=FLOW_QUALITY["json"],
        grid=report(FLOW_QUALITY["grid"], caption="../report/digits_samples.rst", category="Models"),
    log:
        f"logs/models/{FLOW_QUALITY_RULE}.log",
    benchmark:
        OUT.BENCHMARK_MODEL.format(rule=FLOW_QUALITY_RULE)
    priority: 10
    conda:
        "../envs/sdo-bench.yaml"
    # one thread, as for the DDPM's quality
    threads: 1
    params:
        sdo_bench=SDO_BENCH,
        weights=lambda w, input: os.path.dirname(input[-1]),
        samples=config.get("model_quality_samples", 500),
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} evaluate-model --weights {params.weights} "
        "--objective flow --out {output.json} --grid {output.grid} --samples {params.samples} > {log} 2>&1"
