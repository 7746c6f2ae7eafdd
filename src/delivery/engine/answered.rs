//! The answered-sends journal: on SQLite, each delivery result is noted in a file beside the database the
//! moment the finisher hears of it, before its commit (which waits its turn in the single writer behind
//! ingest). A process killed in between finds the note at its next start and records the result instead of
//! sending again. A note is a plain `write(2)`, no `fsync`: it outlives the process (the kernel keeps it),
//! not the machine — a power cut falls back to at-least-once, as without the journal.
//!
//! Two files take turns, so the journal stays small under a steady drain: notes go to one until it passes
//! [`TURN_BYTES`]; then, once every result noted in the other has committed, that one is emptied and takes
//! over.

use crate::storage::{
    AttemptOutcome, AttemptRow, DeliveryResult, DeliveryStatus, StoreError, from_millis, millis,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// How large a file grows before the other takes over (when it may).
const TURN_BYTES: u64 = 4 << 20;

/// Which of the two files a result was noted in.
pub(super) type Slot = usize;

/// The journal of a process that has its SQLite database to itself (the serve lock).
pub(crate) struct AnsweredJournal {
    files: [File; 2],
    paths: [PathBuf; 2],
    current: Slot,
    /// Bytes written to the current file.
    written: u64,
    /// How large the current file grows before the other takes over ([`TURN_BYTES`]).
    turn_bytes: u64,
    /// Results noted in each file whose commit has not been heard of yet.
    outstanding: [usize; 2],
    /// Orders the notes across both files (a delivery's last note wins at replay).
    seq: u64,
    /// A failed write is told once: the journal only saves sends after a crash.
    told_failure: bool,
}

/// The two files of the journal of the database at `database`.
fn paths(database: &Path) -> [PathBuf; 2] {
    [0, 1].map(|n| {
        let mut path = database.to_path_buf().into_os_string();
        path.push(format!("-answered-{n}"));
        PathBuf::from(path)
    })
}

/// Reads the journal a stopped run left: the last result noted for each delivery, oldest first. Missing
/// files read as empty; a torn last line (the kill came mid-write) is skipped.
pub(crate) fn read_left(database: &Path) -> std::io::Result<Vec<DeliveryResult>> {
    let mut notes: Vec<Note<'static>> = Vec::new();
    for path in paths(database) {
        let text = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        notes.extend(
            text.split(|b| *b == b'\n')
                .filter_map(|line| serde_json::from_slice::<Note<'static>>(line).ok()),
        );
    }
    notes.sort_by_key(|n| n.seq);
    let mut last: HashMap<String, Note<'static>> = HashMap::new();
    for note in notes {
        last.insert(note.id.to_string(), note);
    }
    let mut left: Vec<Note<'static>> = last.into_values().collect();
    left.sort_by_key(|n| n.seq);
    Ok(left.into_iter().filter_map(Note::into_result).collect())
}

impl AnsweredJournal {
    /// Opens the journal beside `database`, empty: what a stopped run left must be read first.
    pub(crate) fn open(database: &Path) -> std::io::Result<AnsweredJournal> {
        let paths = paths(database);
        // Appending: a file emptied for its next turn is written from its start again.
        let open = |path: &PathBuf| {
            let file = File::options().create(true).append(true).open(path)?;
            file.set_len(0)?;
            Ok::<_, std::io::Error>(file)
        };
        Ok(AnsweredJournal {
            files: [open(&paths[0])?, open(&paths[1])?],
            paths,
            current: 0,
            written: 0,
            turn_bytes: TURN_BYTES,
            outstanding: [0, 0],
            seq: 0,
            told_failure: false,
        })
    }

    /// Notes a batch of results just heard of, in one write; returns the file they went to.
    pub(super) fn note(&mut self, batch: &[DeliveryResult]) -> Slot {
        let mut text = Vec::with_capacity(batch.len() * 256);
        for result in batch {
            self.seq += 1;
            serde_json::to_writer(&mut text, &Note::of(self.seq, result))
                .expect("a note serializes");
            text.push(b'\n');
        }
        let slot = self.current;
        match self.files[slot].write_all(&text) {
            Ok(()) => self.written += text.len() as u64,
            Err(error) => self.tell_failure(&error),
        }
        self.outstanding[slot] += batch.len();
        slot
    }

    /// `count` results noted in `slot` have committed; the files change turns when they may.
    pub(super) fn recorded(&mut self, slot: Slot, count: usize) {
        self.outstanding[slot] = self.outstanding[slot].saturating_sub(count);
        let other = 1 - self.current;
        if self.written >= self.turn_bytes && self.outstanding[other] == 0 {
            match self.files[other].set_len(0) {
                Ok(()) => {
                    self.current = other;
                    self.written = 0;
                }
                Err(error) => self.tell_failure(&error),
            }
        }
    }

    /// At a clean stop, every result committed: nothing is left to read.
    pub(super) fn clear(&mut self) {
        for file in &self.files {
            if let Err(error) = file.set_len(0) {
                tracing::warn!(message = "Emptying the answered-sends journal failed.", %error);
            }
        }
    }

    fn tell_failure(&mut self, error: &std::io::Error) {
        if !std::mem::replace(&mut self.told_failure, true) {
            tracing::warn!(
                message = "Writing the answered-sends journal failed; a crash now may send some deliveries twice.",
                file = %self.paths[self.current].display(),
                %error
            );
        }
    }
}

/// One result as noted: one JSON line (written from borrowed text, read back owned).
#[derive(Serialize, Deserialize)]
struct Note<'a> {
    seq: u64,
    id: Cow<'a, str>,
    destination: Cow<'a, str>,
    status: Cow<'a, str>,
    attempts: u32,
    next_at: Option<i64>,
    code: Option<u16>,
    error: Option<Cow<'a, str>>,
    at: i64,
    logged: Vec<LoggedNote<'a>>,
}

/// One logged attempt of a result, as noted.
#[derive(Serialize, Deserialize)]
struct LoggedNote<'a> {
    attempt: u32,
    started_at: i64,
    duration_ms: u64,
    outcome: Cow<'a, str>,
    code: Option<u16>,
    headers: Cow<'a, serde_json::Map<String, serde_json::Value>>,
    response: Option<Cow<'a, str>>,
    error: Option<Cow<'a, str>>,
    request: Option<Cow<'a, str>>,
}

impl<'a> Note<'a> {
    fn of(seq: u64, f: &'a DeliveryResult) -> Note<'a> {
        Note {
            seq,
            id: Cow::Borrowed(&f.id),
            destination: Cow::Borrowed(&f.destination),
            status: Cow::Borrowed(f.status.as_str()),
            attempts: f.attempts,
            next_at: f.next_attempt_at.map(millis),
            code: f.last_status,
            error: f.last_error.as_deref().map(Cow::Borrowed),
            at: millis(f.at),
            logged: f
                .logged
                .iter()
                .map(|a| LoggedNote {
                    attempt: a.attempt,
                    started_at: millis(a.started_at),
                    duration_ms: a.duration_ms,
                    outcome: a.outcome.name(),
                    code: a.status_code,
                    headers: Cow::Borrowed(&a.response_headers),
                    response: a.response_body.as_deref().map(Cow::Borrowed),
                    error: a.error.as_deref().map(Cow::Borrowed),
                    request: a.request_body.as_deref().map(Cow::Borrowed),
                })
                .collect(),
        }
    }

    /// The result again; `None` for a note this build cannot read (a status or outcome it does not know).
    fn into_result(self) -> Option<DeliveryResult> {
        let logged = self
            .logged
            .into_iter()
            .map(|a| {
                Some(AttemptRow {
                    attempt: a.attempt,
                    started_at: from_millis(a.started_at),
                    duration_ms: a.duration_ms,
                    outcome: AttemptOutcome::parse(&a.outcome)?,
                    status_code: a.code,
                    response_headers: a.headers.into_owned(),
                    response_body: a.response.map(Cow::into_owned),
                    error: a.error.map(Cow::into_owned),
                    request_body: a.request.map(Cow::into_owned),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(DeliveryResult {
            id: self.id.into_owned(),
            destination: self.destination.into_owned(),
            status: DeliveryStatus::parse(&self.status)?,
            attempts: self.attempts,
            next_attempt_at: self.next_at.map(from_millis),
            last_status: self.code,
            last_error: self.error.map(Cow::into_owned),
            logged,
            at: from_millis(self.at),
        })
    }
}

impl super::Engine {
    /// A `serve` start on a SQLite database it has to itself, before leases are released: records the
    /// results the last run heard but had not written (so those sends are not made again), then notes this
    /// run's as they come.
    pub async fn recover_answered(&self, database: &Path) -> Result<usize, StoreError> {
        let io = |e| StoreError::Db(sqlx::Error::Io(e));
        let left = read_left(database).map_err(io)?;
        let unrecorded = self.store.unrecorded(left).await?;
        for batch in unrecorded.chunks(256) {
            self.store.finish(batch).await?;
        }
        if !unrecorded.is_empty() {
            tracing::info!(
                message = "Recorded the answers a stopped run had heard but not written.",
                results = unrecorded.len()
            );
        }
        let journal = AnsweredJournal::open(database).map_err(io)?;
        *self.answered.lock().expect("journal lock") = Some(journal);
        Ok(unrecorded.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn result(id: &str, status: DeliveryStatus, second: u32) -> DeliveryResult {
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, second).unwrap();
        DeliveryResult {
            id: id.into(),
            destination: "sink".into(),
            status,
            attempts: 1,
            next_attempt_at: (status == DeliveryStatus::Pending).then_some(at),
            last_status: Some(503),
            last_error: Some("503 \"busy\"\n".into()),
            logged: vec![AttemptRow {
                attempt: 1,
                started_at: at,
                duration_ms: 12,
                outcome: AttemptOutcome::Grouped(Box::new(AttemptOutcome::Retry)),
                status_code: Some(503),
                response_headers: serde_json::json!({"retry-after": "2"})
                    .as_object()
                    .unwrap()
                    .clone(),
                response_body: Some("busy".into()),
                error: None,
                request_body: Some("{\"a\":1}".into()),
            }],
            at,
        }
    }

    #[test]
    fn what_a_run_noted_reads_back_the_last_per_delivery_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("hookarr.db");
        let mut journal = AnsweredJournal::open(&database).unwrap();
        journal.note(&[
            result("dlv_a", DeliveryStatus::Pending, 1),
            result("dlv_b", DeliveryStatus::Succeeded, 2),
        ]);
        journal.note(&[result("dlv_a", DeliveryStatus::Dead, 3)]);
        // A kill mid-write leaves half a line.
        let mut torn = std::fs::OpenOptions::new()
            .append(true)
            .open(&journal.paths[0])
            .unwrap();
        torn.write_all(br#"{"seq":9,"id":"dlv_c","dest"#).unwrap();

        let left = read_left(&database).unwrap();
        let ids: Vec<(&str, DeliveryStatus)> =
            left.iter().map(|f| (f.id.as_str(), f.status)).collect();
        assert_eq!(
            ids,
            [
                ("dlv_b", DeliveryStatus::Succeeded),
                ("dlv_a", DeliveryStatus::Dead)
            ]
        );
        let a = &left[1];
        let expected = result("dlv_a", DeliveryStatus::Dead, 3);
        assert_eq!(a.at, expected.at);
        assert_eq!(a.last_error, expected.last_error);
        assert_eq!(a.logged[0].outcome, expected.logged[0].outcome);
        assert_eq!(
            a.logged[0].response_headers,
            expected.logged[0].response_headers
        );
        assert_eq!(a.logged[0].request_body, expected.logged[0].request_body);

        // Opening again (a new run, after it read them) starts empty.
        drop(AnsweredJournal::open(&database).unwrap());
        assert!(read_left(&database).unwrap().is_empty());
    }

    #[test]
    fn the_files_change_turns_only_once_the_other_is_all_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("hookarr.db");
        let mut journal = AnsweredJournal::open(&database).unwrap();
        journal.turn_bytes = 1;
        let first = journal.note(&[result("dlv_a", DeliveryStatus::Succeeded, 1)]);
        // Full, and the other file holds nothing unrecorded: it takes over once this batch is recorded.
        journal.recorded(first, 0);
        let second = journal.note(&[result("dlv_b", DeliveryStatus::Succeeded, 2)]);
        assert_ne!(first, second, "a full file hands over");
        // The first file's result is not recorded yet: the second file keeps the turn, though full.
        let third = journal.note(&[result("dlv_c", DeliveryStatus::Succeeded, 3)]);
        journal.recorded(second, 1);
        journal.recorded(third, 1);
        let fourth = journal.note(&[result("dlv_d", DeliveryStatus::Succeeded, 4)]);
        assert_eq!(
            fourth, second,
            "the first file still holds an unrecorded result"
        );
        assert_eq!(read_left(&database).unwrap().len(), 4);
        // Once it is recorded, the first file is emptied and takes the turn.
        journal.recorded(first, 1);
        let fifth = journal.note(&[result("dlv_e", DeliveryStatus::Succeeded, 5)]);
        assert_eq!(fifth, first);
        let left: Vec<String> = read_left(&database)
            .unwrap()
            .into_iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(left, ["dlv_b", "dlv_c", "dlv_d", "dlv_e"]);
        journal.clear();
        assert!(read_left(&database).unwrap().is_empty());
    }
}
