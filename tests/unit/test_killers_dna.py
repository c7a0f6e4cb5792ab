"""Killer tests for mutants of genoprep/dna (issue 16): independent facts about its public functions."""
