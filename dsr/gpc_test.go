package dsr_test

import (
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestGPCSignal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		values []string
		want   bool
	}{
		{"absent", nil, false},
		{"one", []string{"1"}, true},
		{"zero", []string{"0"}, false},
		{"true is not the value", []string{"true"}, false},
		{"whitespace around 1", []string{" 1 "}, true},
		{"tab around 1", []string{"\t1"}, true},
		{"two fields both 1", []string{"1", "1"}, true},
		{"two fields 1 and 0", []string{"1", "0"}, false},
		{"combined with a comma", []string{"1, 1"}, true},
		{"combined conflicting", []string{"1,0"}, false},
		{"empty", []string{""}, false},
		{"11", []string{"11"}, false},
	} {
		if got := dsr.GPCSignal(tc.values); got != tc.want {
			t.Errorf("%s: GPCSignal(%q) = %v, want %v", tc.name, tc.values, got, tc.want)
		}
	}
}
