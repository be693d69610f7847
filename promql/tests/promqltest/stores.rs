//! The stores the runner loads scripts into: the in-memory [`MemStore`] and the
//! tsdb-core [`Storage`] in a temporary directory.

use std::time::Duration;

use gnomon_promql::engine::memstore::MemStore;
use gnomon_tsdb_core::model::{Appender, Labels, Querier, Sample};
use gnomon_tsdb_core::storage::{Options, Storage};

/// A store the runner can load and clear.
pub trait TestStore {
    fn querier(&self) -> &dyn Querier;
    fn load(&mut self, rows: &[(Labels, Sample)]);
    fn clear(&mut self);
}

impl TestStore for MemStore {
    fn querier(&self) -> &dyn Querier {
        self
    }
    fn load(&mut self, rows: &[(Labels, Sample)]) {
        for (l, s) in rows {
            self.add(l, *s);
        }
    }
    fn clear(&mut self) {
        MemStore::clear(self);
    }
}

pub struct DiskStore {
    dir: tempfile::TempDir,
    storage: Option<Storage>,
}

impl DiskStore {
    pub fn new() -> DiskStore {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Some(Self::open(&dir));
        DiskStore { dir, storage }
    }
    fn open(dir: &tempfile::TempDir) -> Storage {
        let opts = Options {
            retention: Duration::from_secs(200 * 365 * 86_400),
            shards: 1,
            background_merges: false,
            ..Options::default()
        };
        Storage::open(dir.path().join("data"), opts).expect("open storage")
    }
}

impl TestStore for DiskStore {
    fn querier(&self) -> &dyn Querier {
        self.storage.as_ref().expect("open")
    }
    fn load(&mut self, rows: &[(Labels, Sample)]) {
        let mut app = self.storage.as_ref().expect("open").appender();
        for (l, s) in rows {
            app.append(l, *s).expect("append");
        }
        app.commit().expect("commit");
    }
    fn clear(&mut self) {
        if let Some(s) = self.storage.take() {
            s.close().expect("close");
        }
        self.dir = tempfile::tempdir().expect("tempdir");
        self.storage = Some(Self::open(&self.dir));
    }
}
