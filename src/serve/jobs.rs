//! Report jobs (报表任务): balance sheets, audit reports, check runs and carrying-capacity warnings asked for in the browser run in the
//! background, each as a child process of this same program running the CLI command with the job's
//! inputs (so a job's files are the bytes `nrledger balance|audit|check` writes for the same inputs, a job
//! that fails or runs out of memory never takes the server with it, and cancelling one ends it at once).
//!
//! At most `workers` jobs run at a time; the others wait their turn, and a full queue refuses new ones.
//! Every job has its folder under the jobs folder: `job.json` (who asked for what, when, its state and the
//! SHA-256 of every input and output), `inputs/` (the files uploaded with it) and `outputs/`. A job's
//! stages are read from the child's stderr (`NRLEDGER_PROGRESS` lines). After a restart, the jobs of the
//! folder are listed again; one that was running is marked interrupted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::{Notify, Semaphore};

use crate::error::{Error, Result};

/// What a job makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A balance sheet (`nrledger balance`).
    Balance,
    /// An outgoing-audit report (`nrledger audit`).
    Audit,
    /// A check run kept in the registry (`nrledger check --store`).
    Check,
    /// A carrying-capacity early warning by township, with its map layer (`nrledger warn`).
    Warning,
}

impl Kind {
    /// The CLI command the job runs.
    pub fn command(self) -> &'static str {
        match self {
            Kind::Balance => "balance",
            Kind::Audit => "audit",
            Kind::Check => "check",
            Kind::Warning => "warn",
        }
    }

    /// Every kind, in the order the pages list them.
    pub const ALL: [Kind; 4] = [Kind::Balance, Kind::Audit, Kind::Check, Kind::Warning];

    /// Its name in reports and pages.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Balance => "自然资源资产负债表 Balance sheet",
            Kind::Audit => "离任审计报告 Audit report",
            Kind::Check => "数据检查 Check run",
            Kind::Warning => "承载能力监测预警 Carrying-capacity warning",
        }
    }

    /// The kind a form or URL names.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.command() == s)
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for a free worker.
    Queued,
    /// Its process runs.
    Running,
    /// Finished; its files are there.
    Done,
    /// Its command failed (the reason is the job's message).
    Failed,
    /// Cancelled by a person.
    Cancelled,
    /// The server stopped while it waited or ran.
    Interrupted,
}

impl State {
    /// In Chinese and English.
    pub fn title(self) -> &'static str {
        match self {
            State::Queued => "排队 queued",
            State::Running => "运行中 running",
            State::Done => "完成 done",
            State::Failed => "失败 failed",
            State::Cancelled => "已取消 cancelled",
            State::Interrupted => "中断 interrupted",
        }
    }

    /// Whether the job will change no more.
    pub fn is_final(self) -> bool {
        !matches!(self, State::Queued | State::Running)
    }
}

/// A file of a job, with its size and content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFile {
    /// Its name in the job's folder (`inputs/` or `outputs/`).
    pub name: String,
    /// Bytes.
    pub bytes: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// An argument of the job's command.
#[derive(Debug, Clone)]
pub enum Arg {
    /// As it is.
    Text(String),
    /// The path of an uploaded input file of this name.
    Input(&'static str),
    /// The path of an output file of this name.
    Output(&'static str),
}

/// What to run: the kind, the parameters as the person gave them, the command's arguments after the
/// registry, the uploaded files, and where its standard output goes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub kind: Kind,
    /// (name, value), as shown with the job.
    pub params: Vec<(String, String)>,
    pub args: Vec<Arg>,
    /// (file name, content).
    pub inputs: Vec<(&'static str, Vec<u8>)>,
    /// The output file standard output is kept in (None: the last lines are the job's message).
    pub stdout: Option<&'static str>,
    /// Exit statuses meaning success (`check`: 1 is "findings at error severity").
    pub success: &'static [i32],
}

/// A job, as `job.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    pub kind: Kind,
    /// The account that asked for it.
    pub by: String,
    /// From where.
    pub origin: String,
    pub params: Vec<(String, String)>,
    pub inputs: Vec<JobFile>,
    pub outputs: Vec<JobFile>,
    pub state: State,
    /// When it was asked for, started, ended (UTC, RFC 3339).
    pub submitted: String,
    pub started: Option<String>,
    pub ended: Option<String>,
    /// The stage it last reached.
    pub stage: String,
    /// Stages reached so far.
    pub stages: u32,
    /// Why it failed, or what its command printed.
    pub message: String,
    /// The account that cancelled it.
    pub cancelled_by: Option<String>,
}

struct Entry {
    job: Job,
    cancel: Arc<Notify>,
}

/// The jobs of one registry and the workers running them.
pub struct Jobs {
    dir: PathBuf,
    exe: PathBuf,
    registry: PathBuf,
    slots: Arc<Semaphore>,
    max_waiting: usize,
    table: Mutex<BTreeMap<u64, Entry>>,
}

/// The most lines of a command's stderr kept for its message.
const TAIL_LINES: usize = 12;
/// The most bytes of standard output kept as a message.
const MAX_MESSAGE: usize = 16 * 1024;

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Jobs {
    /// The jobs kept in `dir` (made if missing) of the registry at `registry`, run `workers` at a time with
    /// at most `max_waiting` waiting. Jobs left queued or running by a previous server are interrupted.
    pub fn open(dir: &Path, registry: &Path, workers: usize, max_waiting: usize) -> Result<Jobs> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let exe = std::env::current_exe().map_err(|e| Error::Invalid(format!("cannot find this program: {e}")))?;
        let mut table = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let path = entry.map_err(|e| Error::io(dir, e))?.path().join("job.json");
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let mut job: Job = serde_json::from_str(&text)
                .map_err(|e| Error::Invalid(format!("{}: not a job record: {e}", path.display())))?;
            if !job.state.is_final() {
                job.state = State::Interrupted;
                job.message = "服务在任务完成前停止 the server stopped before the job finished".into();
                job.ended = Some(now());
                save(dir, &job)?;
            }
            table.insert(job.id, Entry { job, cancel: Arc::new(Notify::new()) });
        }
        Ok(Jobs {
            dir: dir.to_path_buf(),
            exe,
            registry: registry.to_path_buf(),
            slots: Arc::new(Semaphore::new(workers.max(1))),
            max_waiting,
            table: Mutex::new(table),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Entry>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every job, newest first.
    pub fn list(&self) -> Vec<Job> {
        self.table().values().rev().map(|e| e.job.clone()).collect()
    }

    /// One job.
    pub fn get(&self, id: u64) -> Option<Job> {
        self.table().get(&id).map(|e| e.job.clone())
    }

    /// The folder of a job.
    pub fn folder(&self, id: u64) -> PathBuf {
        self.dir.join(id.to_string())
    }

    /// The path of a job's file `name` (an input or an output it lists), if it has one.
    pub fn file(&self, job: &Job, name: &str) -> Option<PathBuf> {
        let folder = self.folder(job.id);
        if job.outputs.iter().any(|f| f.name == name) {
            Some(folder.join("outputs").join(name))
        } else if job.inputs.iter().any(|f| f.name == name) {
            Some(folder.join("inputs").join(name))
        } else {
            None
        }
    }

    /// Queue `plan` for `by` (from `origin`): its folder and inputs written, then run when a worker is
    /// free. Refused (None) when `max_waiting` jobs already wait.
    pub fn start(self: &Arc<Self>, plan: Plan, by: &str, origin: &str) -> Result<Option<Job>> {
        let job = {
            let mut table = self.table();
            if table.values().filter(|e| e.job.state == State::Queued).count() >= self.max_waiting {
                return Ok(None);
            }
            let id = table.keys().next_back().map_or(1, |k| k + 1);
            let folder = self.folder(id);
            for sub in ["inputs", "outputs"] {
                std::fs::create_dir_all(folder.join(sub)).map_err(|e| Error::io(&folder, e))?;
            }
            let mut inputs = Vec::new();
            for (name, bytes) in &plan.inputs {
                let path = folder.join("inputs").join(name);
                std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
                inputs.push(JobFile {
                    name: name.to_string(),
                    bytes: bytes.len() as u64,
                    sha256: crate::hashing::sha256_hex(bytes),
                });
            }
            let job = Job {
                id,
                kind: plan.kind,
                by: by.to_string(),
                origin: origin.to_string(),
                params: plan.params.clone(),
                inputs,
                outputs: Vec::new(),
                state: State::Queued,
                submitted: now(),
                started: None,
                ended: None,
                stage: "等待 waiting for a worker".into(),
                stages: 0,
                message: String::new(),
                cancelled_by: None,
            };
            save(&self.dir, &job)?;
            table.insert(id, Entry { job: job.clone(), cancel: Arc::new(Notify::new()) });
            job
        };
        let jobs = self.clone();
        let id = job.id;
        tokio::spawn(async move { jobs.run(id, plan).await });
        Ok(Some(job))
    }

    /// Cancel a job that waits or runs, for `by`; false if it had already ended.
    pub fn cancel(&self, id: u64, by: &str) -> bool {
        let mut table = self.table();
        let Some(e) = table.get_mut(&id) else { return false };
        if e.job.state.is_final() || e.job.cancelled_by.is_some() {
            return false;
        }
        e.job.cancelled_by = Some(by.to_string());
        e.cancel.notify_one();
        true
    }

    /// Change a job in the table (and its `job.json` when `keep`).
    fn update(&self, id: u64, keep: bool, change: impl FnOnce(&mut Job)) {
        let mut table = self.table();
        if let Some(e) = table.get_mut(&id) {
            change(&mut e.job);
            if keep {
                if let Err(err) = save(&self.dir, &e.job) {
                    tracing::error!(job = id, "cannot keep the job's record: {err}");
                }
            }
        }
    }

    async fn run(self: Arc<Self>, id: u64, plan: Plan) {
        let Some(cancel) = self.table().get(&id).map(|e| e.cancel.clone()) else { return };
        let slots = self.slots.clone();
        let permit = tokio::select! {
            p = slots.acquire_owned() => p,
            _ = cancel.notified() => {
                self.end(id, State::Cancelled, "在排队时取消 cancelled while waiting".into());
                return;
            }
        };
        let Ok(_permit) = permit else { return };
        self.update(id, true, |j| {
            j.state = State::Running;
            j.started = Some(now());
            j.stage = "开始 started".into();
        });
        let (state, message) = match self.child(id, &plan, &cancel).await {
            Ok(outcome) => outcome,
            Err(e) => (State::Failed, format!("the job could not run: {e}")),
        };
        self.end(id, state, message);
    }

    /// Run the job's command; its final state and message.
    async fn child(self: &Arc<Self>, id: u64, plan: &Plan, cancel: &Notify) -> std::io::Result<(State, String)> {
        let folder = self.folder(id);
        let args: Vec<std::ffi::OsString> = plan
            .args
            .iter()
            .map(|a| match a {
                Arg::Text(t) => t.into(),
                Arg::Input(n) => folder.join("inputs").join(n).into(),
                Arg::Output(n) => folder.join("outputs").join(n).into(),
            })
            .collect();
        let mut command = tokio::process::Command::new(&self.exe);
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to end the child with the server
        unsafe {
            command.pre_exec(|| {
                // a job never outlives the server that runs it (even one killed without a chance to clean up)
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .arg(plan.kind.command())
            .arg(&self.registry)
            .args(&args)
            .env("NRLEDGER_PROGRESS", "1")
            .env_remove("NRLEDGER_TIMING")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let out_file = plan.stdout.map(|n| folder.join("outputs").join(n));
        let reading_out = tokio::spawn(async move {
            let mut buf = Vec::new();
            stdout.read_to_end(&mut buf).await.map(|_| buf)
        });
        let tail = Arc::new(Mutex::new(Vec::<String>::new()));
        let reading_err = {
            let tail = tail.clone();
            let jobs = self.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(what) = line.strip_prefix(crate::progress::PROGRESS_PREFIX) {
                        jobs.update(id, false, |j| {
                            j.stage = what.trim().to_string();
                            j.stages += 1;
                        });
                    } else {
                        let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                        t.push(line);
                        if t.len() > TAIL_LINES {
                            t.remove(0);
                        }
                    }
                }
            })
        };
        let status = tokio::select! {
            s = child.wait() => s?,
            _ = cancel.notified() => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                let _ = reading_err.await;
                empty(&folder.join("outputs"));
                return Ok((State::Cancelled, "已取消 cancelled while it ran".into()));
            }
        };
        let _ = reading_err.await;
        let out = reading_out.await.map_err(std::io::Error::other)??;
        let folder_text = format!("{}/", folder.display());
        let tail = tail.lock().unwrap_or_else(|p| p.into_inner()).join("\n").replace(&folder_text, "");
        let ok = status.code().is_some_and(|c| plan.success.contains(&c));
        if !ok {
            empty(&folder.join("outputs"));
            let why = if tail.is_empty() { format!("the command ended with {status}") } else { tail };
            return Ok((State::Failed, why));
        }
        let message = match out_file {
            Some(path) => {
                std::fs::write(&path, &out)?;
                tail
            }
            None => {
                let text = String::from_utf8_lossy(&out);
                let cut = text.char_indices().nth(MAX_MESSAGE).map_or(text.len(), |(i, _)| i);
                text[..cut].replace(&folder_text, "")
            }
        };
        let outputs = list_files(&folder.join("outputs"))?;
        self.update(id, false, |j| j.outputs = outputs);
        Ok((State::Done, message))
    }

    /// Record how a job ended.
    fn end(&self, id: u64, state: State, message: String) {
        self.update(id, true, |j| {
            j.state = state;
            j.message = message;
            j.ended = Some(now());
            if state != State::Cancelled {
                j.cancelled_by = None;
            }
        });
    }
}

/// Empty a job's outputs folder: a cancelled or failed job leaves no file, whole or partial.
fn empty(outputs: &Path) {
    let _ = std::fs::remove_dir_all(outputs);
    let _ = std::fs::create_dir_all(outputs);
}

/// Write a job's record (through a temporary file: a record is never half-written).
fn save(dir: &Path, job: &Job) -> Result<()> {
    let path = dir.join(job.id.to_string()).join("job.json");
    let text = serde_json::to_string_pretty(job).map_err(|e| Error::Invalid(e.to_string()))? + "\n";
    crate::io::output::write_file(&path, text.as_bytes())
}

/// The files of a folder with their sizes and hashes, by name.
fn list_files(dir: &Path) -> std::io::Result<Vec<JobFile>> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if !e.file_type()?.is_file() {
            continue;
        }
        let bytes = std::fs::read(e.path())?;
        files.push(JobFile {
            name: e.file_name().to_string_lossy().into_owned(),
            bytes: bytes.len() as u64,
            sha256: crate::hashing::sha256_hex(&bytes),
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}
