"""Records: the record type and its JSON schema (:mod:`.record`), reading, checking and atomic writing
(:mod:`.io`), and the provenance every record carries (:mod:`.provenance`, :mod:`.buildinfo`). Imports
nothing above it."""
