# The digits world's networks. The trained weights ship in the repository, so these rules run only
# when the files are missing (or when forced): they regenerate them from scikit-learn's digits.


rule train_digits_model:
    output:
        f"{WEIGHTS}/unet/config.json",
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/models/train_digits_model.log",
    params:
        weights=lambda w, output: os.path.dirname(os.path.dirname(output[0])),
    threads: workflow.cores
    shell:
        "OMP_NUM_THREADS={threads} sdo-bench train-model --out {params.weights} > {log} 2>&1"


rule train_digits_classifiers:
    output:
        f"{WEIGHTS}/classifier.pt",
        f"{WEIGHTS}/judge.pt",
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/models/train_digits_classifiers.log",
    params:
        weights=lambda w, output: os.path.dirname(output[0]),
    threads: workflow.cores
    shell:
        "OMP_NUM_THREADS={threads} sdo-bench train-classifier --out {params.weights} > {log} 2>&1"


rule digits_model_quality:
    input:
        DIGITS_WEIGHTS,
    output:
        json="results/model/model_quality.json",
        grid=report("results/model/digits_samples.png", caption="../report/digits_samples.rst",
                    category="Models"),
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/models/digits_model_quality.log",
    params:
        weights=lambda w, input: os.path.dirname(input[1]),
        out=lambda w, output: os.path.dirname(output.json),
    threads: workflow.cores
    shell:
        "OMP_NUM_THREADS={threads} sdo-bench evaluate-model --weights {params.weights} "
        "--out {params.out} --samples 500 > {log} 2>&1"
