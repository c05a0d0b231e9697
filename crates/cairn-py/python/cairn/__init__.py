"""Cairn: version datasets and models, with the API W&B Artifacts users know.

    import cairn

    with cairn.init(project="vision", job_type="preprocess") as run:
        data = cairn.Artifact("images", "dataset")
        data.add_dir("data/images")
        run.log_artifact(data)

The registry and credentials come from ``CAIRN_HOST`` and ``CAIRN_TOKEN`` (or ``cairn login``,
or :func:`login`); ``CAIRN_ENTITY`` and ``CAIRN_PROJECT`` are the defaults of short names.
Hashing, uploads and downloads run in Rust with the GIL released.
"""

import os
from typing import Optional

from ._cairn import (
    Api,
    Artifact,
    ArtifactFinalizedError,
    CairnError,
    CommError,
    CorruptError,
    Manifest,
    ManifestEntry,
    Run,
    UsageError,
    current_run,
    init,
)

__all__ = [
    "Api",
    "Artifact",
    "ArtifactFinalizedError",
    "CairnError",
    "CommError",
    "CorruptError",
    "Manifest",
    "ManifestEntry",
    "Run",
    "UsageError",
    "init",
    "login",
    "run",
]


def login(key: Optional[str] = None, host: Optional[str] = None) -> bool:
    """Use the token ``key`` on the registry at ``host`` for the rest of this process.

    Without arguments, checks that a token is configured (``CAIRN_TOKEN`` or ``cairn login``).
    """
    if host is not None:
        os.environ["CAIRN_HOST"] = host
    if key is not None:
        os.environ["CAIRN_TOKEN"] = key
    Api()  # raises UsageError when there is still no token
    return True


def __getattr__(name: str):
    # `cairn.run`: the active run started by `cairn.init`, or None (as `wandb.run`)
    if name == "run":
        return current_run()
    raise AttributeError(f"module 'cairn' has no attribute {name!r}")
