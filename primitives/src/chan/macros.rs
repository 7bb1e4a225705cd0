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
/// - Without `default`, the select blocks (brief spin, then parked) until an arm is ready.
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
        $crate::__select_parse!(false; []; $($tokens)*)
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
        $crate::__select_parse!(true; []; $($tokens)*)
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
    ($b:expr; [$($done:tt)*]; recv($rx:expr $(,)?) -> $res:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm recv ($rx) ($res) ($body))]; $($rest)*)
    };
    ($b:expr; [$($done:tt)*]; recv($rx:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm recv ($rx) ($res) ($body))]; $($rest)*)
    };
    ($b:expr; [$($done:tt)*]; recv($rx:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm recv ($rx) ($res) ($body))]; $($rest)*)
    };
    ($b:expr; [$($done:tt)*]; recv($rx:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::__select_parse!($b; [$($done)* (arm recv ($rx) ($res) ($body))];)
    };
    // send(tx, value) -> res => body
    ($b:expr; [$($done:tt)*]; send($tx:expr, $v:expr $(,)?) -> $res:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm send ($tx, $v) ($res) ($body))]; $($rest)*)
    };
    ($b:expr; [$($done:tt)*]; send($tx:expr, $v:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm send ($tx, $v) ($res) ($body))]; $($rest)*)
    };
    ($b:expr; [$($done:tt)*]; send($tx:expr, $v:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!($b; [$($done)* (arm send ($tx, $v) ($res) ($body))]; $($rest)*)
    };
    ($b:expr; [$($done:tt)*]; send($tx:expr, $v:expr $(,)?) -> $res:pat => $body:expr) => {
        $crate::__select_parse!($b; [$($done)* (arm send ($tx, $v) ($res) ($body))];)
    };
    // default, last.
    ($b:expr; [$($done:tt)*]; default => $body:expr $(,)?) => {
        $crate::__select_expand!($b; $crate::chan::__select::Timeout::Now; ($body); $($done)*)
    };
    ($b:expr; [$($done:tt)*]; default() => $body:expr $(,)?) => {
        $crate::__select_expand!($b; $crate::chan::__select::Timeout::Now; ($body); $($done)*)
    };
    ($b:expr; [$($done:tt)*]; default($t:expr $(,)?) => $body:expr $(,)?) => {
        $crate::__select_expand!(
            $b; $crate::chan::__select::Timeout::after($t); ($body); $($done)*
        )
    };
    ($b:expr; [$($done:tt)*];) => {
        $crate::__select_expand!(
            $b; $crate::chan::__select::Timeout::Never;
            (::core::unreachable!("a select without default returns an arm"));
            $($done)*
        )
    };
    ($b:expr; [$($done:tt)*]; $($rest:tt)+) => {
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
    ($b:expr; $timeout:expr; ($default:expr); $(($arm:ident $kind:ident $args:tt $res:tt $body:tt))*) => {
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
    ($b:expr; $timeout:expr; ($default:expr); $(($arm:ident $kind:ident $args:tt $res:tt $body:tt))*) => {{
        let mut __weft_token = $crate::chan::__select::Token::new();
        let __weft_selected = $crate::chan::__select::__run(
            &[$( $crate::chan::__select::ArmRef::from(&$arm) ),*],
            $b,
            $timeout,
            &mut __weft_token,
        );
        match __weft_selected {
            ::core::option::Option::Some(__weft_index) => {
                $crate::__select_chain!(__weft_index, __weft_token, (0usize); $(($arm $kind $args $res $body))*)
            }
            ::core::option::Option::None => $default,
        }
    }};
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
