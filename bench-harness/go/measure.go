package main

// The sampling engine, the same rules as bench-harness/src/workloads/mod.rs:
//
//   - A sample runs a fixed number of operations on fresh goroutines released together by a
//     start gate (the Go stand-in for std::sync::Barrier), timed from the first goroutine's
//     start to the last one's finish (runGoroutines), so spawning and joining are not counted.
//   - One discarded warm-up sample, then cfg.samples samples (there is one implementation
//     here, so there is nothing to interleave with: the runner runs the twin after the Rust
//     implementations).
//   - Every workload checks its result and panics if it is wrong.

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"
)

// implementation is the name Go's rows carry.
const implementation = "go"

type size int

const (
	sizeFull size = iota
	sizeQuick
	sizeSmoke
)

// ops is a workload's operations per sample at each size, as the Rust side's Ops.
type ops struct {
	Full  uint64 `json:"full"`
	Quick uint64 `json:"quick"`
	Smoke uint64 `json:"smoke"`
}

type config struct {
	threads  []int
	size     size
	samples  int
	progress bool
}

func (c *config) defaultSamples() int {
	switch c.size {
	case sizeQuick:
		return 5
	case sizeSmoke:
		return 1
	default:
		return 15
	}
}

func (c *config) ops(o ops) uint64 {
	switch c.size {
	case sizeQuick:
		return o.Quick
	case sizeSmoke:
		return o.Smoke
	default:
		return o.Full
	}
}

// params is the row's params object: threads, the workload's own keys, and the run's
// GOMAXPROCS (which describes the Go runtime, not the workload).
type params struct {
	Threads    int  `json:"threads"`
	Capacity   *int `json:"capacity,omitempty"`
	Quantile   *int `json:"quantile,omitempty"`
	GOMAXPROCS int  `json:"gomaxprocs"`
}

func threadsParams(threads int) params {
	return params{Threads: threads, GOMAXPROCS: runtime.GOMAXPROCS(0)}
}

func (p params) withCapacity(capacity int) params {
	p.Capacity = &capacity
	return p
}

func (p params) withQuantile(q int) params {
	p.Quantile = &q
	return p
}

func (p params) String() string {
	s := fmt.Sprintf("threads=%d", p.Threads)
	if p.Capacity != nil {
		s += fmt.Sprintf(" capacity=%d", *p.Capacity)
	}
	if p.Quantile != nil {
		s += fmt.Sprintf(" quantile=%d", *p.Quantile)
	}
	return s
}

// row is one result row, field for field the Rust ResultRow.
type row struct {
	Suite          string    `json:"suite"`
	Workload       string    `json:"workload"`
	Implementation string    `json:"implementation"`
	Params         params    `json:"params"`
	Ops            uint64    `json:"ops"`
	Samples        []float64 `json:"samples_ns_per_op"`
	Median         float64   `json:"median_ns_per_op"`
	Min            float64   `json:"min_ns_per_op"`
	Max            float64   `json:"max_ns_per_op"`
	Spread         float64   `json:"spread"`
}

// measured names one case: the suite, workload, parameters and operations per sample.
type measured struct {
	suite, workload string
	params          params
	ops             uint64
}

// measure takes a warm-up sample and then cfg.samples samples of `sample`, which must
// perform exactly c.ops operations and return the time they took.
func measure(cfg *config, c measured, sample func(ops uint64) time.Duration) row {
	if c.ops == 0 {
		panic("a sample needs at least one operation")
	}
	sample(c.ops) // warm-up: caches, allocator, page faults, frequency, goroutine stacks
	samples := make([]float64, 0, cfg.samples)
	for i := 0; i < cfg.samples; i++ {
		elapsed := sample(c.ops)
		samples = append(samples, float64(elapsed.Nanoseconds())/float64(c.ops))
	}
	median, min, max, spread := summarize(samples)
	r := row{
		Suite:          c.suite,
		Workload:       c.workload,
		Implementation: implementation,
		Params:         c.params,
		Ops:            c.ops,
		Samples:        samples,
		Median:         median,
		Min:            min,
		Max:            max,
		Spread:         spread,
	}
	if cfg.progress {
		fmt.Fprintf(os.Stderr, "%s/%s %s: go %.1f ns/op\n", c.suite, c.workload, c.params, median)
	}
	return r
}

// summarize returns the median (the mean of the middle two for an even count), the
// extremes and (max - min) / median (0 when the median is 0), as bench-harness/src/stats.rs.
func summarize(samples []float64) (median, min, max, spread float64) {
	if len(samples) == 0 {
		panic("a result needs samples")
	}
	sorted := append([]float64(nil), samples...)
	sort.Float64s(sorted)
	min, max = sorted[0], sorted[len(sorted)-1]
	mid := len(sorted) / 2
	if len(sorted)%2 == 1 {
		median = sorted[mid]
	} else {
		median = (sorted[mid-1] + sorted[mid]) / 2
	}
	if median > 0 {
		spread = (max - min) / median
	}
	return median, min, max, spread
}

// runGoroutines runs body(i) for i in [0, n), each on a fresh goroutine, released together
// once all have started. Returns the time from the earliest start to the latest finish.
func runGoroutines(n int, body func(i int)) time.Duration {
	if n <= 0 {
		panic("a workload needs at least one goroutine")
	}
	var ready, finished sync.WaitGroup
	gate := make(chan struct{})
	starts := make([]time.Time, n)
	ends := make([]time.Time, n)
	ready.Add(n)
	finished.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			defer finished.Done()
			ready.Done()
			<-gate
			starts[i] = time.Now()
			body(i)
			ends[i] = time.Now()
		}(i)
	}
	ready.Wait()
	close(gate)
	finished.Wait()
	first, last := starts[0], ends[0]
	for i := 1; i < n; i++ {
		if starts[i].Before(first) {
			first = starts[i]
		}
		if ends[i].After(last) {
			last = ends[i]
		}
	}
	return last.Sub(first)
}

// divisible rounds ops down to a multiple of threads (at least threads), so that every
// goroutine gets the same share.
func divisible(ops uint64, threads int) uint64 {
	t := uint64(threads)
	share := ops / t
	if share < 1 {
		share = 1
	}
	return share * t
}
