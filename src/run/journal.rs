//! The append-only JSONL journal of a run.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Location, Result};
use crate::model::{ClientInfo, Params};
use crate::prompt::Prompt;
use crate::record::{Record, RecordKey};
use crate::run::SeedPolicy;
use crate::run::shutdown::Shutdown;

/// The format name written in every header.
pub const FORMAT: &str = "refusal-bias-journal";
/// The format version this crate writes and reads.
pub const VERSION: u32 = 1;
/// The journal is `fsync`ed at least once per this many records.
pub const SYNC_EVERY_RECORDS: u32 = 100;
/// The journal is `fsync`ed at least this often while records arrive.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

/// What decides a run's answers: two runs with equal identities may share a
/// journal. Holds no secrets (client infos carry no keys).
///
/// Concurrency, budgets and the stall warning are left out on purpose: they
/// change how a run proceeds, not what it records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunIdentity {
    /// SHA-256 (hex) over every prompt's id, system text and text, in order.
    pub prompts_sha256: String,
    /// How many prompts.
    pub prompt_count: u64,
    /// The model clients, in order. Their `base_url` is recorded but left out
    /// of the fingerprint: a local server gets a new port each time it starts,
    /// and the provider and model name are what decide the answers. A changed
    /// endpoint is logged as a warning on resume.
    pub models: Vec<ClientInfo>,
    /// The base sampling parameters.
    pub params: Params,
    /// Draws per prompt and model.
    pub samples: u32,
    /// How seeds are chosen per draw.
    pub seed: SeedPolicy,
    /// The classifier's name.
    pub classifier: String,
}

impl RunIdentity {
    /// The identity of a run of `prompts` on `models`.
    pub fn new(
        prompts: &[Prompt],
        models: Vec<ClientInfo>,
        params: Params,
        samples: u32,
        seed: SeedPolicy,
        classifier: String,
    ) -> Self {
        let mut h = Sha256::new();
        for p in prompts {
            // Length-prefixed fields, so that no two prompt lists collide by
            // moving text across field boundaries.
            for field in [
                Some(p.id.as_str()),
                p.system.as_deref(),
                Some(p.text.as_str()),
            ] {
                match field {
                    Some(s) => {
                        h.update([1u8]);
                        h.update((s.len() as u64).to_le_bytes());
                        h.update(s.as_bytes());
                    }
                    None => h.update([0u8]),
                }
            }
        }
        RunIdentity {
            prompts_sha256: hex::encode(h.finalize()),
            prompt_count: prompts.len() as u64,
            models,
            params,
            samples,
            seed,
            classifier,
        }
    }

    /// SHA-256 (hex) of the identity's JSON form.
    pub fn fingerprint(&self) -> String {
        let mut id = self.clone();
        for m in &mut id.models {
            m.base_url = None;
        }
        // Serializing a struct of strings, integers and options cannot fail.
        let json = serde_json::to_vec(&id).unwrap_or_default();
        hex::encode(Sha256::digest(&json))
    }

    /// Models whose endpoint differs between `self` and `other` (same
    /// position, same provider and model), as `model: old -> new`.
    pub fn endpoint_changes(&self, other: &RunIdentity) -> Vec<String> {
        self.models
            .iter()
            .zip(&other.models)
            .filter(|(a, b)| {
                a.provider == b.provider && a.model == b.model && a.base_url != b.base_url
            })
            .map(|(a, b)| {
                format!(
                    "{}: {} -> {}",
                    a.model,
                    a.base_url.as_deref().unwrap_or("none"),
                    b.base_url.as_deref().unwrap_or("none")
                )
            })
            .collect()
    }

    /// What differs between `self` (a journal's) and `other` (this run's), in
    /// words; empty when nothing does.
    pub fn differences(&self, other: &RunIdentity) -> Vec<String> {
        let mut out = Vec::new();
        if self.prompts_sha256 != other.prompts_sha256 {
            out.push(format!(
                "prompts differ ({} in journal, {} now; hash {} vs {})",
                self.prompt_count,
                other.prompt_count,
                short(&self.prompts_sha256),
                short(&other.prompts_sha256)
            ));
        }
        let what = |m: &ClientInfo| (m.provider.clone(), m.model.clone());
        if self
            .models
            .iter()
            .map(what)
            .ne(other.models.iter().map(what))
        {
            let names = |m: &[ClientInfo]| {
                m.iter()
                    .map(|c| c.model.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push(format!(
                "models differ (journal: [{}], now: [{}])",
                names(&self.models),
                names(&other.models)
            ));
        }
        if self.params != other.params {
            out.push(format!(
                "params differ (journal: {}, now: {})",
                serde_json::to_string(&self.params).unwrap_or_default(),
                serde_json::to_string(&other.params).unwrap_or_default()
            ));
        }
        if self.samples != other.samples {
            out.push(format!(
                "samples differ (journal: {}, now: {})",
                self.samples, other.samples
            ));
        }
        if self.seed != other.seed {
            out.push(format!(
                "seed policy differs (journal: {:?}, now: {:?})",
                self.seed, other.seed
            ));
        }
        if self.classifier != other.classifier {
            out.push(format!(
                "classifier differs (journal: `{}`, now: `{}`)",
                self.classifier, other.classifier
            ));
        }
        out
    }
}

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}

/// The first line of a journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalHeader {
    /// Always [`FORMAT`].
    pub journal: String,
    /// The format version ([`VERSION`]).
    pub version: u32,
    /// [`RunIdentity::fingerprint`] of `config`.
    pub fingerprint: String,
    /// The identity of the run that wrote the journal.
    pub config: RunIdentity,
}

impl JournalHeader {
    /// The header for a run with `identity`.
    pub fn new(identity: RunIdentity) -> Self {
        JournalHeader {
            journal: FORMAT.to_string(),
            version: VERSION,
            fingerprint: identity.fingerprint(),
            config: identity,
        }
    }
}

/// A torn last line that a reader ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornLine {
    /// Its 1-based line number.
    pub line: u64,
    /// Its length in bytes.
    pub bytes: u64,
    /// Byte offset where it starts: the length of the valid part of the file.
    pub offset: u64,
}

/// Streams the records of a journal, one line at a time, in file order.
///
/// Memory use does not grow with the journal's length. After the iterator
/// ends, [`JournalReader::torn`] says whether a torn last line was skipped.
#[derive(Debug)]
pub struct JournalReader {
    path: PathBuf,
    reader: BufReader<File>,
    header: JournalHeader,
    buf: Vec<u8>,
    line: u64,
    offset: u64,
    torn: Option<TornLine>,
    done: bool,
}

/// Reads the header and the byte length of its line; `None` for a file
/// without a single complete line (new, empty, or a header cut short).
fn read_head(path: &Path, reader: &mut BufReader<File>) -> Result<Option<(JournalHeader, u64)>> {
    let mut buf = Vec::new();
    reader
        .read_until(b'\n', &mut buf)
        .map_err(|e| Error::io(path, e))?;
    if buf.last() != Some(&b'\n') {
        return Ok(None);
    }
    let header: JournalHeader = serde_json::from_slice(&buf).map_err(|e| {
        Error::invalid(
            Location::new(path.display().to_string()).line(1),
            format!("not a refusal-bias journal header: {e}"),
        )
    })?;
    if header.journal != FORMAT {
        return Err(Error::invalid(
            Location::new(path.display().to_string())
                .line(1)
                .field("journal"),
            format!("expected `{FORMAT}`, found `{}`", header.journal),
        ));
    }
    if header.version != VERSION {
        return Err(Error::invalid(
            Location::new(path.display().to_string())
                .line(1)
                .field("version"),
            format!(
                "journal version {} is not supported (this crate reads {VERSION})",
                header.version
            ),
        ));
    }
    Ok(Some((header, buf.len() as u64)))
}

impl JournalReader {
    /// Opens `path` and reads its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        match Self::open_inner(path)? {
            Some(r) => Ok(r),
            None => Err(Error::invalid(
                Location::new(path.display().to_string()).line(1),
                "journal has no complete header line",
            )),
        }
    }

    fn open_inner(path: &Path) -> Result<Option<Self>> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        match read_head(path, &mut reader)? {
            None => Ok(None),
            Some((header, len)) => Ok(Some(JournalReader {
                path: path.to_path_buf(),
                reader,
                header,
                buf: Vec::with_capacity(4096),
                line: 1,
                offset: len,
                torn: None,
                done: false,
            })),
        }
    }

    /// The header.
    pub fn header(&self) -> &JournalHeader {
        &self.header
    }

    /// The torn last line skipped, once the iterator has reached it.
    pub fn torn(&self) -> Option<TornLine> {
        self.torn
    }

    /// The length in bytes of the complete lines read so far.
    pub fn valid_len(&self) -> u64 {
        self.offset
    }
}

impl Iterator for JournalReader {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            let n = match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(n) => n,
                Err(e) => {
                    self.done = true;
                    return Some(Err(Error::io(&self.path, e)));
                }
            };
            if n == 0 {
                self.done = true;
                return None;
            }
            self.line += 1;
            if self.buf.last() != Some(&b'\n') {
                self.done = true;
                let torn = TornLine {
                    line: self.line,
                    bytes: n as u64,
                    offset: self.offset,
                };
                tracing::warn!(
                    journal = %self.path.display(),
                    line = torn.line,
                    bytes = torn.bytes,
                    "ignoring torn last line of journal (a write cut short)"
                );
                self.torn = Some(torn);
                return None;
            }
            self.offset += n as u64;
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(serde_json::from_slice(&self.buf).map_err(|e| {
                self.done = true;
                Error::invalid(
                    Location::new(self.path.display().to_string()).line(self.line),
                    format!("not a journal record: {e}"),
                )
            }));
        }
    }
}

/// A whole journal read into memory.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalContents {
    /// The header.
    pub header: JournalHeader,
    /// Every record line, in file order (superseded attempts included).
    pub records: Vec<Record>,
    /// The torn last line that was ignored, if any.
    pub torn: Option<TornLine>,
}

impl JournalContents {
    /// One record per key: the last line for each key wins, and keys keep
    /// the order of their first appearance.
    pub fn latest(&self) -> Vec<Record> {
        let mut slot: HashMap<RecordKey, usize> = HashMap::new();
        let mut out: Vec<Record> = Vec::new();
        for r in &self.records {
            match slot.get(&r.key()) {
                Some(&i) => out[i] = r.clone(),
                None => {
                    slot.insert(r.key(), out.len());
                    out.push(r.clone());
                }
            }
        }
        out
    }
}

/// An append-only JSONL journal, open for appending records.
///
/// # Format
///
/// The first line is a [`JournalHeader`]: the format name, a version and the
/// [`RunIdentity`] of the run that wrote it with its fingerprint. Every other
/// line is one [`Record`], written whole by a single `write` call as soon as
/// the record is classified.
///
/// # Durability
///
/// Each record line is handed to the operating system as it completes, so a
/// killed process loses at most the line being written. The file is also
/// `fsync`ed once [`SYNC_EVERY_RECORDS`] records were written since the last
/// sync, or at the first append after [`SYNC_EVERY`] has passed since it, and
/// when the run ends; that bounds what a power loss or an operating-system
/// crash can take (a record finished during a long quiet spell waits for the
/// next append or the end of the run).
///
/// # One run at a time
///
/// [`Journal::create`] and [`Journal::resume`] take an exclusive advisory
/// lock on the file (`File::try_lock`) before touching it, and the
/// [`Journal`] holds it until dropped; a second writer, in this process or
/// another, fails at once with [`Error::Config`]. The operating system drops
/// the lock when its holder exits, killed or not. Readers
/// ([`Journal::read`], [`JournalReader`]) take no lock. The lock is advisory:
/// it keeps out other runs of this crate, not programs that ignore it.
///
/// # Torn lines and superseded records
///
/// A last line without its final newline is the trace of a write cut short: a
/// reader ignores it with a warning, and [`Journal::resume`] truncates it away
/// before appending. Any other line that does not parse is an error naming the
/// file and line.
///
/// A key (prompt id, model, sample) normally appears once. With
/// [`crate::run::RunConfig::retry_errors`], a failed record can be followed by
/// a later attempt for the same key; the **last** line for a key supersedes the
/// earlier ones ([`JournalContents::latest`] applies that rule).
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    line: Vec<u8>,
    unsynced: u32,
    last_sync: Instant,
    shutdown: Option<Shutdown>,
}

/// What [`Journal::resume`] found in an existing journal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResumeInfo {
    /// Whether the journal existed with a header (false: created now).
    pub existed: bool,
    /// Record lines read.
    pub records: u64,
    /// The torn last line that was cut off, if any.
    pub torn: Option<TornLine>,
    /// Whether the configuration differed and that was allowed.
    pub mismatch_allowed: bool,
}

impl Journal {
    /// Reads a whole journal. A torn last line is ignored with a warning.
    ///
    /// For very long journals prefer [`JournalReader`], which streams.
    pub fn read(path: impl AsRef<Path>) -> Result<JournalContents> {
        let mut reader = JournalReader::open(path)?;
        let mut records = Vec::new();
        for r in reader.by_ref() {
            records.push(r?);
        }
        Ok(JournalContents {
            header: reader.header.clone(),
            records,
            torn: reader.torn,
        })
    }

    /// Creates a new journal at `path` (replacing any file there) and writes
    /// its header.
    ///
    /// The returned journal holds an exclusive advisory lock on the file
    /// until it is dropped. If another [`Journal`] (in this process or
    /// another) holds it, this fails with [`Error::Config`] and leaves the
    /// file untouched.
    pub fn create(path: impl AsRef<Path>, header: &JournalHeader) -> Result<Journal> {
        let path = path.as_ref();
        // No `truncate(true)` here: the file may only be emptied once the lock
        // is ours, or a running journal would be wiped.
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        lock_exclusive(&file, path)?;
        Journal::start(path, file, header)
    }

    /// Empties the locked `file` and writes `header` as its first line.
    fn start(path: &Path, mut file: File, header: &JournalHeader) -> Result<Journal> {
        let mut line = serde_json::to_vec(header)
            .map_err(|e| Error::Config(format!("cannot serialize journal header: {e}")))?;
        line.push(b'\n');
        file.set_len(0).map_err(|e| Error::io(path, e))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(path, e))?;
        file.write_all(&line).map_err(|e| Error::io(path, e))?;
        file.sync_all().map_err(|e| Error::io(path, e))?;
        sync_parent_dir(path);
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            line: Vec::with_capacity(4096),
            unsynced: 0,
            last_sync: Instant::now(),
            shutdown: None,
        })
    }

    /// Opens the journal at `path` for a run with `header`, creating it if it
    /// does not exist or holds no complete line.
    ///
    /// An existing journal must carry the same fingerprint, or the call fails
    /// with [`Error::Config`] saying what differs, unless `allow_mismatch`.
    /// Each record already in the file is passed to `on_record` in file
    /// order; a torn last line is cut off before anything is appended.
    ///
    /// The file is locked (an exclusive advisory lock) before it is read, and
    /// the lock is held until the returned [`Journal`] is dropped, so that no
    /// two runs append to one journal at once. A journal locked by another
    /// run fails at once with [`Error::Config`] ("journal X is in use by
    /// another run"), before anything is read or written. The lock goes with
    /// the process: one that is killed releases it.
    pub fn resume(
        path: impl AsRef<Path>,
        header: &JournalHeader,
        allow_mismatch: bool,
        mut on_record: impl FnMut(Record),
    ) -> Result<(Journal, ResumeInfo)> {
        let path = path.as_ref();
        // Open (creating if need be, truncating nothing) and lock first, so
        // that what is read below cannot change under us.
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        lock_exclusive(&file, path)?;
        let exists = file.metadata().map_err(|e| Error::io(path, e))?.len() > 0;
        let reader = if exists {
            JournalReader::open_inner(path)?
        } else {
            None
        };
        let Some(mut reader) = reader else {
            return Ok((Journal::start(path, file, header)?, ResumeInfo::default()));
        };
        let mut info = ResumeInfo {
            existed: true,
            ..ResumeInfo::default()
        };
        if reader.header.fingerprint != header.fingerprint {
            let diffs = reader.header.config.differences(&header.config);
            let what = if diffs.is_empty() {
                "fingerprints differ".to_string()
            } else {
                diffs.join("; ")
            };
            if !allow_mismatch {
                return Err(Error::Config(format!(
                    "journal {} was written by a different configuration: {what}; \
                     use another output path, or allow the mismatch to reuse its records",
                    path.display()
                )));
            }
            tracing::warn!(journal = %path.display(), differences = %what,
                "resuming a journal written by a different configuration, as allowed");
            info.mismatch_allowed = true;
        }
        let moved = reader.header.config.endpoint_changes(&header.config);
        if !moved.is_empty() {
            tracing::warn!(journal = %path.display(), changes = %moved.join("; "),
                "resuming with a different endpoint for the same model");
        }
        for r in reader.by_ref() {
            on_record(r?);
            info.records += 1;
        }
        info.torn = reader.torn;
        let valid_len = reader.valid_len();
        drop(reader);
        if info.torn.is_some() {
            file.set_len(valid_len).map_err(|e| Error::io(path, e))?;
            file.sync_all().map_err(|e| Error::io(path, e))?;
        }
        file.seek(SeekFrom::Start(valid_len))
            .map_err(|e| Error::io(path, e))?;
        Ok((
            Journal {
                path: path.to_path_buf(),
                file,
                line: Vec::with_capacity(4096),
                unsynced: 0,
                last_sync: Instant::now(),
                shutdown: None,
            },
            info,
        ))
    }

    /// Makes each append hold `shutdown`'s write lock, so that an immediate
    /// exit on a second Ctrl-C waits for the line being written.
    pub(crate) fn guard_with(&mut self, shutdown: Shutdown) {
        self.shutdown = Some(shutdown);
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line, then syncs if the cadence says so.
    pub fn append(&mut self, record: &Record) -> Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record)
            .map_err(|e| Error::Config(format!("cannot serialize record: {e}")))?;
        self.line.push(b'\n');
        let (file, line) = (&mut self.file, &self.line);
        let written = match &self.shutdown {
            Some(s) => s.while_writing(|| file.write_all(line)),
            None => file.write_all(line),
        };
        written.map_err(|e| Error::io(&self.path, e))?;
        self.unsynced += 1;
        if self.unsynced >= SYNC_EVERY_RECORDS || self.last_sync.elapsed() >= SYNC_EVERY {
            self.sync()?;
        }
        Ok(())
    }

    /// Forces the journal to stable storage.
    pub fn sync(&mut self) -> Result<()> {
        if self.unsynced > 0 {
            self.file
                .sync_data()
                .map_err(|e| Error::io(&self.path, e))?;
            self.unsynced = 0;
        }
        self.last_sync = Instant::now();
        Ok(())
    }
}

/// Takes an exclusive advisory lock on `file` without waiting; a lock held
/// elsewhere is a configuration error naming `path`.
fn lock_exclusive(file: &File, path: &Path) -> Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => {
            tracing::warn!(journal = %path.display(), "journal is locked by another run");
            Err(Error::Config(format!(
                "journal {} is in use by another run",
                path.display()
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(path, e)),
    }
}

/// Makes a newly created file's directory entry durable (best effort; only
/// meaningful on Unix).
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
