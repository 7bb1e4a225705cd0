package main

// Scheduler workloads: what goroutines themselves cost under the Go scheduler (spawning,
// chains of spawns, yielding, hand-offs, trees of goroutines, fork-join, and the CPU an idle
// runtime burns), the counterpart of
// the Rust side's sched suite (bench-harness/src/workloads/sched.rs) on weft's scheduler and
// its peers. Every case runs with runtime.GOMAXPROCS(T) for each T of the run, restored
// afterwards, so params.threads and params.gomaxprocs are both T.

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Operation counts; the Rust side's sched workloads use the same ones.
var (
	// spawnManyGoroutines is goroutines spawned (and completed) per spawn_many sample.
	spawnManyGoroutines = ops{Full: 100_000, Quick: 20_000, Smoke: 200}
	// chainedSpawns is the length of chained_spawn's chain of goroutines.
	chainedSpawns = ops{Full: 10_000, Quick: 2_000, Smoke: 100}
	// yields is runtime.Gosched calls per yield_many sample, all goroutines together
	// (rounded down to a multiple of the 4*T goroutines).
	yields = ops{Full: 200_000, Quick: 50_000, Smoke: 200}
	// schedPingPongRounds is round trips per ping_pong sample.
	schedPingPongRounds = ops{Full: 20_000, Quick: 5_000, Smoke: 100}
	// skynetLeaves is the leaves of the 10-ary skynet tree: depth 6, 5 and 3.
	skynetLeaves = ops{Full: 1_000_000, Quick: 100_000, Smoke: 1_000}
	// fibCalls is the calls of naive fib(n) for n = 25, 22 and 10 (2*fib(n+1) - 1).
	fibCalls = ops{Full: 242_785, Quick: 57_313, Smoke: 177}
	// idleMillis is idle_cpu's window of idle wall time in ms (one op per ms).
	idleMillis = ops{Full: 100, Quick: 100, Smoke: 10}
)

// idleSettle is how long idle_cpu lets the runtime settle before it starts measuring.
const idleSettle = 20 * time.Millisecond

// yieldersPerThread is yield_many's goroutines per GOMAXPROCS.
const yieldersPerThread = 4

func schedSuite() suite {
	return suite{
		Name:        "sched",
		Description: "the Go scheduler: goroutines with GOMAXPROCS = T",
		Workloads: []workload{
			{
				Name: "spawn_many",
				Description: "one goroutine spawns n tiny goroutines (each writes its index plus one " +
					"into its result slot), then waits for all on a sync.WaitGroup; op = one goroutine " +
					"spawned and completed",
				Ops: spawnManyGoroutines,
			},
			{
				Name: "chained_spawn",
				Description: "each goroutine spawns the next, n deep; the last signals completion on a " +
					"channel; op = one spawn",
				Ops: chainedSpawns,
			},
			{
				Name: "yield_many",
				Description: "4*T goroutines each call runtime.Gosched() n/(4*T) times; " +
					"op = one yield",
				Ops: yields,
			},
			{
				Name: "ping_pong",
				Description: "two goroutines exchange a number over two unbuffered channels; " +
					"op = one round trip",
				Ops: schedPingPongRounds,
			},
			{
				Name: "skynet",
				Description: "a 10-ary tree of goroutines (depth 6; quick 5), each leaf sends its " +
					"number on its parent's channel, parents sum their children's; op = one leaf " +
					"goroutine",
				Ops: skynetLeaves,
			},
			{
				Name: "fib",
				Description: "fork-join fib(n) (n = 25; quick 22): each call with n >= 2 runs fib(n-1) " +
					"on a new goroutine and fib(n-2) itself, then joins on a sync.WaitGroup; " +
					"op = one call",
				Ops: fibCalls,
			},
			{
				Name: "idle_cpu",
				Description: "T goroutines run and finish under GOMAXPROCS = T, then the process " +
					"sits idle: after 20 ms, its CPU time (getrusage) over 100 ms of wall time; " +
					"op = one idle ms, value = CPU ns used per idle ms (not a latency)",
				Ops: idleMillis,
			},
		},
		run: runSched,
	}
}

// spawnMany spawns n goroutines from one goroutine, each writing its index plus one into its
// own slot, and waits for all of them.
func spawnMany(n uint64) time.Duration {
	results := make([]uint64, n)
	elapsed := runGoroutines(1, func(int) {
		var done sync.WaitGroup
		done.Add(int(n))
		for k := uint64(0); k < n; k++ {
			go func(k uint64) {
				results[k] = k + 1
				done.Done()
			}(k)
		}
		done.Wait()
	})
	for k, v := range results {
		if v != uint64(k)+1 {
			panic(fmt.Sprintf("go: spawn_many slot %d holds %d, want %d", k, v, k+1))
		}
	}
	return elapsed
}

// chainLink is goroutine k of a chain of n: it spawns goroutine k+1, or, as the last one,
// sends its position on done.
func chainLink(k, n uint64, done chan<- uint64) {
	if k == n {
		done <- k
		return
	}
	go chainLink(k+1, n, done)
}

// chainedSpawn starts a chain of n goroutines, each spawned by the one before it, and waits
// for the last one's signal.
func chainedSpawn(n uint64) time.Duration {
	var last uint64
	elapsed := runGoroutines(1, func(int) {
		done := make(chan uint64)
		go chainLink(1, n, done)
		last = <-done
	})
	if last != n {
		panic(fmt.Sprintf("go: chained_spawn ended at link %d, want %d", last, n))
	}
	return elapsed
}

// yieldMany has `goroutines` goroutines share n runtime.Gosched calls equally.
func yieldMany(goroutines int, n uint64) time.Duration {
	if n%uint64(goroutines) != 0 {
		panic("yields must divide among the goroutines")
	}
	per := n / uint64(goroutines)
	counts := make([]uint64, goroutines)
	elapsed := runGoroutines(goroutines, func(i int) {
		var count uint64
		for k := uint64(0); k < per; k++ {
			runtime.Gosched()
			count++
		}
		counts[i] = count
	})
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total != n {
		panic(fmt.Sprintf("go: yield_many yielded %d times, want %d", total, n))
	}
	return elapsed
}

// skynetDepth is the depth of the 10-ary tree with `leaves` leaves; panics unless leaves is
// a power of ten.
func skynetDepth(leaves uint64) int {
	depth := 0
	for n := leaves; n > 1; n /= 10 {
		if n%10 != 0 {
			panic(fmt.Sprintf("skynet needs a power of ten leaves, got %d", leaves))
		}
		depth++
	}
	return depth
}

// skynetNode is the node numbered from `first` over `leaves` leaves: a leaf sends its number
// on out; an inner node spawns its ten children, sums what they send and sends the sum.
func skynetNode(out chan<- uint64, first, leaves uint64) {
	if leaves == 1 {
		out <- first
		return
	}
	children := make(chan uint64)
	step := leaves / 10
	for i := uint64(0); i < 10; i++ {
		go skynetNode(children, first+i*step, step)
	}
	var sum uint64
	for i := 0; i < 10; i++ {
		sum += <-children
	}
	out <- sum
}

// skynet runs the skynet tree with `leaves` leaves (a power of ten); the sum of the leaves'
// numbers must be 0 + 1 + ... + (leaves-1).
func skynet(leaves uint64) time.Duration {
	skynetDepth(leaves) // checks that leaves is a power of ten
	var sum uint64
	elapsed := runGoroutines(1, func(int) {
		root := make(chan uint64)
		go skynetNode(root, 0, leaves)
		sum = <-root
	})
	if want := leaves * (leaves - 1) / 2; sum != want {
		panic(fmt.Sprintf("go: skynet summed to %d, want %d", sum, want))
	}
	return elapsed
}

// fibResult is fib(n) and the number of calls that computed it.
type fibResult struct {
	value, calls uint64
}

// forkJoinFib computes fib(n) naively, fib(n-1) on a new goroutine, fib(n-2) on this one.
func forkJoinFib(n uint64) fibResult {
	if n < 2 {
		return fibResult{n, 1}
	}
	var left fibResult
	var join sync.WaitGroup
	join.Add(1)
	go func() {
		left = forkJoinFib(n - 1)
		join.Done()
	}()
	right := forkJoinFib(n - 2)
	join.Wait()
	return fibResult{left.value + right.value, left.calls + right.calls + 1}
}

// fibNumber is fib(n), iteratively.
func fibNumber(n uint64) uint64 {
	a, b := uint64(0), uint64(1)
	for i := uint64(0); i < n; i++ {
		a, b = b, a+b
	}
	return a
}

// fibCallsOf is the number of calls naive fib(n) makes: 2*fib(n+1) - 1.
func fibCallsOf(n uint64) uint64 {
	return 2*fibNumber(n+1) - 1
}

// fibArgument is the n whose naive fib makes exactly `calls` calls; panics if there is none.
func fibArgument(calls uint64) uint64 {
	for n := uint64(0); ; n++ {
		switch c := fibCallsOf(n); {
		case c == calls:
			return n
		case c > calls:
			panic(fmt.Sprintf("no fib(n) makes exactly %d calls", calls))
		}
	}
}

// fib runs fork-join fib(n) for the n that makes `calls` calls, and checks the value and the
// number of calls.
func fib(calls uint64) time.Duration {
	n := fibArgument(calls)
	var got fibResult
	elapsed := runGoroutines(1, func(int) { got = forkJoinFib(n) })
	if want := (fibResult{fibNumber(n), calls}); got != want {
		panic(fmt.Sprintf("go: fib(%d) = %d in %d calls, want %d in %d", n, got.value, got.calls, want.value, want.calls))
	}
	return elapsed
}

// processCPUTime is the CPU time the whole process has used so far (user + system, all
// threads), from getrusage(RUSAGE_SELF), as on the Rust side.
func processCPUTime() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		panic(fmt.Sprintf("getrusage: %v", err))
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// idleCPU runs `goroutines` tiny goroutines and waits for them (so that the scheduler's Ps
// have woken), sleeps idleSettle, and returns the CPU time the process uses while this
// goroutine sleeps `millis` ms: divided by millis (the op count), CPU ns per idle ms.
func idleCPU(goroutines int, millis uint64) time.Duration {
	slots := make([]uint64, goroutines)
	var done sync.WaitGroup
	done.Add(goroutines)
	for i := 0; i < goroutines; i++ {
		go func(i int) {
			slots[i] = uint64(i) + 1
			done.Done()
		}(i)
	}
	done.Wait()
	var sum uint64
	for _, s := range slots {
		sum += s
	}
	if n := uint64(goroutines); sum != n*(n+1)/2 {
		panic(fmt.Sprintf("go: idle_cpu's goroutines summed to %d", sum))
	}
	time.Sleep(idleSettle)
	window := time.Duration(millis) * time.Millisecond
	start, before := time.Now(), processCPUTime()
	time.Sleep(window)
	used, elapsed := processCPUTime()-before, time.Since(start)
	if elapsed < window {
		panic("go: idle_cpu's idle window ended early")
	}
	return used
}

// withGOMAXPROCS runs f with runtime.GOMAXPROCS(threads), then restores the previous value.
func withGOMAXPROCS(threads int, f func()) {
	previous := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(previous)
	f()
}

func runSched(cfg *config, emit func(row)) {
	// run measures one workload for every T of the run, each case under GOMAXPROCS = T.
	run := func(workload string, count func(threads int) uint64, sample func(threads int, n uint64) time.Duration) {
		for _, threads := range cfg.threads {
			threads := threads
			withGOMAXPROCS(threads, func() {
				c := measured{"sched", workload, threadsParams(threads), count(threads)}
				emit(measure(cfg, c, func(n uint64) time.Duration { return sample(threads, n) }))
			})
		}
	}
	fixed := func(o ops) func(int) uint64 { return func(int) uint64 { return cfg.ops(o) } }
	run("spawn_many", fixed(spawnManyGoroutines), func(_ int, n uint64) time.Duration { return spawnMany(n) })
	run("chained_spawn", fixed(chainedSpawns), func(_ int, n uint64) time.Duration { return chainedSpawn(n) })
	run("yield_many",
		func(threads int) uint64 { return divisible(cfg.ops(yields), yieldersPerThread*threads) },
		func(threads int, n uint64) time.Duration { return yieldMany(yieldersPerThread*threads, n) })
	run("ping_pong", fixed(schedPingPongRounds), func(_ int, n uint64) time.Duration { return pingPong(0, n) })
	run("skynet", fixed(skynetLeaves), func(_ int, n uint64) time.Duration { return skynet(n) })
	run("fib", fixed(fibCalls), func(_ int, n uint64) time.Duration { return fib(n) })
	run("idle_cpu", fixed(idleMillis), idleCPU)
}
