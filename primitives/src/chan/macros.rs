//! `select!` and `select_biased!`, and the hidden macros they expand through.

/// Waits on several channel operations at once and runs the arm of the one that completes,
/// with Go's `select` semantics.
///
/// ```text
/// weft::select! {
///     recv(rx) -> res => body,          // res: Result<T, RecvError>
///     send(tx, value) -> res => body,   // res: Result<(), SendError<T>>
///     default => body,                  // optional: do not wait (Go's default)
///     default(timeout) => body,         // or: wait at most `timeout` (a Duration)
/// }
/// ```
///
/// - Exactly one operation completes. Among several ready arms one is chosen uniformly at
///   random; [`select_biased!`](crate::select_biased) takes the first ready arm in order.
/// - A closed channel makes its arm ready: `recv` gives `Err(RecvError)` once drained, `send`
///   gives `Err(SendError(value))`.
/// - Evaluation order is Go's ("Select statements" in the Go spec: the channel operands of
///   receive operations and the channel and right-hand-side expressions of send statements
///   are evaluated exactly once, in source order, upon entering the select statement"):
///   every arm's channel expression and every send arm's value expression run once, in
///   source order, before any operation is attempted. The values of the send arms that are
///   not chosen are dropped when the select returns. A value expression that leaves early
///   (`?`, `return`, `break`) or panics does so before anything is committed: no channel
///   is touched.
/// - What blocks: without `default`, the select blocks the calling thread (brief spin, then
///   parked) until an arm is ready; with `default(timeout)`, at most `timeout`; with
///   `default`, never (it tries every arm once, and runs `default` if none is ready). In an
///   async task use [`select_async!`](crate::select_async), which frees the worker instead.
/// - `res` is an irrefutable pattern, as in a `let`: a name, `_`, or a pattern that always
///   matches. It binds the whole `Result`; match `Ok` and `Err` in the body. A refutable
///   pattern such as `recv(rx) -> Ok(v)` is rejected (E0005, "pattern `Err(_)` not covered"),
///   because a closed channel makes its arm ready with the `Err`:
///
/// ```compile_fail,E0005
/// let (tx, rx) = weft::chan::bounded::<u32>(1);
/// tx.send(1).unwrap();
/// weft::select! {
///     recv(rx) -> Ok(v) => println!("{v}"),
/// }
/// ```
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weft::chan::{bounded, unbounded};
///
/// let (tx1, rx1) = unbounded::<&str>();
/// let (tx2, rx2) = bounded::<i32>(0);
/// std::thread::spawn(move || tx2.send(42).unwrap());
///
/// let got = weft::select! {
///     recv(rx1) -> msg => format!("text: {:?}", msg),
///     recv(rx2) -> num => format!("number: {}", num.unwrap()),
///     default(Duration::from_secs(10)) => "timeout".to_string(),
/// };
/// assert_eq!(got, "number: 42");
/// drop(tx1);
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!((sync false); []; $($tokens)*)
    };
}

/// As [`select!`], but among ready arms the first in written order is chosen.
///
/// # Examples
///
/// ```
/// let (tx1, rx1) = weft::chan::bounded(1);
/// let (tx2, rx2) = weft::chan::bounded(1);
/// tx1.send(1).unwrap();
/// tx2.send(2).unwrap();
/// let first = weft::select_biased! {
///     recv(rx1) -> m => m.unwrap(),
///     recv(rx2) -> m => m.unwrap(),
/// };
/// assert_eq!(first, 1);
/// ```
#[macro_export]
macro_rules! select_biased {
    ($($tokens:tt)*) => {
        $crate::__select_parse!((sync true); []; $($tokens)*)
    };
}

/// [`select!`] for async code: the same arms and semantics, awaited instead of blocking the
/// thread. Use it inside an `async` block or function; in a weft task, waiting frees the
/// worker for other tasks.
///
/// ```text
/// weft::select_async! {
///     recv(rx) -> res => body,          // res: Result<T, RecvError>
///     send(tx, value) -> res => body,   // res: Result<(), SendError<T>>
///     default => body,                  // optional: do not wait (Go's default)
///     default(timeout) => body,         // or: wait at most `timeout`
/// }
/// ```
///
/// - As [`select!`](crate::select): exactly one operation completes; a uniformly random choice among ready
///   arms ([`select_biased_async!`](crate::select_biased_async): the first in order); Go's
///   evaluation order (every operand and send value once, in source order, before anything
///   is committed); closed channels make their arms ready; `default` is linearizable. An
///   async select and a blocking one (or a plain send or receive, blocking or async) meet on
///   any channel, rendezvous included, and exchange exactly once.
/// - `default(timeout)` is an arm on [`after(timeout)`](crate::chan::after), woken by weft's
///   timer facility ([`weft::time`](crate::time)): the task frees its worker meanwhile. Any
///   arm may also receive from a timer channel (`recv(after(d)) -> _ => ..`, a `Ticker`'s
///   receiver), as Go's `case <-time.After(d)`.
/// - A separate macro rather than one for both worlds: a macro cannot tell whether it is
///   expanded inside `async` code, and `.await` is an error outside it.
/// - Waker-only: it works under any executor (weft's scheduler, `futures`' `block_on`,
///   tokio), allocates nothing per select once warm, and does not spin in `poll` beyond a
///   rendezvous partner's own brief hand-over.
/// - The future is `Send` when the arms' element types are.
///
/// # Cancel safety
///
/// Dropping the select's future at its await point (e.g. in another select, or on a
/// timeout) loses no message and leaves no registration behind: a receive is committed only
/// when the future completes; a send arm's value is sent exactly when its arm is the one
/// chosen, and otherwise dropped with the future, never sent (on a rendezvous channel a
/// receiver either took the whole value before the drop, and the select counts as having
/// completed it, or the value comes back).
///
/// # Examples
///
/// ```
/// use weft::chan::{bounded, unbounded};
///
/// // One worker: the selecting task waits without holding it, so the senders run.
/// let sched = weft::sched::Scheduler::new(1);
/// let (jobs_tx, jobs) = unbounded::<u32>();
/// let (quit_tx, quit) = bounded::<()>(0);
/// let total = sched.block_on(async move {
///     let worker = weft::go(async move {
///         let mut done = 0;
///         loop {
///             weft::select_async! {
///                 recv(jobs) -> job => done += job.unwrap(),
///                 recv(quit) -> _ => return done,
///             }
///         }
///     });
///     for job in 1..=3 {
///         jobs_tx.send_async(job).await.unwrap();
///     }
///     // Wait until the worker took every job, then stop it.
///     while !jobs_tx.is_empty() {
///         weft::sched::yield_now().await;
///     }
///     quit_tx.send_async(()).await.unwrap();
///     worker.await.unwrap()
/// });
/// assert_eq!(total, 6);
/// ```
#[macro_export]
macro_rules! select_async {
    ($($tokens:tt)*) => {
        $crate::__select_parse!((async false); []; $($tokens)*)
    };
}

/// As [`select_async!`], but among ready arms the first in written order is chosen.
///
/// # Examples
///
/// ```
/// let (tx1, rx1) = weft::chan::bounded(1);
/// let (tx2, rx2) = weft::chan::bounded(1);
/// tx1.send(1).unwrap();
/// tx2.send(2).unwrap();
/// let sched = weft::sched::Scheduler::new(1);
/// let first = sched.block_on(async {
///     weft::select_biased_async! {
///         recv(rx1) -> m => m.unwrap(),
///         recv(rx2) -> m => m.unwrap(),
///     }
/// });
/// assert_eq!(first, 1);
/// ```
#[macro_export]
macro_rules! select_biased_async {
    ($($tokens:tt)*) => {
        $crate::__select_parse!((async true); []; $($tokens)*)
    };
}

/// Parses `select!` arms into a list; each arm gets its own hygienic `arm` identifier (every
/// recursion step is a separate expansion). Not public API.
///
/// The arms are built (their operands and send values evaluated) in source order by
/// `__select_expand`'s `match`, before the select runs; completing the chosen arm runs no
/// user code, so nothing can leave between committing an operation and completing it.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // recv(rx) -> res => body
    ($b:tt; [$($done:tt)*]; recv($rx:expr $(,)?) -> $res:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm recv ($rx) ($res) ($body))]; $($rest)*)
    };
    ($b:tt; [$($done:tt)*]; recv($rx:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm recv ($rx) ($res) ($body))]; $($rest)*)
    };
    ($b:tt; [$($done:tt)*]; recv($rx:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm recv ($rx) ($res) ($body))]; $($rest)*)
    };
    ($b:tt; [$($done:tt)*]; recv($rx:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::__select_parse!($b; [$($done)* (arm recv ($rx) ($res) ($body))];)
    };
    // send(tx, value) -> res => body
    ($b:tt; [$($done:tt)*]; send($tx:expr, $v:expr $(,)?) -> $res:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm send ($tx, $v) ($res) ($body))]; $($rest)*)
    };
    ($b:tt; [$($done:tt)*]; send($tx:expr, $v:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm send ($tx, $v) ($res) ($body))]; $($rest)*)
    };
    ($b:tt; [$($done:tt)*]; send($tx:expr, $v:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm send ($tx, $v) ($res) ($body))]; $($rest)*)
    };
    ($b:tt; [$($done:tt)*]; send($tx:expr, $v:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::__select_parse!($b; [$($done)* (arm send ($tx, $v) ($res) ($body))];)
    };
    // default, last. In async code `default(timeout)` is a receive from a timer channel:
    // the select waits on the task's waker, with the timer facility waking it.
    ((async $bb:expr); [$($done:tt)*]; default($t:expr $(,)?) => $body:expr $(,)?) => {
        $crate::__select_expand!(
            (async $bb); (never);
            (::core::unreachable!("a select without default returns an arm"));
            $($done)* (arm recv ($crate::chan::after($t)) (_) ($body))
        )
    };
    ($b:tt; [$($done:tt)*]; default => $body:expr $(,)?) => {
        $crate::__select_expand!($b; (now); ($body); $($done)*)
    };
    ($b:tt; [$($done:tt)*]; default() => $body:expr $(,)?) => {
        $crate::__select_expand!($b; (now); ($body); $($done)*)
    };
    ($b:tt; [$($done:tt)*]; default($t:expr $(,)?) => $body:expr $(,)?) => {
        $crate::__select_expand!($b; (after $t); ($body); $($done)*)
    };
    ($b:tt; [$($done:tt)*];) => {
        $crate::__select_expand!(
            $b; (never);
            (::core::unreachable!("a select without default returns an arm"));
            $($done)*
        )
    };
    ($b:tt; [$($done:tt)*]; $($rest:tt)+) => {
        ::core::compile_error!(
            "weft::select!: expected `recv(rx) -> res => body`, `send(tx, value) -> res => \
             body`, or a final `default => body` / `default(timeout) => body`"
        )
    };
}

/// Expands parsed `select!` arms. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_expand {
    ($b:tt; $timeout:tt; ($default:expr); $(($arm:ident $kind:ident $args:tt $res:tt $body:tt))*) => {
        // One `match` on a tuple of every arm: its elements are evaluated left to right
        // (source order), and temporaries in a scrutinee live to the end of the `match`, so
        // an operand such as `conn.rx()` stays borrowed for the whole select.
        match ($( $crate::__select_arm!(new $kind $args), )*) {
            ($( $arm, )*) => $crate::__select_run!($b; $timeout; ($default); $(($arm $kind $args $res $body))*),
        }
    };
}

/// Runs a select over the arms `__select_expand` built. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_run {
    ((sync $b:expr); $timeout:tt; ($default:expr); $(($arm:ident $kind:ident $args:tt $res:tt $body:tt))*) => {{
        let mut __weft_token = $crate::chan::__select::Token::new();
        let __weft_selected = $crate::chan::__select::__run(
            &[$( $crate::chan::__select::ArmRef::from(&$arm) ),*],
            $b,
            $crate::__select_timeout!($timeout),
            &mut __weft_token,
        );
        match __weft_selected {
            ::core::option::Option::Some(__weft_index) => {
                $crate::__select_chain!(__weft_index, __weft_token, (0usize); $(($arm $kind $args $res $body))*)
            }
            ::core::option::Option::None => $default,
        }
    }};
    ((async $b:expr); $timeout:tt; ($default:expr); $(($arm:ident $kind:ident $args:tt $res:tt $body:tt))*) => {{
        let (__weft_selected, __weft_arms, __weft_token) = $crate::chan::__select::SelectFuture::new(
            ($( $arm, )*),
            $b,
            $crate::__select_timeout!(now? $timeout),
        )
        .await;
        let ($( $arm, )*) = __weft_arms;
        match __weft_selected {
            ::core::option::Option::Some(__weft_index) => {
                $crate::__select_chain!(__weft_index, __weft_token, (0usize); $(($arm $kind $args $res $body))*)
            }
            ::core::option::Option::None => $default,
        }
    }};
}

/// A parsed `select!` timeout as a `Timeout`, or (`now?`) whether it is `default`. Not public
/// API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_timeout {
    ((now)) => {
        $crate::chan::__select::Timeout::Now
    };
    ((never)) => {
        $crate::chan::__select::Timeout::Never
    };
    ((after $t:expr)) => {
        $crate::chan::__select::Timeout::after($t)
    };
    (now? (now)) => {
        true
    };
    (now? (never)) => {
        false
    };
}

/// The if-else chain that runs the selected arm (plain `if`s, so that a diverging body or a
/// `break`/`continue` of the caller's loop works as written). Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_chain {
    ($index:ident, $token:ident, ($i:expr);) => {
        ::core::unreachable!("the selected index names an arm")
    };
    ($index:ident, $token:ident, ($i:expr); ($arm:ident $kind:ident $args:tt ($res:pat) ($body:expr)) $($rest:tt)*) => {
        if $index == $i {
            let $res = $crate::__select_arm!(complete $kind $arm $token $args);
            $body
        } else {
            $crate::__select_chain!($index, $token, ($i + 1); $($rest)*)
        }
    };
}

/// Builds or completes one `select!` arm. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_arm {
    (new recv ($rx:expr)) => {
        $crate::chan::__select::RecvArm::new(&$rx)
    };
    (new send ($tx:expr, $v:expr)) => {
        $crate::chan::__select::SendArm::with_value(&$tx, $v)
    };
    (complete recv $arm:ident $token:ident ($rx:expr)) => {
        $arm.complete(&$token)
    };
    (complete send $arm:ident $token:ident ($tx:expr, $v:expr)) => {
        $arm.complete(&$token)
    };
}
