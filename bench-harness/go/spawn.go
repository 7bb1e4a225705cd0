package main

// Goroutine spawn: the cost of starting a tiny task and waiting for its result, the Go
// counterpart of a scheduler's spawn + join (weft's go() and JoinHandle, rayon, tokio).

import (
	"fmt"
	"time"
)

// spawnJoins is spawn-and-join operations per sample.
var spawnJoins = ops{Full: 200_000, Quick: 50_000, Smoke: 100}

func spawnSuite() suite {
	return suite{
		Name:        "spawn",
		Description: "goroutines: go f() and a result channel as the join handle",
		Workloads: []workload{
			{
				Name: "spawn_join",
				Description: "one goroutine spawns a tiny task (add one to a number) and waits for its result, " +
					"n times; op = one spawn and join",
				Ops: spawnJoins,
			},
		},
		run: runSpawn,
	}
}

// spawnJoin spawns n tiny goroutines one after another, each returning its argument plus
// one through a fresh one-slot channel (its join handle), and waits for each.
func spawnJoin(n uint64) time.Duration {
	var sum uint64
	elapsed := runGoroutines(1, func(int) {
		for k := uint64(0); k < n; k++ {
			joined := make(chan uint64, 1)
			go func(k uint64) { joined <- k + 1 }(k)
			sum += <-joined
		}
	})
	if want := n * (n + 1) / 2; sum != want {
		panic(fmt.Sprintf("go: spawn_join results sum to %d, want %d", sum, want))
	}
	return elapsed
}

func runSpawn(cfg *config, emit func(row)) {
	c := measured{"spawn", "spawn_join", threadsParams(1), cfg.ops(spawnJoins)}
	emit(measure(cfg, c, spawnJoin))
}
