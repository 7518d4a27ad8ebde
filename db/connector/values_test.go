package connector

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

func TestJSONValue(t *testing.T) {
	var num pgtype.Numeric
	if err := num.Scan("12.50"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 10, 30, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		in   any
		date bool
		want any
	}{
		{"int32 widens", int32(7), false, int64(7)},
		{"time in UTC RFC 3339", at, false, "2026-12-02T09:30:00Z"},
		{"date column", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true, "2024-02-29"},
		{"utf-8 bytes", []byte("héllo"), false, "héllo"},
		{"binary bytes", []byte{0xff, 0x00, 0xfe}, false, "/wD+"},
		{"numeric exact", num, false, "12.50"},
		{"NaN", math.NaN(), false, "NaN"},
		{"uuid", [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8}, false, "12345678-9abc-def0-0102-030405060708"},
		{"jsonb", map[string]any{"a": []any{int32(1), "x"}}, false, map[string]any{"a": []any{int64(1), "x"}}},
		{"null", nil, false, nil},
	} {
		if got := jsonValue(tc.in, tc.date); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: jsonValue(%#v) = %#v, want %#v", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestMySQLTextProtocolValues(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		in   any
		want any
	}{
		{"BIGINT", []byte("42"), int64(42)},
		{"UNSIGNED BIGINT", []byte("18446744073709551615"), uint64(math.MaxUint64)},
		{"DOUBLE", []byte("1.5"), 1.5},
		{"DECIMAL", []byte("12.50"), "12.50"},
		{"VARCHAR", []byte("ada"), "ada"},
		{"DATE", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "2024-02-29"},
	} {
		if got := myValue(tc.typ, tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("myValue(%s, %#v) = %#v, want %#v", tc.typ, tc.in, got, tc.want)
		}
	}
}
