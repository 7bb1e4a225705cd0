package main

// Mutex workloads, mirroring bench-harness/src/workloads/mutex.rs: a counter contended by T
// goroutines, and the uncontended fast path, on sync.Mutex.

import (
	"fmt"
	"sync"
	"time"
)

// Operation counts, equal to the Rust side's CONTENDED_OPS and UNCONTENDED_OPS.
var (
	mutexContendedOps   = ops{Full: 2_000_000, Quick: 500_000, Smoke: 200}
	mutexUncontendedOps = ops{Full: 2_000_000, Quick: 1_000_000, Smoke: 200}
)

func mutexSuite() suite {
	return suite{
		Name:        "mutex",
		Description: "sync.Mutex",
		Workloads: []workload{
			{
				Name: "contended",
				Description: "T goroutines each lock, increment a shared counter and unlock, ops/T times; " +
					"op = one lock-increment-unlock (all goroutines together)",
				Ops: mutexContendedOps,
			},
			{
				Name:        "uncontended",
				Description: "one goroutine locks and unlocks in a tight loop; op = one lock-unlock",
				Ops:         mutexUncontendedOps,
			},
		},
		run: runMutex,
	}
}

// sink keeps the uncontended loop's reads observable (the Rust side's black_box).
var sink uint64

// mutexContended has `threads` goroutines each perform ops/threads lock-increment-unlock
// operations on one shared counter, and panics if the final count is not ops.
func mutexContended(threads int, n uint64) time.Duration {
	if n%uint64(threads) != 0 {
		panic("ops must divide among the goroutines")
	}
	perThread := n / uint64(threads)
	var mu sync.Mutex
	var counter uint64
	elapsed := runGoroutines(threads, func(int) {
		for i := uint64(0); i < perThread; i++ {
			mu.Lock()
			counter++
			mu.Unlock()
		}
	})
	mu.Lock()
	total := counter
	mu.Unlock()
	if total != n {
		panic(fmt.Sprintf("go: lost increments under contention: %d of %d", total, n))
	}
	return elapsed
}

// mutexUncontended locks and unlocks n times on one goroutine.
func mutexUncontended(n uint64) time.Duration {
	var mu sync.Mutex
	var value uint64
	return runGoroutines(1, func(int) {
		for i := uint64(0); i < n; i++ {
			mu.Lock()
			sink = value
			mu.Unlock()
		}
	})
}

func runMutex(cfg *config, emit func(row)) {
	for _, threads := range cfg.threads {
		threads := threads
		c := measured{"mutex", "contended", threadsParams(threads),
			divisible(cfg.ops(mutexContendedOps), threads)}
		emit(measure(cfg, c, func(n uint64) time.Duration { return mutexContended(threads, n) }))
	}
	c := measured{"mutex", "uncontended", threadsParams(1), cfg.ops(mutexUncontendedOps)}
	emit(measure(cfg, c, mutexUncontended))
}
