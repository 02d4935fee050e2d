"""nfm_shards: read nfm datasets and models from Python."""

from .model import load_model
