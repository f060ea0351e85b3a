//! One lane per key: records of one key run strictly one after another,
//! records of different keys run side by side, up to a number at a time.
//! A record waiting for its key's previous one holds no slot, so a key
//! stuck behind a slow or hostile message (or a scan waiting for clamd)
//! holds only its own lane, never the other keys.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Semaphore, oneshot};

pub struct KeyLanes {
    /// Per key, the signal that its latest record has finished.
    last: HashMap<Option<Vec<u8>>, oneshot::Receiver<()>>,
    slots: Arc<Semaphore>,
}

impl KeyLanes {
    /// At most `slots` records are worked on at a time.
    pub fn new(slots: usize) -> Self {
        Self {
            last: HashMap::new(),
            slots: Arc::new(Semaphore::new(slots.max(1))),
        }
    }

    /// Runs `work` after every earlier record of `key` has finished and a
    /// slot is free. Must be called in the order the records were read.
    pub fn spawn<F>(&mut self, key: Option<Vec<u8>>, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (done, finished) = oneshot::channel();
        let previous = self.last.insert(key, finished);
        let slots = self.slots.clone();
        tokio::spawn(async move {
            if let Some(previous) = previous {
                // An error means the previous task ended without signalling
                // (it panicked); its record was not finished, and the offset
                // tracker keeps it from being committed.
                let _ = previous.await;
            }
            let Ok(_slot) = slots.acquire_owned().await else {
                return;
            };
            work.await;
            let _ = done.send(());
        });
    }

    /// Forgets keys whose last record has finished; called now and then so
    /// the map holds only keys with work in flight.
    pub fn sweep(&mut self) {
        self.last.retain(|_, finished| {
            matches!(
                finished.try_recv(),
                Err(oneshot::error::TryRecvError::Empty)
            )
        });
    }

    /// Keys with work in flight (after the last sweep).
    #[cfg(test)]
    pub fn keys(&self) -> usize {
        self.last.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use tokio::sync::Notify;

    use super::*;

    #[tokio::test]
    async fn one_key_runs_in_order_and_a_stuck_key_holds_no_other() {
        let mut lanes = KeyLanes::new(2);
        let log = Arc::new(Mutex::new(Vec::new()));
        let release = Arc::new(Notify::new());
        // Key "a" is stuck on its first record until released.
        {
            let (log, release) = (log.clone(), release.clone());
            lanes.spawn(Some(b"a".to_vec()), async move {
                release.notified().await;
                log.lock().expect("log").push("a1");
            });
        }
        for (key, name) in [("a", "a2"), ("b", "b1"), ("c", "c1"), ("b", "b2")] {
            let log = log.clone();
            lanes.spawn(Some(key.as_bytes().to_vec()), async move {
                log.lock().expect("log").push(name);
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(*log.lock().expect("log"), vec!["b1", "c1", "b2"]);
        release.notify_one();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            *log.lock().expect("log"),
            vec!["b1", "c1", "b2", "a1", "a2"]
        );
        lanes.sweep();
        assert_eq!(lanes.keys(), 0);
    }
}
