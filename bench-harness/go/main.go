// Command weft-bench-go is the Go twin of weft-bench: the same workloads run on Go's
// channels, select, sync.Mutex, sync.WaitGroup and goroutines, written as weft-bench result
// rows so that the runner puts Go beside the Rust implementations in one table.
//
// Usage (flags mirror `weft-bench run`):
//
//	weft-bench-go -suite mutex,waitgroup,chan,achan,sched,time -threads 1,2,4,8 -quick -samples 5
//	weft-bench-go -list
//
// Each result row is printed on stdout as one line of JSON in the result-row shape of
// results/README.md (schema version 1), with "implementation": "go" and the run's GOMAXPROCS
// in params.gomaxprocs. Progress lines (-progress) and failures go to stderr. A workload that
// finds a wrong result (a lost increment, a missing message) panics: the process exits
// non-zero and the runner reports it.
//
// Standard library only: the module builds offline.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// suite is one primitive family's workloads, named as on the Rust side.
type suite struct {
	Name        string     `json:"suite"`
	Description string     `json:"description"`
	Workloads   []workload `json:"workloads"`
	run         func(cfg *config, emit func(row))
}

// workload is a workload's name, what one of its operations is, and its operation counts:
// Ops, and for the channel workloads whose capacity is a parameter, BlockingOps on
// capacities 0 and 1.
type workload struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Ops         ops    `json:"ops"`
	BlockingOps *ops   `json:"blocking_ops,omitempty"`
}

// suites lists every suite in the order a full run runs them.
func suites() []suite {
	return []suite{mutexSuite(), waitGroupSuite(), chanSuite(), achanSuite(), spawnSuite(), schedSuite(), timeSuite()}
}

func main() {
	var (
		suiteFlag   = flag.String("suite", "", "suites to run, comma separated (default: all)")
		threadsFlag = flag.String("threads", "1,2,4,8", "thread counts for the workloads that scale, comma separated")
		quick       = flag.Bool("quick", false, "fewer operations and 5 samples")
		smoke       = flag.Bool("smoke", false, "a handful of operations and 1 sample (tests)")
		samples     = flag.Int("samples", 0, "samples per case (default: 15, 5 with -quick, 1 with -smoke)")
		progress    = flag.Bool("progress", false, "print a line per measured case on stderr")
		list        = flag.Bool("list", false, "print the suites and workloads as JSON and exit")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fail("unexpected argument %q", flag.Arg(0))
	}

	all := suites()
	if *list {
		out, err := json.MarshalIndent(all, "", "  ")
		if err != nil {
			fail("%v", err)
		}
		fmt.Println(string(out))
		return
	}

	cfg := &config{size: sizeFull, progress: *progress}
	switch {
	case *smoke && *quick:
		fail("-quick and -smoke exclude each other")
	case *smoke:
		cfg.size = sizeSmoke
	case *quick:
		cfg.size = sizeQuick
	}
	cfg.samples = cfg.defaultSamples()
	if *samples < 0 || (*samples == 0 && isSet("samples")) {
		fail("at least one sample is needed")
	} else if *samples > 0 {
		cfg.samples = *samples
	}
	threads, err := parseThreads(*threadsFlag)
	if err != nil {
		fail("%v", err)
	}
	cfg.threads = threads

	selected := all
	if *suiteFlag != "" {
		selected = nil
		for _, name := range strings.Split(*suiteFlag, ",") {
			s, ok := find(all, strings.TrimSpace(name))
			if !ok {
				var known []string
				for _, s := range all {
					known = append(known, s.Name)
				}
				fail("unknown suite %q; known: %s", name, strings.Join(known, ", "))
			}
			selected = append(selected, s)
		}
	}

	enc := json.NewEncoder(os.Stdout)
	emit := func(r row) {
		if err := enc.Encode(r); err != nil {
			fail("writing a result row: %v", err)
		}
	}
	for _, s := range selected {
		s.run(cfg, emit)
	}
}

func find(all []suite, name string) (suite, bool) {
	for _, s := range all {
		if s.Name == name {
			return s, true
		}
	}
	return suite{}, false
}

// parseThreads parses "1,2,4,8" into positive thread counts.
func parseThreads(text string) ([]int, error) {
	var threads []int
	for _, field := range strings.Split(text, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("thread counts must be integers of at least 1, got %q", field)
		}
		threads = append(threads, n)
	}
	return threads, nil
}

func isSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "weft-bench-go: "+format+"\n", args...)
	os.Exit(2)
}
