"""What the Snakemake workflow asks of the library: the plan of jobs and their outputs (:mod:`.plan`),
the config's check against the registries (:mod:`.config_check`), progress lines (:mod:`.progress`)
and the config's documentation (:mod:`.config_doc`)."""
