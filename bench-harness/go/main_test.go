package main

import (
	"encoding/json"
	"reflect"
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
