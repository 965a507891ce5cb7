"""The cost model: a method's peak memory, FLOPs and network evaluations predicted by running its own
gradient code on fake tensors (:mod:`.predict`, :mod:`.fake`), extended in N by an exact line
(:mod:`.extrapolation`), set against GPU cards (:mod:`.cards`) and checked against a real run
(:mod:`.check`). It never imports the experiment, the report or the command line."""
