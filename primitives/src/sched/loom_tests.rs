//! loom models of the scheduler's sleep/wake protocol (`core.rs`), run by `ci/loom.sh`:
//! two workers with their real deques, `runnext` slots, injector (weft's unbounded channel),
//! sleepers' lock and futex parkers, running plain boxed numbers as tasks.
//!
//! A task left queued while every worker sleeps (a lost wake-up) shows up as a loom deadlock:
//! the main thread waits on a WaitGroup that only running the tasks releases.

use core::ptr::NonNull;

use super::{Local, Shared, Task};
use crate::sync::WaitGroup;
use loom::sync::Arc;
use loom::thread;

/// A task: a number saying how many children it pushes onto its worker when run (the first
/// with `next`, the rest to the back of the deque).
struct Job(Box<usize>);

impl Task for Job {
    fn into_raw(self) -> NonNull<()> {
        NonNull::from(Box::leak(self.0)).cast()
    }

    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: `ptr` came from `into_raw`, i.e. `Box::leak`, and is owned again only here.
        Job(unsafe { Box::from_raw(ptr.cast::<usize>().as_ptr()) })
    }
}

fn model(preemption_bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemption_bound);
    builder.check(f);
}

/// Runs `workers` worker threads until shutdown; each finished job calls `done` once.
fn start(
    shared: &Arc<Shared<Job>>,
    locals: Vec<Local<Job>>,
    done: &Arc<WaitGroup>,
) -> Vec<thread::JoinHandle<()>> {
    locals
        .into_iter()
        .map(|mut local| {
            let (shared, done) = (Arc::clone(shared), Arc::clone(done));
            thread::spawn(move || {
                while let Some(Job(children)) = local.next_task(&shared) {
                    for i in 0..*children {
                        local.push(&shared, Job(Box::new(0)), i == 0);
                    }
                    done.done();
                }
                assert!(
                    local.drain(&shared).into_iter().next().is_none(),
                    "a job was left queued after every job finished"
                );
            })
        })
        .collect()
}

/// A spawn from outside races both workers going to sleep: the job must run.
#[test]
fn spawn_races_workers_going_to_sleep() {
    model(2, || {
        let (shared, locals) = Shared::<Job>::new(2);
        let shared = Arc::new(shared);
        let done = Arc::new(WaitGroup::new());
        done.add(1);
        let workers = start(&shared, locals, &done);
        shared.push_remote(Job(Box::new(0)));
        done.wait();
        shared.shutdown();
        for w in workers {
            w.join().unwrap();
        }
        assert!(shared.pop_injector().is_none());
    });
}

/// A job run by one worker pushes two children (one into `runnext`, one into the deque)
/// while the other worker may be asleep or searching: both run, none is stranded.
#[test]
fn local_pushes_reach_a_worker() {
    model(2, || {
        let (shared, locals) = Shared::<Job>::new(2);
        let shared = Arc::new(shared);
        let done = Arc::new(WaitGroup::new());
        done.add(3);
        let workers = start(&shared, locals, &done);
        shared.push_remote(Job(Box::new(2)));
        done.wait();
        shared.shutdown();
        for w in workers {
            w.join().unwrap();
        }
    });
}

/// Shutdown while workers search or sleep: every worker returns.
#[test]
fn shutdown_wakes_every_worker() {
    model(3, || {
        let (shared, locals) = Shared::<Job>::new(2);
        let shared = Arc::new(shared);
        let done = Arc::new(WaitGroup::new());
        let workers = start(&shared, locals, &done);
        shared.shutdown();
        for w in workers {
            w.join().unwrap();
        }
    });
}

/// Queues a job when woken: a timer whose waker wakes a task.
struct QueueJob(Arc<Shared<Job>>);

impl std::task::Wake for QueueJob {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.push_remote(Job(Box::new(0)));
    }
}

/// The lone worker sleeps as the timers' watcher, with no timer (a park without deadline);
/// a due timer is then inserted from outside, racing the worker's way to sleep. The insert
/// must unpark the watcher, which fires the timer and runs the job its waker queues; a lost
/// kick is a deadlock (checked: with `TimerQueue::insert`'s unpark removed, it is).
#[test]
fn earlier_timer_wakes_the_watching_worker() {
    use core::task::Waker;
    use std::time::Instant;
    model(2, || {
        let (shared, locals) = Shared::<Job>::new(1);
        let shared = Arc::new(shared);
        let done = Arc::new(WaitGroup::new());
        done.add(1);
        let now = Instant::now();
        let workers = start(&shared, locals, &done);
        let near = Waker::from(std::sync::Arc::new(QueueJob(Arc::clone(&shared))));
        shared.timers.insert(now, &near);
        drop(near);
        done.wait();
        shared.shutdown();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(shared.timers.len(), 0, "the timer fired");
    });
}
