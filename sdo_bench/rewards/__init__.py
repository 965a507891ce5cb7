"""Rewards several task families share: HPSv2, the LAION aesthetic heads, CLIP towers and their image
preprocessing, and tiny random-weight versions of each for offline tests."""
