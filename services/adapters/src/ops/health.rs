//! Readiness as the set of dependencies a service needs, each up or down.
//! The state is kept current by probes in the background (or by the code
//! that meets the dependency anyway), so `/health/ready` answers from
//! memory: a probe that floods it cannot flood PostgreSQL or clamd.

use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DependencyLabel {
    dependency: String,
}

#[derive(Clone)]
pub struct Health {
    dependencies: Arc<Mutex<Vec<Dependency>>>,
    up: Family<DependencyLabel, Gauge>,
    /// Down until the service says it has started: before that, not every
    /// dependency it will need has been added.
    startup: Dependency,
}

/// One thing a service uses. Down until first seen up: a service that has
/// not yet reached its database is not ready.
#[derive(Clone)]
pub struct Dependency {
    name: &'static str,
    up: Arc<AtomicBool>,
    gauge: Gauge,
    /// Whether the service is not ready while it is down; otherwise the
    /// gauge alone says so (a part of the service needs it, not all).
    needed: bool,
}

impl Health {
    pub fn new(registry: &mut Registry) -> Self {
        let up = Family::<DependencyLabel, Gauge>::default();
        registry.register(
            "intake_dependency_up",
            "1 while the service reaches the dependency, 0 while it does not",
            up.clone(),
        );
        let dependencies = Arc::default();
        let startup = add(&dependencies, &up, "startup", true);
        Self {
            dependencies,
            up,
            startup,
        }
    }

    /// Every dependency is known now; ready once they are all up.
    pub fn started(&self) {
        self.startup.set_up();
    }

    /// A dependency the service cannot work without, whose state the
    /// caller sets.
    pub fn dependency(&self, name: &'static str) -> Dependency {
        add(&self.dependencies, &self.up, name, true)
    }

    /// A dependency the service needs, checked by `check` every `every`
    /// in a task of its own; a check that takes longer counts as down.
    pub fn probe<F, Fut, E>(&self, name: &'static str, every: Duration, check: F) -> Dependency
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send,
        E: Display,
    {
        let dependency = self.dependency(name);
        watch(dependency.clone(), every, check);
        dependency
    }

    /// As `probe`, for a dependency only a part of the service uses: shown
    /// in `intake_dependency_up`, never a reason to take the whole service
    /// out of rotation.
    pub fn probe_optional<F, Fut, E>(
        &self,
        name: &'static str,
        every: Duration,
        check: F,
    ) -> Dependency
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send,
        E: Display,
    {
        let dependency = add(&self.dependencies, &self.up, name, false);
        watch(dependency.clone(), every, check);
        dependency
    }

    /// The dependencies that are down, by name; none means ready.
    pub fn down(&self) -> Vec<&'static str> {
        self.dependencies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|d| d.needed && !d.is_up())
            .map(|d| d.name)
            .collect()
    }
}

fn add(
    dependencies: &Mutex<Vec<Dependency>>,
    up: &Family<DependencyLabel, Gauge>,
    name: &'static str,
    needed: bool,
) -> Dependency {
    let dependency = Dependency {
        name,
        up: Arc::default(),
        gauge: up
            .get_or_create(&DependencyLabel {
                dependency: name.to_owned(),
            })
            .clone(),
        needed,
    };
    dependencies
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(dependency.clone());
    dependency
}

fn watch<F, Fut, E>(state: Dependency, every: Duration, mut check: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Display,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match tokio::time::timeout(every, check()).await {
                Ok(Ok(())) => state.set_up(),
                Ok(Err(error)) => state.set_down(&error),
                Err(_) => state.set_down(&format_args!("no answer within {every:?}")),
            }
        }
    });
}

impl Dependency {
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn set_up(&self) {
        self.gauge.set(1);
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!(dependency = self.name, "dependency answers");
        }
    }

    /// Logged once per outage, not on every failed probe.
    pub fn set_down(&self, why: &dyn Display) {
        self.gauge.set(0);
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::error!(
                dependency = self.name,
                error = %why,
                "dependency does not answer; not ready until it does"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_only_when_every_dependency_is_up() {
        let mut registry = Registry::default();
        let health = Health::new(&mut registry);
        let db = health.dependency("postgres");
        let clamd = health.dependency("clamd");
        assert_eq!(
            health.down(),
            ["startup", "postgres", "clamd"],
            "down until seen up"
        );
        db.set_up();
        clamd.set_up();
        assert_eq!(health.down(), ["startup"]);
        health.started();
        assert!(health.down().is_empty());
        clamd.set_down(&"connection refused");
        assert_eq!(health.down(), ["clamd"]);
        clamd.set_up();
        let optional = health.probe_optional("smtp", Duration::from_secs(60), || async {
            Err::<(), _>("refused")
        });
        assert!(!optional.is_up());
        assert!(
            health.down().is_empty(),
            "an optional dependency never blocks readiness"
        );
        clamd.set_down(&"connection refused");
        let text = crate::ops::encode(&registry);
        assert!(
            text.contains(r#"intake_dependency_up{dependency="clamd"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"intake_dependency_up{dependency="postgres"} 1"#),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_hangs_is_down() {
        let mut registry = Registry::default();
        let health = Health::new(&mut registry);
        let answers = Arc::new(AtomicBool::new(true));
        let flag = answers.clone();
        let dependency = health.probe("s3", Duration::from_secs(5), move || {
            let answers = flag.load(Ordering::Relaxed);
            async move {
                if answers {
                    Ok::<(), String>(())
                } else {
                    std::future::pending::<()>().await;
                    Ok(())
                }
            }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(dependency.is_up());
        answers.store(false, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert!(!dependency.is_up());
        assert_eq!(health.down(), ["startup", "s3"]);
    }
}
