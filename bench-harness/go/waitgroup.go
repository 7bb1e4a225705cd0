package main

// Wait group workloads, mirroring bench-harness/src/workloads/wait_group.rs: a fan-in round
// with persistent workers, and the single-goroutine fast path, on sync.WaitGroup.

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Operation counts, equal to the Rust side's FAN_IN_ROUNDS and UNCONTENDED_OPS.
var (
	fanInRounds             = ops{Full: 2_000, Quick: 1_000, Smoke: 20}
	waitGroupUncontendedOps = ops{Full: 300_000, Quick: 150_000, Smoke: 200}
)

func waitGroupSuite() suite {
	return suite{
		Name:        "waitgroup",
		Description: "sync.WaitGroup",
		Workloads: []workload{
			{
				Name: "fan_in",
				Description: "T persistent workers and one waiter (T+1 goroutines); per round the waiter " +
					"calls Add(T), releases the workers, each worker calls Done, the waiter Waits; op = one round",
				Ops: fanInRounds,
			},
			{
				Name:        "uncontended",
				Description: "one goroutine calls Add(1), Done, then Wait; op = one add-done-wait",
				Ops:         waitGroupUncontendedOps,
			},
		},
		run: runWaitGroup,
	}
}

// stopRound is the round counter's value that tells the workers to exit.
const stopRound = ^uint64(0)

// slot is a worker's mailbox: the token for the current round, and the last round it started.
// sync.WaitGroup has no token; the flag stands for it so the hand-off costs what it costs on
// the Rust side (an uncontended mutex per worker).
type slot struct {
	mu      sync.Mutex
	token   bool
	started uint64
}

// nextRound waits until round differs from seen and returns it: spins briefly, then yields,
// the same start signal as the Rust side's next_round (Go has no spin-loop hint, so a spin is
// a bare reload).
func nextRound(round *atomic.Uint64, seen uint64) uint64 {
	spins := 0
	for {
		if r := round.Load(); r != seen {
			return r
		}
		if spins < 64 {
			spins++
		} else {
			runtime.Gosched()
		}
	}
}

// fanIn runs `rounds` rounds with `workers` persistent worker goroutines and one waiter. Each
// round the waiter calls Add(workers), hands each worker its token through its slot, releases
// them by bumping a round counter, and Waits; each worker takes its token and calls Done.
// Panics if Wait returned before every worker of the round had started.
func fanIn(workers int, rounds uint64) time.Duration {
	if workers <= 0 {
		panic("fan_in needs at least one worker")
	}
	var group sync.WaitGroup
	var round atomic.Uint64
	slots := make([]slot, workers)
	return runGoroutines(workers+1, func(i int) {
		if i == 0 {
			defer round.Store(stopRound)
			for r := uint64(1); r <= rounds; r++ {
				group.Add(workers)
				for w := range slots {
					s := &slots[w]
					s.mu.Lock()
					if s.token || s.started != r-1 {
						panic(fmt.Sprintf("go: Wait returned before worker %d finished round %d", w, r-1))
					}
					s.token = true
					s.mu.Unlock()
				}
				round.Store(r)
				group.Wait()
			}
			for w := range slots {
				s := &slots[w]
				s.mu.Lock()
				if s.token || s.started != rounds {
					panic(fmt.Sprintf("go: Wait returned before worker %d finished the last round", w))
				}
				s.mu.Unlock()
			}
			return
		}
		s := &slots[i-1]
		seen := uint64(0)
		for {
			seen = nextRound(&round, seen)
			if seen == stopRound {
				return
			}
			s.mu.Lock()
			s.started = seen
			if !s.token {
				panic("go: a round without a token")
			}
			s.token = false
			s.mu.Unlock()
			group.Done()
		}
	})
}

// waitGroupUncontended calls Add(1), Done and Wait n times on one goroutine.
func waitGroupUncontended(n uint64) time.Duration {
	var group sync.WaitGroup
	return runGoroutines(1, func(int) {
		for i := uint64(0); i < n; i++ {
			group.Add(1)
			group.Done()
			group.Wait()
		}
	})
}

// fanInWorkers is 2 (the reference point) and the configured thread counts, sorted.
func fanInWorkers(cfg *config) []int {
	workers := append([]int{2}, cfg.threads...)
	sort.Ints(workers)
	out := workers[:0]
	for i, w := range workers {
		if i == 0 || w != workers[i-1] {
			out = append(out, w)
		}
	}
	return out
}

func runWaitGroup(cfg *config, emit func(row)) {
	for _, workers := range fanInWorkers(cfg) {
		workers := workers
		c := measured{"waitgroup", "fan_in", threadsParams(workers), cfg.ops(fanInRounds)}
		emit(measure(cfg, c, func(n uint64) time.Duration { return fanIn(workers, n) }))
	}
	c := measured{"waitgroup", "uncontended", threadsParams(1), cfg.ops(waitGroupUncontendedOps)}
	emit(measure(cfg, c, waitGroupUncontended))
}
