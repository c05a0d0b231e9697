"""Type stubs of the extension module (crates/cairn-py/src); tests/test_stubs.py keeps them in step."""

import os
from typing import Any, Dict, Iterator, List, Literal, Optional, Union

_Path = Union[str, "os.PathLike[str]"]

class CairnError(Exception):
    """Base class of Cairn's own exceptions."""

class CommError(CairnError):
    """The registry could not be reached or refused the request."""

    status: Optional[int]
    """The HTTP status, or None when there was no answer."""

class UsageError(CairnError):
    """Missing configuration or a call in the wrong place (no token, no project, a finished run)."""

class ArtifactFinalizedError(CairnError):
    """The artifact is logged or fetched and cannot change: use ``new_draft()``."""

class CorruptError(CairnError):
    """Downloaded bytes that do not hash to the manifest's digest."""

class ManifestEntry:
    """One entry of a manifest."""

    @property
    def path(self) -> str: ...
    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the content, or a reference's digest."""
    @property
    def size(self) -> int: ...
    @property
    def ref(self) -> Optional[str]:
        """The URI of a reference entry, else None."""

class Manifest:
    """A version's paths → digests."""

    @property
    def entries(self) -> Dict[str, ManifestEntry]:
        """Path → entry, in path order."""
    @property
    def digest(self) -> str:
        """The artifact digest (64 hex characters)."""
    def to_json(self) -> str:
        """The canonical JSON of the manifest."""
    def __len__(self) -> int: ...
    def __contains__(self, path: object) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...

class Artifact:
    """A new artifact or a draft (add files, then log or save it), or a committed version
    (download, verify, start a draft from it)."""

    def __init__(
        self,
        name: str,
        type: str,
        description: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
    ) -> None: ...
    def add_file(self, local_path: _Path, name: Optional[str] = None, overwrite: bool = False) -> None:
        """Add a file at ``name`` (default: its file name), hashing it now."""
    def add_dir(self, local_path: _Path, name: Optional[str] = None, follow_symlinks: bool = False) -> None:
        """Add every file under ``local_path`` below ``name``, hashed on every core. All or nothing.

        Links to files add their content; links to folders are followed only with
        ``follow_symlinks=True`` (a cycle is skipped); FIFOs, sockets, devices and broken links
        are skipped. Each skip is a ``UserWarning`` naming the path and why."""
    def add_reference(self, uri: str, name: Optional[str] = None, checksum: bool = True) -> None:
        """Add a ``file://``, ``http(s)://`` or ``s3://`` reference without uploading it."""
    def remove(self, item: str) -> List[str]:
        """Remove an entry or a directory of entries; FileNotFoundError when nothing matches."""
    def save(self, project: Optional[str] = None) -> None:
        """Commit: inside a run as logged by it, else into ``project`` or the default project.
        On a fetched artifact, moves its aliases to ``aliases``."""
    def new_draft(self) -> "Artifact":
        """A draft of a new version starting from this committed one."""
    def download(self, root: Optional[_Path] = None) -> str:
        """Download (verified) to ``root`` (default ``./artifacts/<name>:<version>``); returns it."""
    def verify(self, root: Optional[_Path] = None) -> None:
        """Raise ValueError unless ``root`` holds exactly this version."""
    def get_entry(self, name: str) -> ManifestEntry:
        """The entry at ``name``; KeyError if none."""
    def logged_by(self) -> Optional[str]:
        """The id of the run that logged this version."""
    def used_by(self) -> List[str]:
        """The ids of the runs that used this version."""
    def link(self, path: str) -> str:
        """A URL for the file at ``path`` that needs no token for an hour."""
    def wait(self, timeout: Optional[float] = None) -> "Artifact":
        """Returns at once: logging is synchronous."""
    @property
    def name(self) -> str:
        """``name`` before logging, ``name:vN`` after."""
    @property
    def qualified_name(self) -> Optional[str]:
        """``entity/project/name:vN`` once committed."""
    @property
    def type(self) -> str: ...
    @property
    def version(self) -> Optional[str]:
        """``vN`` once committed."""
    @property
    def digest(self) -> str:
        """The artifact digest (hex) of the contents."""
    @property
    def aliases(self) -> List[str]: ...
    @aliases.setter
    def aliases(self, aliases: List[str]) -> None: ...
    @property
    def description(self) -> Optional[str]: ...
    @description.setter
    def description(self, description: Optional[str]) -> None: ...
    @property
    def metadata(self) -> Dict[str, Any]:
        """A copy; assign a new dict to change it before logging."""
    @metadata.setter
    def metadata(self, metadata: Dict[str, Any]) -> None: ...
    @property
    def manifest(self) -> Manifest: ...
    @property
    def size(self) -> int: ...
    @property
    def file_count(self) -> int: ...
    @property
    def state(self) -> Literal["PENDING", "COMMITTED"]: ...
    @property
    def created_at(self) -> Optional[str]: ...

class Run:
    """A run: what it logs and uses is recorded as lineage. A context manager."""

    @property
    def id(self) -> str: ...
    @property
    def entity(self) -> str: ...
    @property
    def project(self) -> str: ...
    @property
    def group(self) -> Optional[str]: ...
    @property
    def job_type(self) -> Optional[str]: ...
    @property
    def name(self) -> Optional[str]: ...
    def log_artifact(
        self,
        artifact: Union[Artifact, _Path],
        name: Optional[str] = None,
        type: Optional[str] = None,
        aliases: Optional[List[str]] = None,
    ) -> Artifact:
        """Commit ``artifact`` (a draft sends only its patch); unchanged content makes no version."""
    def upsert_artifact(self, artifact: Artifact, distributed_id: Optional[str] = None) -> Artifact:
        """Add the files to the distributed version (default id: the run's group)."""
    def finish_artifact(
        self,
        artifact: Artifact,
        distributed_id: Optional[str] = None,
        aliases: Optional[List[str]] = None,
    ) -> Artifact:
        """Commit the distributed version: every upsert's files and this artifact's."""
    def use_artifact(self, artifact_or_name: Union[Artifact, str], type: Optional[str] = None) -> Artifact:
        """Resolve ``[[entity/]project/]name:alias`` and record that this run uses it."""
    def finish(self, exit_code: Optional[int] = None) -> None: ...
    def __enter__(self) -> "Run": ...
    def __exit__(self, *exc: object) -> bool: ...

class Api:
    """The registry outside a run."""

    def __init__(self, overrides: Optional[Dict[str, str]] = None) -> None: ...
    def artifact(self, name: str, type: Optional[str] = None) -> Artifact:
        """The committed version ``[[entity/]project/]name[:alias]``."""
    def artifact_exists(self, name: str) -> bool: ...

def init(
    project: Optional[str] = None,
    entity: Optional[str] = None,
    group: Optional[str] = None,
    job_type: Optional[str] = None,
    name: Optional[str] = None,
) -> Run:
    """Start a run (defaults: ``CAIRN_ENTITY``, ``CAIRN_PROJECT``)."""

def current_run() -> Optional[Run]:
    """The active run, or None."""
