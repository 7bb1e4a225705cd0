package main

// Timer workloads: the twin of the Rust side's time suite (bench-harness/src/workloads/time.rs)
// on Go's time package. timer_start_stop is time.NewTimer + Stop, select_timeout (and
// select_timeout_threads, under GOMAXPROCS = 2) a select over a channel and time.After per
// message, sleep_many and sleep_lateness goroutines in
// time.Sleep until staggered deadlines, idle_timers 10,000 pending timers while the process
// idles. select_timeout and idle_timers run under GOMAXPROCS = 1 (one worker, as the Rust
// side), sleep_many and sleep_lateness under GOMAXPROCS = T.

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"
)

var (
	// timers is timers started and stopped per timer_start_stop sample.
	timers = ops{Full: 1_000_000, Quick: 200_000, Smoke: 100}
	// timedMessages is messages per select_timeout sample.
	timedMessages = ops{Full: 200_000, Quick: 50_000, Smoke: 100}
	// sleepers is goroutines per sleep_many and sleep_lateness sample.
	sleepers = ops{Full: 100_000, Quick: 20_000, Smoke: 100}
)

const (
	// timedTimeout is the timeout of every select_timeout receive: never reached.
	timedTimeout = time.Second
	// sleepSpread is the span of sleep_many's deadlines.
	sleepSpread = 50 * time.Millisecond
	// idleTimers is the pending timers of idle_timers.
	idleTimers = 10_000
)

var (
	timeCapacities = []int{0, 1, 1024}
	quantiles      = []int{50, 99}
)

func timeSuite() suite {
	return suite{
		Name:        "time",
		Description: "Go's time package: timers, time.After in a select, time.Sleep",
		Workloads: []workload{
			{
				Name:        "timer_start_stop",
				Description: "one goroutine starts a timer due in 1 s (time.NewTimer) and stops it (Stop), n times; op = one start and stop",
				Ops:         timers,
			},
			{
				Name:        "select_timeout",
				Description: "a sender goroutine sends n messages, a receiver takes each in a select with case <-time.After(1 s), GOMAXPROCS = 1; op = one message",
				Ops:         timedMessages,
			},
			{
				Name:        "timeout",
				Description: "the select_timeout code (Go has no timeout wrapper apart from a select with time.After), GOMAXPROCS = 1; op = one message",
				Ops:         timedMessages,
			},
			{
				Name:        "select_timeout_threads",
				Description: "as select_timeout under GOMAXPROCS = 2, so that the two goroutines may run in parallel as the Rust side's two threads do; op = one message",
				Ops:         timedMessages,
			},
			{
				Name:        "sleep_many",
				Description: "n goroutines under GOMAXPROCS = T each time.Sleep until its deadline, spread evenly over 50 ms from n us after the start, and are waited for; op = one goroutine, value = wall time / n",
				Ops:         sleepers,
			},
			{
				Name:        "sleep_lateness",
				Description: "in a sleep_many sample, the given quantile of how late the goroutines woke after their deadlines; ops = 1, value = lateness in ns (not a time per op)",
				Ops:         ops{Full: 1, Quick: 1, Smoke: 1},
			},
			{
				Name:        "idle_timers",
				Description: "10,000 timers due in an hour are pending while the process (GOMAXPROCS = 1) sits idle: after 20 ms, its CPU time (getrusage) over 100 ms of wall time; op = one idle ms, value = CPU ns used per idle ms (not a latency)",
				Ops:         idleMillis,
			},
		},
		run: runTime,
	}
}

// timerStartStop starts and stops n timers due in 1 s.
func timerStartStop(n uint64) time.Duration {
	start := time.Now()
	for i := uint64(0); i < n; i++ {
		t := time.NewTimer(timedTimeout)
		if !t.Stop() {
			panic("go: a timer of 1 s fired at once")
		}
	}
	return time.Since(start)
}

// selectTimeout sends 0..n on a channel of capacity; the receiver takes each in a select
// with a fresh time.After.
func selectTimeout(capacity int, n uint64) time.Duration {
	ch := make(chan uint64, capacity)
	start := time.Now()
	go func() {
		for k := uint64(0); k < n; k++ {
			ch <- k
		}
		close(ch)
	}()
	var count, sum uint64
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				elapsed := time.Since(start)
				if count != n || sum != n*(n-1)/2 {
					panic(fmt.Sprintf("go: select_timeout received %d messages summing to %d", count, sum))
				}
				return elapsed
			}
			count++
			sum += v
		case <-time.After(timedTimeout):
			panic("go: select_timeout timed out after 1 s")
		}
	}
}

// sleepMany runs n goroutines, goroutine i sleeping until start + n us + spread*i/n, and
// returns the wall time and each one's lateness.
func sleepMany(n uint64) (time.Duration, []time.Duration) {
	start := time.Now()
	base := start.Add(time.Duration(n) * time.Microsecond)
	late := make([]time.Duration, n)
	var wg sync.WaitGroup
	wg.Add(int(n))
	for i := uint64(0); i < n; i++ {
		deadline := base.Add(sleepSpread * time.Duration(i) / time.Duration(n))
		go func(i uint64) {
			defer wg.Done()
			time.Sleep(time.Until(deadline))
			now := time.Now()
			if now.Before(deadline) {
				panic("go: a sleep woke early")
			}
			late[i] = now.Sub(deadline)
		}(i)
	}
	wg.Wait()
	return time.Since(start), late
}

// quantile is the q-th percentile of values by nearest rank, as the Rust side's.
func quantile(values []time.Duration, q int) time.Duration {
	sort.Slice(values, func(i, j int) bool { return values[i] < values[j] })
	rank := (q*len(values) + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return values[rank-1]
}

// idleWithTimers keeps idleTimers timers due in an hour pending and returns the CPU time
// the process uses while this goroutine sleeps millis ms.
func idleWithTimers(millis uint64) time.Duration {
	pending := make([]*time.Timer, idleTimers)
	for i := range pending {
		pending[i] = time.NewTimer(time.Hour)
	}
	time.Sleep(idleSettle)
	window := time.Duration(millis) * time.Millisecond
	start, before := time.Now(), processCPUTime()
	time.Sleep(window)
	used, elapsed := processCPUTime()-before, time.Since(start)
	for _, t := range pending {
		if !t.Stop() {
			panic("go: an hour passed")
		}
	}
	if elapsed < window {
		panic("go: idle_timers' idle window ended early")
	}
	return used
}

func runTime(cfg *config, emit func(row)) {
	one := func(workload string, p func() params, n uint64, sample func(n uint64) time.Duration) {
		withGOMAXPROCS(1, func() {
			emit(measure(cfg, measured{"time", workload, p(), n}, sample))
		})
	}
	one("timer_start_stop", func() params { return threadsParams(1) }, cfg.ops(timers), timerStartStop)
	for _, capacity := range timeCapacities {
		capacity := capacity
		one("select_timeout", func() params { return threadsParams(1).withCapacity(capacity) }, cfg.ops(timedMessages),
			func(n uint64) time.Duration { return selectTimeout(capacity, n) })
		one("timeout", func() params { return threadsParams(1).withCapacity(capacity) }, cfg.ops(timedMessages),
			func(n uint64) time.Duration { return selectTimeout(capacity, n) })
		withGOMAXPROCS(2, func() {
			// params.threads stays 1 as on the Rust side (the case); gomaxprocs says 2.
			c := measured{"time", "select_timeout_threads", threadsParams(1).withCapacity(capacity), cfg.ops(timedMessages)}
			emit(measure(cfg, c, func(n uint64) time.Duration { return selectTimeout(capacity, n) }))
		})
	}
	n := cfg.ops(sleepers)
	for _, threads := range cfg.threads {
		withGOMAXPROCS(threads, func() {
			emit(measure(cfg, measured{"time", "sleep_many", threadsParams(threads), n},
				func(n uint64) time.Duration { wall, _ := sleepMany(n); return wall }))
			for _, q := range quantiles {
				q := q
				emit(measure(cfg, measured{"time", "sleep_lateness", threadsParams(threads).withQuantile(q), 1},
					func(uint64) time.Duration { _, late := sleepMany(n); return quantile(late, q) }))
			}
		})
	}
	one("idle_timers", func() params { return threadsParams(1) }, cfg.ops(idleMillis), idleWithTimers)
	runtime.GC()
}
