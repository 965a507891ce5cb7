# The digits world's networks. The trained weights ship in the repository, so these rules run only
# when the files are missing (or when forced): they regenerate them from scikit-learn's digits.


rule train_digits_model:
    output:
        f"{WEIGHTS}/unet/config.json",
    log:
        "logs/models/train_digits_model.log",
    threads: workflow.cores
    shell:
        "OMP_NUM_THREADS={threads} sdo-bench train-model --out {WEIGHTS} > {log} 2>&1"


rule train_digits_classifiers:
    output:
        f"{WEIGHTS}/classifier.pt",
        f"{WEIGHTS}/judge.pt",
    log:
        "logs/models/train_digits_classifiers.log",
    threads: workflow.cores
    shell:
        "OMP_NUM_THREADS={threads} sdo-bench train-classifier --out {WEIGHTS} > {log} 2>&1"


rule digits_model_quality:
    input:
        DIGITS_WEIGHTS,
    output:
        json="results/model/model_quality.json",
        grid=report("results/model/digits_samples.png", caption="../report/digits_samples.rst",
                    category="Models"),
    log:
        "logs/models/digits_model_quality.log",
    threads: workflow.cores
    shell:
        "OMP_NUM_THREADS={threads} sdo-bench evaluate-model --weights {WEIGHTS} "
        "--out results/model --samples 500 > {log} 2>&1"
