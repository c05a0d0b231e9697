//! `cairn.init` / `cairn.Run` (logging, distributed versions, lineage) and `cairn.Api`.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use cairn_client::{Api, Artifact, Config, Run, RunOptions};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::artifact::{PyArtifact, State};
use crate::error::{OrRaise, UsageError, parse};
use crate::{bars, block, connect};

/// The run `cairn.init` started last and that has not finished (`cairn.run`).
static CURRENT: Mutex<Option<Py<PyRun>>> = Mutex::new(None);

/// The active run, if any.
pub(crate) fn current(py: Python<'_>) -> Option<Py<PyRun>> {
    CURRENT
        .lock()
        .ok()?
        .as_ref()
        .map(|r| r.clone_ref(py))
        .filter(|r| !r.get().finished.load(Ordering::SeqCst))
}

/// The active run (`cairn.run`), or None.
#[pyfunction]
pub fn current_run(py: Python<'_>) -> Option<Py<PyRun>> {
    current(py)
}

/// Start a run in `entity/project` (defaults: `CAIRN_ENTITY`, `CAIRN_PROJECT` or the config
/// file). Use it as a context manager; what it logs and uses is recorded as lineage.
#[pyfunction]
#[pyo3(signature = (project=None, entity=None, group=None, job_type=None, name=None))]
pub fn init(
    py: Python<'_>,
    project: Option<String>,
    entity: Option<String>,
    group: Option<String>,
    job_type: Option<String>,
    name: Option<String>,
) -> PyResult<Py<PyRun>> {
    let api = connect()?;
    let options = RunOptions {
        entity,
        project,
        group: group.clone(),
        job_type: job_type.clone(),
        name: name.clone(),
    };
    let run = block(py, Run::init(&api, options))?.or_raise()?;
    let run = Py::new(
        py,
        PyRun {
            run,
            group,
            job_type,
            name,
            finished: AtomicBool::new(false),
        },
    )?;
    if let Ok(mut current) = CURRENT.lock() {
        *current = Some(run.clone_ref(py));
    }
    Ok(run)
}

/// A run: `log_artifact`, `upsert_artifact` / `finish_artifact`, `use_artifact`, `finish`.
#[pyclass(name = "Run", module = "cairn", frozen)]
#[derive(Debug)]
pub struct PyRun {
    run: Run,
    #[pyo3(get)]
    group: Option<String>,
    #[pyo3(get)]
    job_type: Option<String>,
    #[pyo3(get)]
    name: Option<String>,
    finished: AtomicBool,
}

impl PyRun {
    fn active(&self) -> PyResult<&Run> {
        if self.finished.load(Ordering::SeqCst) {
            return Err(UsageError::new_err(format!(
                "run {} has finished; start another with cairn.init()",
                self.run.id()
            )));
        }
        Ok(&self.run)
    }

    /// Commit a draft as logged by this run.
    pub(crate) fn log(
        &self,
        py: Python<'_>,
        artifact: &mut PyArtifact,
        aliases: Vec<String>,
    ) -> PyResult<()> {
        let run = self.active()?;
        let draft = artifact.draft("log")?;
        let project = draft.base_project().unwrap_or(run.project()).clone();
        let aliases: Vec<&str> = aliases.iter().map(String::as_str).collect();
        let out = block(py, run.log_artifact(draft, &aliases))?.or_raise()?;
        artifact.logged(project, Some(out));
        Ok(())
    }
}

/// An artifact object, or a file or directory to log as a new artifact `name` of `type`.
fn artifact_arg(
    py: Python<'_>,
    artifact: &Bound<'_, PyAny>,
    name: Option<&str>,
    type_: Option<&str>,
) -> PyResult<Py<PyArtifact>> {
    if let Ok(a) = artifact.cast::<PyArtifact>() {
        return Ok(a.clone().unbind());
    }
    let path: PathBuf = artifact.extract()?;
    let name = name.ok_or_else(|| {
        UsageError::new_err("log_artifact of a path needs name= (and type=, default 'unspecified')")
    })?;
    let mut draft = Artifact::new(name, type_.unwrap_or("unspecified"))
        .or_raise()?
        .with_progress(bars());
    py.detach(|| match path.is_dir() {
        true => draft.add_dir(&path, None).map(drop),
        false => draft.add_file(&path, None).map(drop),
    })
    .or_raise()?;
    Py::new(
        py,
        PyArtifact {
            state: State::Draft(Box::new(draft)),
        },
    )
}

#[pymethods]
impl PyRun {
    /// The run's id.
    #[getter]
    fn id(&self) -> String {
        self.run.id().to_string()
    }

    #[getter]
    fn entity(&self) -> String {
        self.run.project().entity.to_string()
    }

    #[getter]
    fn project(&self) -> String {
        self.run.project().project.to_string()
    }

    /// Commit `artifact` (a draft sends only its patch) as logged by this run, with `aliases`
    /// besides `latest`. Unchanged content makes no new version. Returns the artifact, now
    /// committed (`version`, `digest`, `aliases`).
    #[pyo3(signature = (artifact, name=None, r#type=None, aliases=None))]
    fn log_artifact(
        &self,
        py: Python<'_>,
        artifact: &Bound<'_, PyAny>,
        name: Option<&str>,
        r#type: Option<&str>,
        aliases: Option<Vec<String>>,
    ) -> PyResult<Py<PyArtifact>> {
        let artifact = artifact_arg(py, artifact, name, r#type)?;
        self.log(
            py,
            &mut artifact.borrow_mut(py),
            aliases.unwrap_or_default(),
        )?;
        Ok(artifact)
    }

    /// Add the artifact's files to the distributed version `distributed_id` (default: the run's
    /// group); `finish_artifact` commits it.
    #[pyo3(signature = (artifact, distributed_id=None))]
    fn upsert_artifact(
        &self,
        py: Python<'_>,
        artifact: Py<PyArtifact>,
        distributed_id: Option<&str>,
    ) -> PyResult<Py<PyArtifact>> {
        let run = self.active()?;
        {
            let mut a = artifact.borrow_mut(py);
            let draft = a.draft("upsert")?;
            block(py, run.upsert_artifact(draft, distributed_id))?.or_raise()?;
            a.logged(run.project().clone(), None);
        }
        Ok(artifact)
    }

    /// Commit the distributed version `distributed_id` (default: the run's group): the union of
    /// every upsert and this artifact's files.
    #[pyo3(signature = (artifact, distributed_id=None, aliases=None))]
    fn finish_artifact(
        &self,
        py: Python<'_>,
        artifact: Py<PyArtifact>,
        distributed_id: Option<&str>,
        aliases: Option<Vec<String>>,
    ) -> PyResult<Py<PyArtifact>> {
        let run = self.active()?;
        {
            let mut a = artifact.borrow_mut(py);
            let draft = a.draft("finish")?;
            for alias in aliases.unwrap_or_default() {
                draft.aliases.push(parse(&alias)?);
            }
            let out = block(py, run.finish_artifact(draft, distributed_id))?.or_raise()?;
            a.logged(run.project().clone(), Some(out));
            // the version holds every upsert's files, not only this artifact's: read it back
            a.committed(py)?;
        }
        Ok(artifact)
    }

    /// Resolve `[[entity/]project/]name:alias` (or a fetched artifact) and record that this run
    /// uses it; `type`, when given, must match.
    #[pyo3(signature = (artifact_or_name, r#type=None))]
    fn use_artifact(
        &self,
        py: Python<'_>,
        artifact_or_name: &Bound<'_, PyAny>,
        r#type: Option<&str>,
    ) -> PyResult<PyArtifact> {
        let run = self.active()?;
        let path: String = match artifact_or_name.cast::<PyArtifact>() {
            Ok(a) => a
                .getattr("qualified_name")?
                .extract::<Option<String>>()?
                .ok_or_else(|| UsageError::new_err("use_artifact needs a committed artifact"))?,
            Err(_) => artifact_or_name.extract()?,
        };
        let version = block(py, run.use_artifact(&path))?.or_raise()?;
        check_type(&version, r#type)?;
        Ok(PyArtifact::fetched(version))
    }

    /// End the run (leaving the `with` block does it); later calls on it fail.
    #[pyo3(signature = (exit_code=None))]
    fn finish(slf: &Bound<'_, Self>, exit_code: Option<i32>) {
        let _ = exit_code;
        slf.get().finished.store(true, Ordering::SeqCst);
        if let Ok(mut current) = CURRENT.lock()
            && current.as_ref().is_some_and(|r| r.is(slf))
        {
            *current = None;
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(slf: &Bound<'_, Self>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        Self::finish(slf, None);
        false
    }

    fn __repr__(&self) -> String {
        format!(
            "<Run {} in {}/{}>",
            self.run.id(),
            self.run.project().entity,
            self.run.project().project
        )
    }
}

fn check_type(version: &cairn_client::ArtifactVersion, expected: Option<&str>) -> PyResult<()> {
    match expected {
        Some(t) if version.info().type_.as_str() != t => Err(PyValueError::new_err(format!(
            "{} has type '{}', not '{t}'",
            version.info().name,
            version.info().type_
        ))),
        _ => Ok(()),
    }
}

/// The registry outside a run: `Api().artifact("entity/project/name:alias")`.
#[pyclass(name = "Api", module = "cairn", frozen)]
#[derive(Debug)]
pub struct PyApi {
    api: Api,
}

#[pymethods]
impl PyApi {
    /// Connect with the config file and `CAIRN_*` variables; `overrides` may set `entity`
    /// and `project` (the defaults of short paths).
    #[new]
    #[pyo3(signature = (overrides=None))]
    fn new(overrides: Option<Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut config = Config::load().or_raise()?;
        if let Some(o) = overrides {
            if let Some(e) = o.get_item("entity")? {
                config.entity = Some(parse(&e.extract::<String>()?)?);
            }
            if let Some(p) = o.get_item("project")? {
                config.project = Some(parse(&p.extract::<String>()?)?);
            }
        }
        Ok(Self {
            api: Api::new(&config).or_raise()?.with_progress(bars()),
        })
    }

    /// The committed version `[[entity/]project/]name[:alias]` (default alias `latest`);
    /// `type`, when given, must match.
    #[pyo3(signature = (name, r#type=None))]
    fn artifact(&self, py: Python<'_>, name: &str, r#type: Option<&str>) -> PyResult<PyArtifact> {
        let version = block(py, self.api.artifact(name))?.or_raise()?;
        check_type(&version, r#type)?;
        Ok(PyArtifact::fetched(version))
    }

    /// Whether `[[entity/]project/]name[:alias]` names a committed version.
    fn artifact_exists(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        match block(py, self.api.artifact(name))? {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(crate::error::raise(e)),
        }
    }
}
