package workflow_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dsrdesk/dsrdesk/db/dbtest"
)

// BenchmarkMetricsScrape measures one scrape of the engine's database
// gauges over DSR_BENCH_REQUESTS requests (default 1,000,000): "cold"
// reads the database gauges (a fresh collector: the grouped count, the due
// and the outbox counts, what a scrape costs once every 15 s); "cached" is
// a scrape within the 15 s, which reads nothing.
//
//	go test ./workflow -run '^$' -bench MetricsScrape -benchtime 5x -timeout 30m
func BenchmarkMetricsScrape(b *testing.B) {
	pool := dbtest.NewPool(b)
	seedOpenRequests(b, pool, benchRequests(b))
	e := benchEngine(b, pool)
	gather := func(b *testing.B, reg *prometheus.Registry) {
		fams, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		if len(fams) < 5 {
			b.Fatalf("%d metric families", len(fams))
		}
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			reg := prometheus.NewRegistry()
			reg.MustRegister(e.MetricsCollectors()...)
			gather(b, reg)
		}
	})
	b.Run("cached", func(b *testing.B) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(e.MetricsCollectors()...)
		gather(b, reg)
		for b.Loop() {
			gather(b, reg)
		}
	})
}
