package workflow_test

import (
	"context"
	"fmt"
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
func BenchmarkSubmit(b *testing.B) {
	e, _ := countingEngine(b, true)
	var n atomic.Int64
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
}
