"""Torch-free facts every layer shares: settings and their one rule each (:mod:`.settings`), the text
form of a value (:mod:`.values`), a method variant and its label (:mod:`.variant`), every output path
pattern (:mod:`.outputs`). Imports nothing above it."""
