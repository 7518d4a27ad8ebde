package workflow_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// BenchmarkSubmit files GDPR access requests through Engine.Submit (the
// path behind the form and the API, without HTTP) from parallel
// goroutines, with a relay configured so each intake also queues its
// delivery job. It exists to profile intake:
//
//	go test ./workflow -run '^$' -bench Submit -benchtime 3000x -cpu 32 -cpuprofile /tmp/intake.cpu
//	go tool pprof -top -nodecount 40 workflow.test /tmp/intake.cpu
//
// DSR_BENCH_POOL appends pool settings to the database URL (for example
// pool_max_conns=16; unset: pgx's default, max(4, cores), as dsrdesk serve
// runs). It reports how long an intake waited for a pool connection
// (acquire-ms/op) and the pool's size.
func BenchmarkSubmit(b *testing.B) {
	e, _, pool := countingEngineOn(b, true, os.Getenv("DSR_BENCH_POOL"))
	var n atomic.Int64
	before := pool.Stat()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			s := dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelAPI,
				Subject: dsr.Person{Email: fmt.Sprintf("bench%d@example.net", i), Name: "Bench Person", Country: "NL"}}
			if _, err := e.Submit(context.Background(), s, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	after := pool.Stat()
	wait := after.AcquireDuration() - before.AcquireDuration()
	b.ReportMetric(float64(wait.Microseconds())/1000/float64(b.N), "acquire-ms/op")
	b.ReportMetric(float64(after.MaxConns()), "pool-conns")
}
