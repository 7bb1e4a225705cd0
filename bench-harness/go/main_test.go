package main

import (
	"encoding/json"
	"reflect"
	"runtime"
	"testing"
)

func TestSummarize(t *testing.T) {
	median, min, max, spread := summarize([]float64{3, 1, 2, 10})
	if median != 2.5 || min != 1 || max != 10 || spread != 9/2.5 {
		t.Fatalf("got %v %v %v %v", median, min, max, spread)
	}
	if median, _, _, spread := summarize([]float64{0, 0, 1}); median != 0 || spread != 0 {
		t.Fatalf("zero median: %v %v", median, spread)
	}
}

func TestDivisible(t *testing.T) {
	for _, c := range []struct {
		ops     uint64
		threads int
		want    uint64
	}{{1000, 3, 999}, {2, 8, 8}, {1000, 1, 1000}} {
		if got := divisible(c.ops, c.threads); got != c.want {
			t.Errorf("divisible(%d, %d) = %d, want %d", c.ops, c.threads, got, c.want)
		}
	}
}

func TestFanInWorkersAlwaysIncludeTwo(t *testing.T) {
	got := fanInWorkers(&config{threads: []int{8, 1, 8}})
	if !reflect.DeepEqual(got, []int{1, 2, 8}) {
		t.Fatalf("got %v", got)
	}
}

// TestEveryWorkloadRuns runs every suite at smoke size and checks that each listed workload
// produced a row shaped like the Rust side's ResultRow.
func TestEveryWorkloadRuns(t *testing.T) {
	cfg := &config{threads: []int{1, 3}, size: sizeSmoke, samples: 1}
	for _, s := range suites() {
		var rows []row
		s.run(cfg, func(r row) { rows = append(rows, r) })
		for _, w := range s.Workloads {
			found := false
			for _, r := range rows {
				found = found || r.Workload == w.Name
			}
			if !found {
				t.Errorf("%s/%s: no row", s.Name, w.Name)
			}
		}
		for _, r := range rows {
			text, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var fields map[string]interface{}
			if err := json.Unmarshal(text, &fields); err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"suite", "workload", "implementation", "params", "ops",
				"samples_ns_per_op", "median_ns_per_op", "min_ns_per_op", "max_ns_per_op", "spread"} {
				if _, ok := fields[key]; !ok {
					t.Errorf("%s: no %q", text, key)
				}
			}
			if r.Implementation != "go" || len(r.Samples) != 1 || r.Ops == 0 || r.Params.GOMAXPROCS < 1 {
				t.Errorf("odd row %s", text)
			}
		}
	}
}

// TestSchedOpCounts checks the sched suite's derived operation counts: fib's are the calls of
// naive fib(25), fib(22) and fib(10), skynet's are powers of ten.
func TestSchedOpCounts(t *testing.T) {
	for n, calls := range map[uint64]uint64{0: 1, 1: 1, 2: 3, 10: fibCalls.Smoke, 22: fibCalls.Quick, 25: fibCalls.Full} {
		if got := fibCallsOf(n); got != calls {
			t.Errorf("fibCallsOf(%d) = %d, want %d", n, got, calls)
		}
		if got := fibArgument(calls); got != n && n >= 2 { // 0 and 1 both make one call
			t.Errorf("fibArgument(%d) = %d, want %d", calls, got, n)
		}
	}
	for leaves, depth := range map[uint64]int{1: 0, 10: 1, skynetLeaves.Smoke: 3, skynetLeaves.Quick: 5, skynetLeaves.Full: 6} {
		if got := skynetDepth(leaves); got != depth {
			t.Errorf("skynetDepth(%d) = %d, want %d", leaves, got, depth)
		}
	}
	for _, bad := range []func(){func() { skynetDepth(20) }, func() { fibArgument(4) }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			bad()
		}()
	}
}

// TestSchedWorkloads runs each sched workload at tiny sizes, and the suite under GOMAXPROCS
// = T with the run's GOMAXPROCS restored afterwards.
func TestSchedWorkloads(t *testing.T) {
	spawnMany(1)
	spawnMany(37)
	chainedSpawn(1)
	chainedSpawn(25)
	yieldMany(1, 1)
	yieldMany(12, 36)
	skynet(1)
	skynet(100)
	fib(fibCallsOf(0))
	fib(fibCallsOf(1))
	fib(fibCallsOf(7))

	before := runtime.GOMAXPROCS(0)
	cfg := &config{threads: []int{1, 3}, size: sizeSmoke, samples: 1}
	var rows []row
	schedSuite().run(cfg, func(r row) { rows = append(rows, r) })
	if after := runtime.GOMAXPROCS(0); after != before {
		t.Fatalf("GOMAXPROCS left at %d, was %d", after, before)
	}
	if len(rows) != 2*len(schedSuite().Workloads) {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		if r.Suite != "sched" || r.Params.GOMAXPROCS != r.Params.Threads || r.Params.Capacity != nil {
			t.Errorf("odd row %+v", r)
		}
		if r.Workload == "yield_many" && r.Ops != divisible(yields.Smoke, yieldersPerThread*r.Params.Threads) {
			t.Errorf("yield_many ops %d for threads %d", r.Ops, r.Params.Threads)
		}
	}
}
