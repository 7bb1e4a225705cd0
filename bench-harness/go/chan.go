package main

// Channel workloads: crossbeam-channel's standard benchmark workloads (seq, spsc, mpsc, mpmc,
// select_rx, select_both; crossbeam-channel/benchmarks/go.go is their Go version) plus a
// ping-pong round trip, on Go's buffered and unbuffered channels. Go has no unbounded
// channel, so the capacities are 0 (rendezvous), 1 and 1024, and seq's capacity holds all
// of its messages (crossbeam's bounded(N)).
//
// A message is a uintptr (Rust's usize). Senders send distinct values 0..n-1; receivers
// check by count and sum that every message arrived exactly once. A lost message leaves a
// receiver blocked, which the Go runtime reports as a deadlock.

import (
	"fmt"
	"os"
	"time"
)

type message = uintptr

// Capacities of the throughput workloads, and of ping_pong.
var (
	chanCapacities     = []int{0, 1, 1024}
	pingPongCapacities = []int{0, 1}
)

// Operation counts: messages per sample (seq, and capacity 1024), messages per sample on
// capacities 0 and 1, and round trips per ping_pong sample. On capacities 0 and 1 nearly
// every message waits for the other side, and where a wait parks a thread (most Rust
// channels) it costs microseconds, so far fewer messages fit a sample; ping_pong waits on
// every message. The Rust side (bench-harness/src/workloads/chan.rs) uses the same counts.
var (
	chanMessages         = ops{Full: 200_000, Quick: 50_000, Smoke: 100}
	chanBlockingMessages = ops{Full: 20_000, Quick: 5_000, Smoke: 50}
	pingPongRounds       = ops{Full: 20_000, Quick: 5_000, Smoke: 20}
)

// chanOps is the messages per sample on a channel of capacity.
func chanOps(cfg *config, capacity int) uint64 {
	if capacity <= 1 {
		return cfg.ops(chanBlockingMessages)
	}
	return cfg.ops(chanMessages)
}

// maxSelect is the most channels the select workloads select over: Go's select needs its
// cases written out, so selectSet has maxSelect cases and leaves the unused ones nil (the
// runtime drops nil cases from its poll order).
const maxSelect = 8

func chanSuite() suite {
	return suite{
		Name:        "chan",
		Description: "Go channels: make(chan uintptr, capacity)",
		Workloads: []workload{
			{
				Name:        "seq",
				Description: "one goroutine sends n messages into a channel with capacity n, then receives them; op = one message",
				Ops:         chanMessages,
			},
			{
				Name:        "spsc",
				Description: "one sender and one receiver; op = one message",
				Ops:         chanMessages,
				BlockingOps: &chanBlockingMessages,
			},
			{
				Name:        "mpsc",
				Description: "T senders share n messages, one receiver takes them all; op = one message",
				Ops:         chanMessages,
				BlockingOps: &chanBlockingMessages,
			},
			{
				Name:        "mpmc",
				Description: "T senders and T receivers share n messages; op = one message",
				Ops:         chanMessages,
				BlockingOps: &chanBlockingMessages,
			},
			{
				Name:        "select_rx",
				Description: "T channels with one sender each, one receiver selecting over all T; op = one message",
				Ops:         chanMessages,
				BlockingOps: &chanBlockingMessages,
			},
			{
				Name:        "select_both",
				Description: "T channels; T senders each select-send over all T, T receivers each select-receive over all T; op = one message",
				Ops:         chanMessages,
				BlockingOps: &chanBlockingMessages,
			},
			{
				Name:        "ping_pong",
				Description: "two goroutines, two channels: one sends, the other answers on the second channel; op = one round trip",
				Ops:         pingPongRounds,
			},
		},
		run: runChan,
	}
}

// checkSums panics unless the receivers' sums add up to 0 + 1 + ... + (n-1).
func checkSums(workload string, sums []uint64, n uint64) {
	var total uint64
	for _, s := range sums {
		total += s
	}
	if want := n * (n - 1) / 2; total != want {
		panic(fmt.Sprintf("go: %s lost or duplicated messages: sum %d, want %d", workload, total, want))
	}
}

// seq sends n messages into a channel with capacity n on one goroutine, then receives them.
func seq(n uint64) time.Duration {
	c := make(chan message, n)
	var sum uint64
	elapsed := runGoroutines(1, func(int) {
		for k := message(0); k < message(n); k++ {
			c <- k
		}
		for k := uint64(0); k < n; k++ {
			sum += uint64(<-c)
		}
	})
	checkSums("seq", []uint64{sum}, n)
	return elapsed
}

// exchange has `senders` goroutines send n/senders messages each on one channel of
// `capacity`, and `receivers` goroutines receive n/receivers each (spsc, mpsc, mpmc).
func exchange(workload string, capacity, senders, receivers int, n uint64) time.Duration {
	if n%uint64(senders) != 0 || n%uint64(receivers) != 0 {
		panic("messages must divide among the goroutines")
	}
	c := make(chan message, capacity)
	perSender, perReceiver := n/uint64(senders), n/uint64(receivers)
	sums := make([]uint64, receivers)
	elapsed := runGoroutines(senders+receivers, func(i int) {
		if i < senders {
			base := message(uint64(i) * perSender)
			for k := message(0); k < message(perSender); k++ {
				c <- base + k
			}
			return
		}
		var sum uint64
		for k := uint64(0); k < perReceiver; k++ {
			sum += uint64(<-c)
		}
		sums[i-senders] = sum
	})
	checkSums(workload, sums, n)
	return elapsed
}

// selectSet is up to maxSelect channels; the cases past the used ones are nil.
type selectSet [maxSelect]chan message

func newSelectSet(count, capacity int) *selectSet {
	if count > maxSelect {
		panic("too many channels for selectSet")
	}
	var s selectSet
	for i := 0; i < count; i++ {
		s[i] = make(chan message, capacity)
	}
	return &s
}

// recv receives from whichever channel is ready (a uniformly random one if several are).
func (s *selectSet) recv() message {
	select {
	case v := <-s[0]:
		return v
	case v := <-s[1]:
		return v
	case v := <-s[2]:
		return v
	case v := <-s[3]:
		return v
	case v := <-s[4]:
		return v
	case v := <-s[5]:
		return v
	case v := <-s[6]:
		return v
	case v := <-s[7]:
		return v
	}
}

// send sends v on whichever channel is ready.
func (s *selectSet) send(v message) {
	select {
	case s[0] <- v:
	case s[1] <- v:
	case s[2] <- v:
	case s[3] <- v:
	case s[4] <- v:
	case s[5] <- v:
	case s[6] <- v:
	case s[7] <- v:
	}
}

// selectRx has one sender per channel (threads channels) and one receiver selecting over all.
func selectRx(capacity, threads int, n uint64) time.Duration {
	if n%uint64(threads) != 0 {
		panic("messages must divide among the goroutines")
	}
	set := newSelectSet(threads, capacity)
	perSender := n / uint64(threads)
	var sum uint64
	elapsed := runGoroutines(threads+1, func(i int) {
		if i < threads {
			c, base := set[i], message(uint64(i)*perSender)
			for k := message(0); k < message(perSender); k++ {
				c <- base + k
			}
			return
		}
		for k := uint64(0); k < n; k++ {
			sum += uint64(set.recv())
		}
	})
	checkSums("select_rx", []uint64{sum}, n)
	return elapsed
}

// selectBoth has threads senders select-sending over threads channels and threads
// receivers select-receiving over the same channels.
func selectBoth(capacity, threads int, n uint64) time.Duration {
	if n%uint64(threads) != 0 {
		panic("messages must divide among the goroutines")
	}
	set := newSelectSet(threads, capacity)
	per := n / uint64(threads)
	sums := make([]uint64, threads)
	elapsed := runGoroutines(2*threads, func(i int) {
		if i < threads {
			base := message(uint64(i) * per)
			for k := message(0); k < message(per); k++ {
				set.send(base + k)
			}
			return
		}
		var sum uint64
		for k := uint64(0); k < per; k++ {
			sum += uint64(set.recv())
		}
		sums[i-threads] = sum
	})
	checkSums("select_both", sums, n)
	return elapsed
}

// pingPong bounces a counter between two goroutines over two channels of `capacity`, n
// round trips; the answer must be the question plus one.
func pingPong(capacity int, n uint64) time.Duration {
	ping, pong := make(chan message, capacity), make(chan message, capacity)
	return runGoroutines(2, func(i int) {
		if i == 0 {
			for k := message(0); k < message(n); k++ {
				ping <- k
				if v := <-pong; v != k+1 {
					panic(fmt.Sprintf("go: ping_pong answered %d to %d", v, k))
				}
			}
			return
		}
		for k := uint64(0); k < n; k++ {
			pong <- <-ping + 1
		}
	})
}

func runChan(cfg *config, emit func(row)) {
	run := func(workload string, p params, n uint64, sample func(uint64) time.Duration) {
		emit(measure(cfg, measured{"chan", workload, p, n}, sample))
	}
	n := cfg.ops(chanMessages)
	run("seq", threadsParams(1).withCapacity(int(n)), n, seq)
	for _, capacity := range chanCapacities {
		capacity, n := capacity, chanOps(cfg, capacity)
		run("spsc", threadsParams(1).withCapacity(capacity), n, func(n uint64) time.Duration {
			return exchange("spsc", capacity, 1, 1, n)
		})
	}
	for _, capacity := range chanCapacities {
		capacity, n := capacity, chanOps(cfg, capacity)
		for _, threads := range cfg.threads {
			threads := threads
			run("mpsc", threadsParams(threads).withCapacity(capacity), divisible(n, threads),
				func(n uint64) time.Duration { return exchange("mpsc", capacity, threads, 1, n) })
		}
	}
	for _, capacity := range chanCapacities {
		capacity, n := capacity, chanOps(cfg, capacity)
		for _, threads := range cfg.threads {
			threads := threads
			run("mpmc", threadsParams(threads).withCapacity(capacity), divisible(n, threads),
				func(n uint64) time.Duration { return exchange("mpmc", capacity, threads, threads, n) })
		}
	}
	for _, capacity := range chanCapacities {
		capacity, n := capacity, chanOps(cfg, capacity)
		for _, threads := range cfg.threads {
			threads := threads
			if threads > maxSelect {
				fmt.Fprintf(os.Stderr, "weft-bench-go: chan/select_rx and select_both skipped for threads=%d (at most %d channels)\n", threads, maxSelect)
				continue
			}
			run("select_rx", threadsParams(threads).withCapacity(capacity), divisible(n, threads),
				func(n uint64) time.Duration { return selectRx(capacity, threads, n) })
			run("select_both", threadsParams(threads).withCapacity(capacity), divisible(n, threads),
				func(n uint64) time.Duration { return selectBoth(capacity, threads, n) })
		}
	}
	rounds := cfg.ops(pingPongRounds)
	for _, capacity := range pingPongCapacities {
		capacity := capacity
		run("ping_pong", threadsParams(1).withCapacity(capacity), rounds, func(n uint64) time.Duration {
			return pingPong(capacity, n)
		})
	}
}
