"""Comparisons that gate a change: the one rule that calls a difference a regression (:mod:`.rule`),
two results folders side by side (:mod:`.folders`, ``sdo-bench compare``) and the performance check
against the committed baseline (:mod:`.regress`, ``sdo-bench regress``). Both fail closed."""
