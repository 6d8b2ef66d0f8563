//! Uploads on their way in are spooled to files in the system's temporary directory, each named
//! after the server process that writes it (`haechi-KIND-PID-UNIQUE.upload`). A running server
//! removes its own files when a request ends; a server killed mid-upload cannot, so the next
//! start removes the files of processes that no longer run ([`remove_orphans`]).

use std::path::{Path, PathBuf};

const PREFIX: &str = "haechi-";
const SUFFIX: &str = ".upload";

/// Where this process spools an upload of `kind` (`portal`, `findings`); `unique` tells the
/// process's uploads apart.
pub(crate) fn path(kind: &str, unique: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "{PREFIX}{kind}-{}-{unique}{SUFFIX}",
        std::process::id()
    ))
}

/// The process id in a spool file's name, if the name is one of ours.
fn writer_pid(name: &str) -> Option<u32> {
    let middle = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let mut parts = middle.splitn(3, '-');
    let (_kind, pid, _unique) = (parts.next()?, parts.next()?, parts.next()?);
    pid.parse().ok()
}

/// Removes the spool files in `dir` (the system's temporary directory in the server) whose
/// writing process no longer runs, and returns them. Where running processes cannot be told
/// (no `/proc`), nothing is removed: a file of a live server must never go.
pub fn remove_orphans(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return Ok(Vec::new());
    }
    let own = std::process::id();
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(writer_pid) else {
            continue;
        };
        if pid == own || proc.join(pid.to_string()).exists() || !entry.file_type()?.is_file() {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed.push(entry.path()),
            // Another starting server took it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_back() {
        assert_eq!(writer_pid("haechi-portal-4242-00ff.upload"), Some(4242));
        assert_eq!(writer_pid("haechi-findings-17-9.upload"), Some(17));
        assert_eq!(writer_pid("haechi-findings-x-9.upload"), None);
        assert_eq!(writer_pid("haechi-portal-4242-00ff.uploaded"), None);
        assert_eq!(writer_pid("other-portal-4242-00ff.upload"), None);
        assert_eq!(writer_pid("haechi-portal-4242.upload"), None);
    }

    #[test]
    fn only_files_of_dead_processes_go() {
        let dir = tempfile::tempdir().unwrap();
        // No process has this id: Linux ids stop at 2^22.
        let dead = dir.path().join("haechi-findings-4000000000-7.upload");
        let own = dir
            .path()
            .join(format!("haechi-portal-{}-ab.upload", std::process::id()));
        // A live process other than this one: the init process.
        let live = dir.path().join("haechi-portal-1-cd.upload");
        let foreign = dir.path().join("notes-4000000000.upload");
        for f in [&dead, &own, &live, &foreign] {
            std::fs::write(f, b"x").unwrap();
        }
        let removed = remove_orphans(dir.path()).unwrap();
        assert_eq!(removed, vec![dead.clone()]);
        assert!(!dead.exists());
        assert!(own.exists() && live.exists() && foreign.exists());
        // A second start finds nothing left to remove.
        assert!(remove_orphans(dir.path()).unwrap().is_empty());
    }
}
