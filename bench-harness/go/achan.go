package main

// Async channel workloads: the twin of the Rust side's achan suite
// (bench-harness/src/workloads/achan.rs), where weft's async channels run between tasks on
// weft's scheduler and tokio's, flume's and kanal's on tokio's runtime. Goroutines are Go's
// tasks, so the workloads are the chan suite's spsc, mpsc, mpmc and ping_pong (exchange and
// pingPong in chan.go), run under runtime.GOMAXPROCS(T): params.threads is T, the worker
// count, and for mpsc and mpmc also the goroutines per side; spsc and ping_pong have one
// goroutine per side at every T. Capacities 0, 1 and 1024 (ping_pong: 0 and 1). select_rx
// and select_both are the chan suite's selectRx and selectBoth under GOMAXPROCS = T.

import "time"

// achanMessages is messages per sample on capacity 1024; capacities 0 and 1 send
// chanBlockingMessages and ping_pong makes pingPongRounds, as on the Rust side.
var achanMessages = ops{Full: 80_000, Quick: 20_000, Smoke: 100}

// achanOps is the messages per sample on a channel of capacity.
func achanOps(cfg *config, capacity int) uint64 {
	if capacity <= 1 {
		return cfg.ops(chanBlockingMessages)
	}
	return cfg.ops(achanMessages)
}

func achanSuite() suite {
	return suite{
		Name:        "achan",
		Description: "Go channels between goroutines, GOMAXPROCS = T",
		Workloads: []workload{
			{
				Name:        "spsc",
				Description: "one sender and one receiver goroutine under GOMAXPROCS = T; op = one message",
				Ops:         achanMessages,
				BlockingOps: &chanBlockingMessages,
			},
			{
				Name:        "mpsc",
				Description: "T sender goroutines share n messages, one receiver takes them all, under GOMAXPROCS = T; op = one message",
				Ops:         achanMessages,
				BlockingOps: &chanBlockingMessages,
			},
			{
				Name:        "mpmc",
				Description: "T sender and T receiver goroutines share n messages under GOMAXPROCS = T; op = one message",
				Ops:         achanMessages,
				BlockingOps: &chanBlockingMessages,
			},
			{
				Name:        "ping_pong",
				Description: "two goroutines under GOMAXPROCS = T, two channels: one sends, the other answers on the second channel; op = one round trip",
				Ops:         pingPongRounds,
			},
			{
				Name:        "select_rx",
				Description: "T channels with one sender goroutine each, one receiver goroutine selecting over all T, under GOMAXPROCS = T (T <= 8); op = one message",
				Ops:         achanMessages,
				BlockingOps: &chanBlockingMessages,
			},
			{
				Name:        "select_both",
				Description: "T channels; T sender goroutines each select-send over all T, T receiver goroutines each select-receive over all T, under GOMAXPROCS = T (T <= 8); op = one message",
				Ops:         achanMessages,
				BlockingOps: &chanBlockingMessages,
			},
		},
		run: runAChan,
	}
}

func runAChan(cfg *config, emit func(row)) {
	// run measures one case under GOMAXPROCS = threads (params read inside, so that
	// params.gomaxprocs is threads).
	run := func(workload string, capacity, threads int, n uint64, sample func(uint64) time.Duration) {
		withGOMAXPROCS(threads, func() {
			p := threadsParams(threads).withCapacity(capacity)
			emit(measure(cfg, measured{"achan", workload, p, n}, sample))
		})
	}
	for _, capacity := range chanCapacities {
		capacity := capacity
		for _, threads := range cfg.threads {
			run("spsc", capacity, threads, achanOps(cfg, capacity), func(n uint64) time.Duration {
				return exchange("spsc", capacity, 1, 1, n)
			})
		}
	}
	for _, capacity := range chanCapacities {
		capacity := capacity
		for _, threads := range cfg.threads {
			threads := threads
			run("mpsc", capacity, threads, divisible(achanOps(cfg, capacity), threads), func(n uint64) time.Duration {
				return exchange("mpsc", capacity, threads, 1, n)
			})
		}
	}
	for _, capacity := range chanCapacities {
		capacity := capacity
		for _, threads := range cfg.threads {
			threads := threads
			run("mpmc", capacity, threads, divisible(achanOps(cfg, capacity), threads), func(n uint64) time.Duration {
				return exchange("mpmc", capacity, threads, threads, n)
			})
		}
	}
	rounds := cfg.ops(pingPongRounds)
	for _, capacity := range pingPongCapacities {
		capacity := capacity
		for _, threads := range cfg.threads {
			run("ping_pong", capacity, threads, rounds, func(n uint64) time.Duration {
				return pingPong(capacity, n)
			})
		}
	}
	// The select workloads: chan.go's selectRx and selectBoth under GOMAXPROCS = T (Go has
	// no unbounded channel: the Rust side's "unbounded" rows have no twin).
	for _, capacity := range chanCapacities {
		capacity := capacity
		for _, threads := range cfg.threads {
			threads := threads
			if threads > maxSelect {
				continue
			}
			n := divisible(achanOps(cfg, capacity), threads)
			run("select_rx", capacity, threads, n, func(n uint64) time.Duration {
				return selectRx(capacity, threads, n)
			})
			run("select_both", capacity, threads, n, func(n uint64) time.Duration {
				return selectBoth(capacity, threads, n)
			})
		}
	}
}
