"""Describing a finished dataset folder for others: Croissant, a Hugging Face card, checksums.

Everything here reads the finished artifacts and the completed ``card.yaml`` and writes
files that depend on nothing else (no time, host or output folder), so two runs give the
same bytes.
"""

from genoprep.fair.artifacts import ArtifactInfo, describe_artifacts
from genoprep.fair.croissant import croissant_metadata
from genoprep.fair.hfcard import hf_card

__all__ = ["ArtifactInfo", "croissant_metadata", "describe_artifacts", "hf_card"]
